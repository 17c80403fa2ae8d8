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

Item-CF has two plans with the same result. A join of the affinities with the similarity makes one row per
(user, item, neighbour), ``top_k`` times the interactions, all shuffled to be summed: 60 M rows and a
minute for the M shop. When the similarity is small enough to send to every task (at most ``local_max_rows``
rows, all scores positive), each task instead scores a group of users as a sparse matrix product, affinity
(users × items) times similarity (items × items), and keeps each row's best: about 6× faster at M. The
similarity is collected to the driver for that, so ``local_max_rows`` bounds what the driver holds.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.similarity.pairs import top_k_per

log = logging.getLogger(__name__)
LOCAL_MAX_ROWS = 2_000_000
"""Default bound on the similarity rows item-CF sends to every task (about 100 MB on the driver)."""
MIN_GROUPS = 64
RECS = f"{S.USER_ID} string, {S.ITEM_ID} string, {S.SCORE} double, {S.RANK} int, {S.ANCHOR} string"


def _finish(scores: DataFrame, seen: DataFrame, top_n: int) -> DataFrame:
    if S.ANCHOR not in scores.columns:
        scores = scores.withColumn(S.ANCHOR, F.lit(None).cast("string"))
    unseen = scores.join(seen.select(S.USER_ID, S.ITEM_ID), [S.USER_ID, S.ITEM_ID], "left_anti")
    return (
        unseen.transform(top_k_per(S.USER_ID, top_n, S.SCORE, S.ITEM_ID))
        .select(S.USER_ID, S.ITEM_ID, S.SCORE, F.col(S.RANK).cast("int").alias(S.RANK), S.ANCHOR)
    )


def item_cf(affinity: DataFrame, item_sim: DataFrame, top_n: int, value: str = "affinity",
            local_max_rows: int = LOCAL_MAX_ROWS) -> DataFrame:
    """Top-``top_n`` items per user from ``affinity`` (user_id, item_id, ``value``) and ``item_sim``
    (entity, neighbour, score), with the ``anchor`` item that contributed most. The user's own items
    (every row of ``affinity``) are excluded.

    Args:
        local_max_rows: the largest similarity scored by sparse products in each task (see the module
            docstring); a larger one, or one with a score <= 0, is joined in Spark instead.
    """
    sim = item_sim.select(S.ENTITY, S.NEIGHBOUR, S.SCORE)
    stats = sim.agg(F.count(F.lit(1)).alias("n"), F.min(S.SCORE).alias("low")).first()
    if stats["n"] == 0:
        return affinity.sparkSession.createDataFrame([], RECS)
    if stats["n"] > local_max_rows or stats["low"] <= 0:
        log.info("item-CF by a join: %d similarity rows (local_max_rows %d), lowest score %s", stats["n"],
                 local_max_rows, stats["low"])
        return _item_cf_joined(affinity, sim, top_n, value)
    return _item_cf_local(affinity, sim.toPandas(), top_n, value)


def _item_cf_joined(affinity: DataFrame, item_sim: DataFrame, top_n: int, value: str) -> DataFrame:
    a = affinity.select(S.USER_ID, F.col(S.ITEM_ID).alias(S.ENTITY), F.col(value).alias("_a"))
    s = item_sim.select(S.ENTITY, F.col(S.NEIGHBOUR).alias(S.ITEM_ID), F.col(S.SCORE).alias("_s"))
    contrib = a.join(s, S.ENTITY).withColumn("_c", F.col("_a") * F.col("_s"))
    scores = contrib.groupBy(S.USER_ID, S.ITEM_ID).agg(
        F.sum("_c").alias(S.SCORE),
        F.min_by(S.ENTITY, F.struct(-F.col("_c"), F.col(S.ENTITY))).alias(S.ANCHOR),
    )
    return _finish(scores, affinity, top_n)


def _item_cf_local(affinity: DataFrame, sim: pd.DataFrame, top_n: int, value: str) -> DataFrame:
    """Item-CF with the similarity (collected, ``sim``) broadcast: users hashed into groups, each group
    scored by :func:`_score_group`."""
    from scipy import sparse

    # item ids sorted, so that a column index orders like the id (the ties' order)
    entity, neighbour = sim[S.ENTITY].to_numpy(object), sim[S.NEIGHBOUR].to_numpy(object)
    items = np.unique(np.concatenate([entity, neighbour]))
    ends = (np.searchsorted(items, entity), np.searchsorted(items, neighbour))
    m = sparse.csr_matrix((sim[S.SCORE].to_numpy(np.float64), ends), shape=(len(items), len(items)))
    m.sort_indices()  # canonical, whatever order the rows were collected in: the same sums on every run
    spark = affinity.sparkSession
    shared = spark.sparkContext.broadcast((items, m.indptr, m.indices, m.data))

    def score(group: pd.DataFrame) -> pd.DataFrame:
        return _score_group(group, *shared.value, top_n)

    groups = max(MIN_GROUPS, int(spark.conf.get("spark.sql.shuffle.partitions")))
    a = affinity.select(S.USER_ID, S.ITEM_ID, F.col(value).cast("double").alias("_a"))
    return a.groupBy(F.pmod(F.xxhash64(S.USER_ID), F.lit(groups))).applyInPandas(score, RECS)


def _score_group(group: pd.DataFrame, items: np.ndarray, indptr: np.ndarray, indices: np.ndarray,
                 data: np.ndarray, top_n: int) -> pd.DataFrame:
    """One group of users' item-CF: scores = affinity × similarity, minus each user's own items, best
    ``top_n`` per user (score descending, item id ascending), and each one's anchor."""
    from scipy import sparse

    n = len(items)
    sim = sparse.csr_matrix((data, indices, indptr), shape=(n, n))
    users, row = np.unique(group[S.USER_ID].to_numpy(object), return_inverse=True)
    col = pd.Categorical(group[S.ITEM_ID], categories=items).codes.astype(np.int64)  # -1: no neighbours
    known = col >= 0
    aff = sparse.csr_matrix((group["_a"].to_numpy(np.float64)[known], (row[known], col[known])),
                            shape=(len(users), n))
    aff.sort_indices()
    scores = (aff @ sim).tocsr()
    scores.sort_indices()
    u = np.repeat(np.arange(scores.shape[0]), np.diff(scores.indptr))
    j, v = scores.indices.astype(np.int64), scores.data
    own = np.repeat(np.arange(aff.shape[0]), np.diff(aff.indptr)) * n + aff.indices
    keep = ~np.isin(u * n + j, own)
    u, j, v = u[keep], j[keep], v[keep]
    order = np.lexsort((j, -v, u))
    u, j, v = u[order], j[order], v[order]
    rank = np.arange(len(u)) - np.searchsorted(u, u, side="left")
    top = rank < top_n
    u, j, v, rank = u[top], j[top], v[top], rank[top]
    return pd.DataFrame({S.USER_ID: users[u], S.ITEM_ID: items[j], S.SCORE: v,
                         S.RANK: (rank + 1).astype(np.int32), S.ANCHOR: items[_anchors(aff, sim, u, j)]})


def _anchors(aff, sim, u: np.ndarray, j: np.ndarray) -> np.ndarray:
    """For each (user ``u``, item ``j``): the user's item ``i`` with the largest ``aff[u, i] · sim[i, j]``,
    ties by the smaller item id (index)."""
    lens = np.diff(aff.indptr)[u]
    pair = np.repeat(np.arange(len(u)), lens)  # one row per (pair, item of the user)
    pos = np.repeat(aff.indptr[u], lens) + np.arange(len(pair)) - np.repeat(np.cumsum(lens) - lens, lens)
    i = aff.indices[pos].astype(np.int64)
    n = sim.shape[0]
    keys = np.repeat(np.arange(n), np.diff(sim.indptr)) * n + sim.indices  # sorted: rows, then columns
    want = i * n + j[pair]
    at = np.minimum(np.searchsorted(keys, want), max(len(keys) - 1, 0))
    contrib = np.where(keys[at] == want, aff.data[pos] * sim.data[at], -np.inf)
    order = np.lexsort((i, -contrib, pair))
    first = np.ones(len(order), bool)
    first[1:] = pair[order][1:] != pair[order][:-1]
    anchor = np.empty(len(u), np.int64)
    anchor[pair[order][first]] = i[order][first]
    return anchor


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
