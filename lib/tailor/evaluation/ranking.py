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

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from tailor import schemas as S

METRICS = ("precision", "recall", "ndcg", "map", "hit_rate")


def per_user(recs: DataFrame, truth: DataFrame, k: int, user: str = S.USER_ID, item: str = S.ITEM_ID,
             rank: str = S.RANK) -> DataFrame:
    """One row per user in ``truth`` with that user's metrics at ``k``."""
    relevant = truth.select(user, item).distinct()
    n_rel = relevant.groupBy(user).agg(F.count(F.lit(1)).alias("_n_rel"))
    top = recs.where(F.col(rank) <= k).select(user, item, rank)
    hits = top.join(relevant, [user, item])
    w = Window.partitionBy(user).orderBy(rank).rowsBetween(Window.unboundedPreceding, Window.currentRow)
    hits = hits.withColumn("_hit_i", F.count(F.lit(1)).over(w))
    agg = hits.groupBy(user).agg(
        F.count(F.lit(1)).alias("_hits"),
        F.sum(1.0 / F.log2(F.col(rank) + 1.0)).alias("_dcg"),
        F.sum(F.col("_hit_i") / F.col(rank)).alias("_ap"),
    )
    ideal = F.array(*[F.lit(sum(1.0 / math.log2(r + 1) for r in range(1, i + 1))) for i in range(1, k + 1)])
    cap = F.least(F.col("_n_rel"), F.lit(k))
    joined = n_rel.join(agg, user, "left").fillna(0, subset=["_hits", "_dcg", "_ap"])
    return joined.select(
        user,
        (F.col("_hits") / F.lit(float(k))).alias("precision"),
        (F.col("_hits") / F.col("_n_rel")).alias("recall"),
        (F.col("_dcg") / F.element_at(ideal, cap.cast("int"))).alias("ndcg"),
        (F.col("_ap") / cap).alias("map"),
        (F.col("_hits") > 0).cast("double").alias("hit_rate"),
    )


def ranking_metrics(recs: DataFrame, truth: DataFrame, k: int, user: str = S.USER_ID, item: str = S.ITEM_ID,
                    rank: str = S.RANK) -> dict[str, float]:
    """Mean precision, recall, nDCG, MAP and hit rate at ``k`` over the users in ``truth``."""
    row = per_user(recs, truth, k, user, item, rank).agg(*[F.avg(m).alias(m) for m in METRICS]).first()
    return {m: float(row[m] or 0.0) for m in METRICS}
