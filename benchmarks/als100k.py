"""ALS on MovieLens (100k, or any edition given with --data) with the recommenders project's protocol (75/25
per user, seed 42, top-10 unseen).

Parameters are chosen on a validation split carved from train (Tailor's ``tune``); the test set is scored
once, with the chosen setting. Explicit ALS (rank 10, the Spark example settings) is scored for reference.
Published on ml-100k (shown for that edition only): Spark explicit ALS nDCG@10 0.044, SAR 0.383, BiVAE 0.475.
"""

from __future__ import annotations

import time
from pathlib import Path

from pyspark import StorageLevel
from pyspark.sql import functions as F

from benchmarks.common import machine_facts, movielens, write_results

ROOT = Path(__file__).resolve().parents[1]


CANDIDATES = ([32, 64], [0.01, 0.1, 1.0], [1.0, 5.0])
"""The tuning grid: ranks, regParams, alphas."""


def main(data: str, k: int = 10, seed: int = 42, max_iter: int = 15,
         candidates: tuple[list, list, list] = CANDIDATES) -> Path:
    with movielens(data, "tailor-als100k-") as ml:
        return _run(ml, k, seed, max_iter, candidates)


def _run(ml, k: int, seed: int, max_iter: int, grid: tuple[list, list, list]) -> Path:
    from tailor import schemas as S
    from tailor.evaluation.ranking import ranking_metrics
    from tailor.evaluation.split import per_user_split
    from tailor.recommend import als as A
    from tailor.recommend.idmap import new_ids

    spark, ratings = ml.spark, ml.ratings
    users = new_ids(ratings.select(F.col(S.USER_ID).alias(S.EXTERNAL_ID)), None, "user", ml.as_of)
    items = new_ids(ratings.select(F.col(S.ITEM_ID).alias(S.EXTERNAL_ID)), None, "item", ml.as_of)
    train_ev, test_ev = per_user_split(ratings, 0.75, seed)
    train = A.indexed(train_ev.select(S.USER_ID, S.ITEM_ID, S.RATING), users, items, F.lit(1.0)).persist(
        StorageLevel.MEMORY_AND_DISK)
    train_explicit = A.indexed(train_ev.select(S.USER_ID, S.ITEM_ID, S.RATING), users, items, F.col(S.RATING))
    test = A.indexed(test_ev.select(S.USER_ID, S.ITEM_ID, S.RATING), users, items, F.lit(1.0)).persist(
        StorageLevel.MEMORY_AND_DISK)
    print(f"{ml.label}: {train.count()} train / {test.count()} test", flush=True)
    candidates = A.grid(*grid)
    t0 = time.perf_counter()
    results = A.tune(train, candidates, True, max_iter, seed, 0.25, k=k)
    tune_s = time.perf_counter() - t0
    lines = ["Validation (train split 75/25 again, seed 42):", "",
             "| rank | regParam | alpha | val nDCG@10 | val P@10 |", "| ---: | ---: | ---: | ---: | ---: |"]
    for p, m in results:
        lines.append(f"| {p.rank} | {p.reg_param} | {p.alpha} | {m['ndcg']:.4f} | {m['precision']:.4f} |")
        print(f"  validation {p}: nDCG {m['ndcg']:.4f} P {m['precision']:.4f}", flush=True)
    best = max(results, key=lambda pm: (pm[1]["ndcg"], -pm[0].rank))[0]
    rows = []
    fetch = A.fetch_size(train, k, 2000)
    for label, params, implicit, data_ in (
        (f"implicit ALS chosen on validation ({best.rank}, {best.reg_param}, {best.alpha})", best, True, train),
        ("explicit ALS (rank 10, regParam 0.05: Spark example settings)", A.AlsParams(10, 0.05, 1.0), False,
         train_explicit),
    ):
        t = time.perf_counter()
        model = A.fit(data_, params, implicit, max_iter, seed)
        fit_s = time.perf_counter() - t
        recs = A.recommend_idx(model, train, k, fetch)
        m = ranking_metrics(recs, test, k, user=A.USER_IDX, item=A.ITEM_IDX)
        rows.append({"recommender": label, "fit_s": round(fit_s, 2), "s_per_iter": round(fit_s / max_iter, 3), **m})
        print(f"  test {label}: {m} fit {fit_s:.1f} s", flush=True)
    facts = {**machine_facts(spark), "data": ml.label, "ratings": ml.count, "max_iter": max_iter,
             "tuning_s": round(tune_s, 1)}
    table = [f"| recommender ({ml.label}) | nDCG@{k} | P@{k} | R@{k} | MAP@{k} | fit s | s/iter |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        table.append(f"| {r['recommender']} | {r['ndcg']:.4f} | {r['precision']:.4f} | {r['recall']:.4f} | "
                     f"{r['map']:.4f} | {r['fit_s']} | {r['s_per_iter']} |")
    if ml.published:
        table.append("| published on ml-100k: Spark explicit ALS / SAR / BiVAE | 0.044 / 0.383 / 0.475 | | | | | |")
    train.unpersist()
    test.unpersist()
    return write_results(f"als-{ml.label}", facts, rows, "\n".join([*table, "", *lines]))
