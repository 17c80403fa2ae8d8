"""Peer check on MovieLens (100k, or any edition given with --data): item-CF and user-CF with the recommenders
project's protocol.

Protocol: each user's ratings split 75/25 (seeded hash order, seed 42), every test rating relevant, top-10
unseen items, metrics from :mod:`tailor.evaluation.ranking`. Published SAR (Jaccard item-item, 30-day time
decay): nDCG@10 0.382, P@10 0.331, MAP 0.111, R@10 0.176.

The data is loaded through Tailor's own ingest (source ``movielens``) into a temporary warehouse; results are
labelled with the data folder's name, and the published figures are shown for ml-100k only.
"""

from __future__ import annotations

from pathlib import Path

from pyspark import StorageLevel
from pyspark.sql import functions as F

from benchmarks.common import Measure, machine_facts, measure, movielens, write_results

ROOT = Path(__file__).resolve().parents[1]

# (recommender, method, top_k neighbours, min_co, shrinkage, half-life days)
ITEM_GRID = [("item", m, t, 1, 0.0, 30.0) for m in ("jaccard", "cosine") for t in (50, 2000)]
USER_GRID = [("user", m, t, 1, 0.0, None) for m in ("jaccard", "cosine") for t in (30, 50, 100)]
FIXED = {
    "item-CF SAR-like (jaccard, all neighbours, decay 30d)": ("item", "jaccard", 2000, 1, 0.0, 30.0),
    "item-CF Tailor defaults (top 50, min co 2, shrinkage 10, decay 30d)": ("item", None, 50, 2, 10.0, 30.0),
    "user-CF Tailor defaults (cosine, 50 neighbours, min co 2, shrinkage 10)": ("user", "cosine", 50, 2, 10.0, None),
}


def _label(c: tuple) -> str:
    kind, method, top_k, min_co, shrink, half = c
    nb = "all" if top_k >= 2000 else str(top_k)
    return f"{kind}-CF {method}, {nb} neighbours, min co {min_co}, shrinkage {shrink:g}, decay {half or 'none'}"


def main(data: str, k: int = 10, seed: int = 42, item_grid: list[tuple] = ITEM_GRID,
         user_grid: list[tuple] = USER_GRID, fixed: dict[str, tuple] = FIXED, lsh: bool = True) -> Path:
    with movielens(data, "tailor-ml100k-") as ml:
        return _run(ml, k, seed, item_grid, user_grid, fixed, lsh)


def _run(ml, k: int, seed: int, item_grid: list[tuple], user_grid: list[tuple], fixed: dict[str, tuple],
         lsh: bool) -> Path:
    from tailor import schemas as S
    from tailor.evaluation.ranking import ranking_metrics
    from tailor.evaluation.split import per_user_split
    from tailor.recommend.neighbourhood import item_cf, user_cf
    from tailor.similarity.interactions import interactions
    from tailor.similarity.pairs import similarity

    spark = ml.spark
    train_ev, test_ev = per_user_split(ml.ratings, 0.75, seed)
    train_ev = train_ev.persist(StorageLevel.MEMORY_AND_DISK)
    test = test_ev.select(S.USER_ID, S.ITEM_ID).persist(StorageLevel.MEMORY_AND_DISK)
    n_train, n_test = train_ev.count(), test.count()
    as_of = train_ev.agg(F.max(F.to_date(S.TS))).first()[0]
    print(f"{ml.label}: {n_train} train / {n_test} test ratings, decay reference {as_of}", flush=True)

    def evaluate(label: str, config: tuple, fit_ev, truth) -> Measure:
        kind, method, top_k, min_co, shrink, half_life = config
        ref = fit_ev.agg(F.max(F.to_date(S.TS))).first()[0]
        inter = interactions(fit_ev, {"rating": 1.0}, ref, half_life).persist(StorageLevel.MEMORY_AND_DISK)
        with measure(label) as m:
            by, entity = (S.USER_ID, S.ITEM_ID) if kind == "item" else (S.ITEM_ID, S.USER_ID)
            sim = similarity(inter, by=by, entity=entity, value="weight", method=method, min_co=min_co,
                             shrinkage=shrink, top_k=top_k)
            # item-CF scores by the decayed affinity; user-CF by the neighbours' plain weights
            recs = item_cf(inter, sim, k) if kind == "item" else user_cf(inter, sim, inter, k)
            recs = recs.persist(StorageLevel.MEMORY_AND_DISK)
            recs.count()
        metrics = ranking_metrics(recs, truth, k)
        m.extra = {k2: round(v, 4) for k2, v in metrics.items()}
        print(f"  {label:<90} nDCG@{k} {metrics['ndcg']:.4f}  P@{k} {metrics['precision']:.4f}  "
              f"MAP {metrics['map']:.4f}  R@{k} {metrics['recall']:.4f}  ({m.seconds:.1f} s)", flush=True)
        recs.unpersist()
        inter.unpersist()
        return m

    # 1. choose settings on a validation split carved from train (the test set is not looked at)
    fit_ev, val_ev = per_user_split(train_ev, 0.75, seed + 1)
    fit_ev = fit_ev.persist(StorageLevel.MEMORY_AND_DISK)
    val = val_ev.select(S.USER_ID, S.ITEM_ID).persist(StorageLevel.MEMORY_AND_DISK)
    print("validation (train split 75/25 again):", flush=True)
    chosen = {}
    for grid in (item_grid, user_grid):
        scored = [(evaluate("validation " + _label(c), c, fit_ev, val).extra["ndcg"], c) for c in grid]
        chosen[grid[0][0]] = max(scored, key=lambda x: x[0])[1]
    # 2. the chosen settings and the fixed references, trained on all of train, scored on test
    print("test:", flush=True)
    best_item_method = chosen["item"][1]
    runs = {f"item-CF chosen on validation: {_label(chosen['item'])}": chosen["item"],
            f"user-CF chosen on validation: {_label(chosen['user'])}": chosen["user"]}
    for label, c in fixed.items():
        runs[label] = (c[0], c[1] or best_item_method, *c[2:])
    rows: list[Measure] = [evaluate(label, c, train_ev, test) for label, c in runs.items()]
    lsh_lines = _lsh_recall(train_ev) if lsh else []
    facts = {**machine_facts(spark), "data": ml.label, "ratings": ml.count, "train": n_train, "test": n_test,
             "seed": seed}
    lines = [f"| recommender ({ml.label}) | nDCG@{k} | P@{k} | MAP@{k} | R@{k} | s |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for m in rows:
        e = m.extra
        lines.append(f"| {m.name} | {e['ndcg']:.4f} | {e['precision']:.4f} | {e['map']:.4f} | {e['recall']:.4f} | "
                     f"{m.seconds:.1f} |")
    if ml.published:
        lines.append("| published SAR on ml-100k (recommenders README) | 0.382 | 0.331 | 0.111 | 0.176 | |")
    lines += ["", "MAP here divides by min(relevant, k); the recommenders README's MAP divides by all relevant items,",
              "so its MAP figures are lower by construction. nDCG, precision and recall are defined alike.", ""]
    lines += lsh_lines
    for df in (train_ev, test, fit_ev, val):
        df.unpersist()
    return write_results(f"cf-{ml.label}", facts, [vars(m) for m in rows], "\n".join(lines))


def _lsh_recall(train_ev) -> list[str]:
    """Recall of MinHash LSH against the exact Jaccard self-join, user-user and item-item on ml-100k train."""
    from tailor import schemas as S
    from tailor.similarity.lsh import minhash_jaccard
    from tailor.similarity.pairs import similarity

    df = train_ev.select(S.USER_ID, S.ITEM_ID, F.lit(1.0).alias("v")).distinct().persist()
    lines = ["| pairs | min Jaccard | hash tables | exact pairs | LSH pairs found | recall | exact s | LSH s |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for label, by, entity in (("user-user", S.ITEM_ID, S.USER_ID), ("item-item", S.USER_ID, S.ITEM_ID)):
        with measure("exact") as me:
            exact = similarity(df, by, entity, "v", "jaccard", top_k=100_000).select("entity", "neighbour", "score")
            exact = exact.persist()
            exact.count()
        for t in (0.2, 0.3):
            want = exact.where(F.col("score") >= t)
            n_want = want.count()
            for tables_ in (5, 10):
                with measure("lsh") as ml:
                    got = minhash_jaccard(df, by, entity, min_jaccard=t, hash_tables=tables_, seed=42,
                                          top_k=100_000).persist()
                    got.count()
                found = want.join(got.select("entity", "neighbour"), ["entity", "neighbour"]).count()
                recall = found / n_want if n_want else float("nan")
                print(f"  LSH {label} J>={t} tables={tables_}: recall {recall:.3f} of {n_want} pairs "
                      f"(exact {me.seconds:.1f} s, LSH {ml.seconds:.1f} s)", flush=True)
                lines.append(f"| {label} | {t} | {tables_} | {n_want} | {found} | {recall:.3f} | {me.seconds:.1f} | "
                             f"{ml.seconds:.1f} |")
                got.unpersist()
        exact.unpersist()
    df.unpersist()
    return lines
