"""Top-k ranking metrics, computed distributed: only one row of averages reaches the driver.

For each user with at least one relevant item (users in ``truth``), with ``hits`` the relevant items among
the user's first ``k`` recommendations and ``R = |relevant|``:

- precision@k = hits / k (k, not the list length: a short list is penalised);
- recall@k = hits / R;
- nDCG@k = Σ_hits 1/log2(rank + 1) / Σ_{r=1..min(R, k)} 1/log2(r + 1) (binary relevance);
- MAP@k = Σ_hits precision@rank / min(R, k);
- hit rate@k = 1 if hits > 0.

A user in ``truth`` with no recommendations scores 0 on all of them; recommendations for users not in
``truth`` are ignored. Averages are over the users in ``truth``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from tailor import schemas as S

METRICS = ("precision", "recall", "ndcg", "map", "hit_rate")
GROUP, K = "_group", "_k"


def discount(rank: Column) -> Column:
    """The DCG gain of a hit at ``rank`` (1-based): ``1 / log2(rank + 1)``."""
    return 1.0 / F.log2(rank + 1.0)


def ndcg_gain(rank: Column, n_rel: Column, k: Column, k_max: int) -> Column:
    """A hit's share of nDCG@k: its :func:`discount` over the user's :func:`ideal_dcg`. A user's nDCG@k is the
    sum over their hits in the top k; :func:`ranking_by` and the hybrid's weight search both use this."""
    return discount(rank) / ideal_dcg(n_rel, k, k_max)


def ideal_dcg(n_rel: Column, k: Column, k_max: int) -> Column:
    """Σ_{r=1..min(n_rel, k)} 1/log2(r + 1) (the best DCG possible), for ``k`` up to ``k_max``."""
    table = F.array(*[F.lit(v) for v in ideal_dcg_values(k_max)])
    return F.element_at(table, F.least(n_rel, k).cast("int"))


def ideal_dcg_values(k_max: int) -> list[float]:
    """The ideal DCG for 1, 2, ..., ``k_max`` relevant items (:func:`ideal_dcg`'s table)."""
    return [sum(1.0 / math.log2(r + 1) for r in range(1, i + 1)) for i in range(1, k_max + 1)]


def at_each_k(recs: DataFrame, ks: Sequence[int], rank: str = S.RANK) -> DataFrame:
    """``recs`` with a column ``_k``: each row once for every k of ``ks`` with ``rank <= k``."""
    k_df = recs.sparkSession.createDataFrame([(int(k),) for k in ks], f"{K} int")
    return recs.where(F.col(rank) <= max(ks)).crossJoin(F.broadcast(k_df)).where(F.col(rank) <= F.col(K))


def _hits(recs: DataFrame, relevant: DataFrame, ks: Sequence[int], user: str, item: str, rank: str) -> DataFrame:
    """(group, k, user, per-user sums) for every user with at least one hit in the first k, each k of ``ks``
    from one scan: a hit's running count (for AP) is the same at every k that includes it."""
    top = recs.where(F.col(rank) <= max(ks)).select(GROUP, user, item, rank)
    w = Window.partitionBy(GROUP, user).orderBy(rank).rowsBetween(Window.unboundedPreceding, Window.currentRow)
    hits = top.join(relevant, [user, item]).withColumn("_hit_i", F.count(F.lit(1)).over(w))
    return at_each_k(hits, ks, rank).groupBy(GROUP, K, user).agg(
        F.count(F.lit(1)).alias("_hits"),
        F.sum(discount(F.col(rank))).alias("_dcg"),
        F.sum(F.col("_hit_i") / F.col(rank)).alias("_ap"),
    )


def _metric_columns(k: Column, k_max: int) -> list[Column]:
    cap = F.least(F.col("_n_rel"), k)
    return [
        (F.col("_hits") / k.cast("double")).alias("precision"),
        (F.col("_hits") / F.col("_n_rel")).alias("recall"),
        (F.col("_dcg") / ideal_dcg(F.col("_n_rel"), k, k_max)).alias("ndcg"),
        (F.col("_ap") / cap).alias("map"),
        (F.col("_hits") > 0).cast("double").alias("hit_rate"),
    ]


def _relevant(truth: DataFrame, user: str, item: str) -> tuple[DataFrame, DataFrame]:
    relevant = truth.select(user, item).distinct()
    return relevant, relevant.groupBy(user).agg(F.count(F.lit(1)).alias("_n_rel"))


def per_user(recs: DataFrame, truth: DataFrame, k: int, user: str = S.USER_ID, item: str = S.ITEM_ID,
             rank: str = S.RANK) -> DataFrame:
    """One row per user in ``truth`` with that user's metrics at ``k``."""
    relevant, n_rel = _relevant(truth, user, item)
    hits = _hits(recs.withColumn(GROUP, F.lit("")), relevant, [k], user, item, rank).drop(GROUP, K)
    joined = n_rel.join(hits, user, "left").fillna(0, subset=["_hits", "_dcg", "_ap"])
    return joined.select(user, *_metric_columns(F.lit(k), k))


def ranking_by(recs: DataFrame, truth: DataFrame, ks: Sequence[int], names: Iterable[str], by: str,
               user: str = S.USER_ID, item: str = S.ITEM_ID,
               rank: str = S.RANK) -> dict[tuple[str, int], dict[str, float]]:
    """Mean precision, recall, nDCG, MAP and hit rate over the users in ``truth``, for each value of the
    column ``by`` of ``recs`` (e.g. the recommender) and each k of ``ks``: one Spark job for all of them
    (and one count). ``names`` are the values to report; one with no hit scores 0."""
    relevant, n_rel = _relevant(truth, user, item)
    n_users = n_rel.count()
    hits = _hits(recs.withColumnRenamed(by, GROUP), relevant, ks, user, item, rank).join(n_rel, user)
    sums = hits.select(GROUP, K, *_metric_columns(F.col(K), max(ks))).groupBy(GROUP, K).agg(
        *[F.sum(m).alias(m) for m in METRICS])
    got = {(r[GROUP], r[K]): r for r in sums.collect()}  # one row per (name, k)
    return {(n, k): {m: float(got[(n, k)][m]) / n_users if (n, k) in got and n_users else 0.0 for m in METRICS}
            for n in names for k in ks}


def ranking_metrics(recs: DataFrame, truth: DataFrame, k: int, user: str = S.USER_ID, item: str = S.ITEM_ID,
                    rank: str = S.RANK) -> dict[str, float]:
    """Mean precision, recall, nDCG, MAP and hit rate at ``k`` over the users in ``truth``."""
    return ranking_by(recs.withColumn(GROUP, F.lit("")), truth, [k], [""], GROUP, user, item, rank)[("", k)]
