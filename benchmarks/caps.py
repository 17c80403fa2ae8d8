"""How the interaction cap on user-user similarity costs user-CF quality, on MovieLens (any edition given
with --data): no cap, fixed caps keeping each item's most recent users or a seeded random sample of them, and
the scaled cap (:func:`tailor.similarity.interactions.choose_cap`) started at the same floors.

Protocol as in :mod:`benchmarks.ml100k` (each user's ratings split 75/25, seed 42, top-10 unseen items), with
user-CF at Tailor's defaults (cosine, 50 neighbours, min co 2, shrinkage 10). A fixed cap of N keeps a
smaller share of a larger edition's rows; the table gives the share kept beside nDCG@10.
"""

from __future__ import annotations

from pathlib import Path

from pyspark import StorageLevel
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from benchmarks.common import Measure, machine_facts, measure, movielens, write_results

FLOORS = (25, 50, 100)
KEEP_SHARE, MAX_PAIRS, SEED = 0.75, 50_000_000, 42


def sample_per(per: str, other: str, n: int, seed: int = SEED):
    """Each ``per`` value's ``n`` rows in a seeded hash order (a random sample, not the most recent)."""
    def _(df: DataFrame) -> DataFrame:
        w = Window.partitionBy(per).orderBy(F.xxhash64(F.col(other), F.lit(seed)), F.asc(other))
        return df.withColumn("_r", F.row_number().over(w)).where(F.col("_r") <= n).drop("_r")

    return _


def main(data: str, floors: tuple[int, ...] = FLOORS, k: int = 10) -> Path:
    with movielens(data, "tailor-caps-") as ml:
        return _run(ml, floors, k)


def _run(ml, floors: tuple[int, ...], k: int) -> Path:
    from tailor import schemas as S
    from tailor.evaluation.ranking import ranking_metrics
    from tailor.evaluation.split import per_user_split
    from tailor.recommend.neighbourhood import user_cf
    from tailor.similarity.interactions import cap_per, choose_cap, interactions
    from tailor.similarity.pairs import similarity

    train_ev, test_ev = per_user_split(ml.ratings, 0.75, SEED)
    train_ev = train_ev.persist(StorageLevel.MEMORY_AND_DISK)
    test = test_ev.select(S.USER_ID, S.ITEM_ID).persist(StorageLevel.MEMORY_AND_DISK)
    ref = train_ev.agg(F.max(F.to_date(S.TS))).first()[0]
    inter = interactions(train_ev, {"rating": 1.0}, ref, None).persist(StorageLevel.MEMORY_AND_DISK)
    rows = inter.count()
    variants = {"no cap": (lambda df: df, None)}
    for floor in floors:
        variants[f"fixed {floor}, most recent"] = (cap_per(S.ITEM_ID, S.USER_ID, floor), floor)
        variants[f"fixed {floor}, seeded sample"] = (sample_per(S.ITEM_ID, S.USER_ID, floor), floor)
        chosen = choose_cap(inter, S.ITEM_ID, floor, KEEP_SHARE, MAX_PAIRS).cap
        variants[f"scaled from {floor} (keep {KEEP_SHARE:.0%}): {chosen}, most recent"] = (
            cap_per(S.ITEM_ID, S.USER_ID, chosen), chosen)
    out: list[Measure] = []
    for label, (cap, n) in variants.items():
        with measure(label) as m:
            capped = cap(inter).persist(StorageLevel.MEMORY_AND_DISK)
            kept = capped.count()
            sim = similarity(capped, by=S.ITEM_ID, entity=S.USER_ID, value="weight", method="cosine", min_co=2,
                             shrinkage=10.0, top_k=50)
            recs = user_cf(inter, sim, inter, k).persist(StorageLevel.MEMORY_AND_DISK)
            recs.count()
        metrics = ranking_metrics(recs, test, k)
        m.extra = {"cap": n, "kept_share": round(kept / rows, 3), **{key: round(v, 4) for key, v in metrics.items()}}
        print(f"  {label:<48} kept {kept / rows:6.1%}  nDCG@{k} {metrics['ndcg']:.4f}  ({m.seconds:.1f} s)", flush=True)
        recs.unpersist()
        capped.unpersist()
        out.append(m)
    inter.unpersist()
    train_ev.unpersist()
    test.unpersist()
    lines = [f"| user-CF on {ml.label}, cap on each item's users | rows kept | nDCG@{k} | P@{k} | R@{k} | s |",
             "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for m in out:
        e = m.extra
        lines.append(f"| {m.name} | {e['kept_share']:.1%} | {e['ndcg']:.4f} | {e['precision']:.4f} | "
                     f"{e['recall']:.4f} | {m.seconds:.1f} |")
    facts = {**machine_facts(ml.spark), "data": ml.label, "interactions": rows, "keep_share": KEEP_SHARE,
             "max_pairs": MAX_PAIRS, "seed": SEED}
    return write_results(f"caps-{ml.label}", facts, [vars(m) for m in out], "\n".join(lines))
