"""Neighbourhood collaborative filtering on top of :mod:`tailor.similarity`.

- item-CF, SAR-like: ``score(u, j) = Σ_i affinity(u, i) · sim(i, j)`` over the items ``i`` the user
  interacted with and their stored neighbours ``j``; affinity is the user's time-decayed, type-weighted
  interaction with ``i``.
- user-CF, the seeds' weighted average: ``score(u, i) = Σ_v sim(u, v) · w(v, i) / Σ_v |sim(u, v)|`` over the
  user's stored neighbours ``v`` (the denominator runs over all of them, so an item only one weak neighbour
  touched does not score as high as one that every neighbour bought).

Both exclude every item the user has interacted with and keep the ``top_n`` best, ties broken by item id.
Item-CF also names its ``anchor``: the user's item that contributed most to the score ("because you bought
X"); user-CF leaves it null rather than point at another customer.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.similarity.pairs import top_k_per


def _finish(scores: DataFrame, seen: DataFrame, top_n: int) -> DataFrame:
    if S.ANCHOR not in scores.columns:
        scores = scores.withColumn(S.ANCHOR, F.lit(None).cast("string"))
    unseen = scores.join(seen.select(S.USER_ID, S.ITEM_ID), [S.USER_ID, S.ITEM_ID], "left_anti")
    return (
        unseen.transform(top_k_per(S.USER_ID, top_n, S.SCORE, S.ITEM_ID))
        .select(S.USER_ID, S.ITEM_ID, S.SCORE, F.col(S.RANK).cast("int").alias(S.RANK), S.ANCHOR)
    )


def item_cf(affinity: DataFrame, item_sim: DataFrame, seen: DataFrame, top_n: int,
            value: str = "affinity") -> DataFrame:
    """Top-``top_n`` unseen items per user from ``affinity`` (user_id, item_id, ``value``) and
    ``item_sim`` (entity, neighbour, score), with the ``anchor`` item that contributed most."""
    a = affinity.select(S.USER_ID, F.col(S.ITEM_ID).alias(S.ENTITY), F.col(value).alias("_a"))
    s = item_sim.select(S.ENTITY, F.col(S.NEIGHBOUR).alias(S.ITEM_ID), F.col(S.SCORE).alias("_s"))
    contrib = a.join(s, S.ENTITY).withColumn("_c", F.col("_a") * F.col("_s"))
    scores = contrib.groupBy(S.USER_ID, S.ITEM_ID).agg(
        F.sum("_c").alias(S.SCORE),
        F.min_by(S.ENTITY, F.struct(-F.col("_c"), F.col(S.ENTITY))).alias(S.ANCHOR),
    )
    return _finish(scores, seen, top_n)


def user_cf(interactions: DataFrame, user_sim: DataFrame, seen: DataFrame, top_n: int,
            value: str = "weight") -> DataFrame:
    """Top-``top_n`` unseen items per user from neighbours' ``interactions`` (user_id, item_id, ``value``)
    and ``user_sim`` (entity, neighbour, score)."""
    s = user_sim.select(F.col(S.ENTITY).alias(S.USER_ID), S.NEIGHBOUR, F.col(S.SCORE).alias("_s"))
    norm = s.groupBy(S.USER_ID).agg(F.sum(F.abs("_s")).alias("_norm"))
    v = interactions.select(F.col(S.USER_ID).alias(S.NEIGHBOUR), S.ITEM_ID, F.col(value).alias("_w"))
    summed = s.join(v, S.NEIGHBOUR).groupBy(S.USER_ID, S.ITEM_ID).agg(F.sum(F.col("_s") * F.col("_w")).alias("_num"))
    scores = summed.join(norm, S.USER_ID).select(
        S.USER_ID, S.ITEM_ID, (F.col("_num") / F.col("_norm")).alias(S.SCORE)
    )
    return _finish(scores, seen, top_n)
