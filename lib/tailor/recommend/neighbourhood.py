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
rows), each task instead scores a group of users as a sparse matrix product, affinity
(users × items) times similarity (items × items), and keeps each row's best: about 6× faster at M. The
similarity is collected to the driver for that, so ``local_max_rows`` bounds what the driver holds.

User-CF likewise: a join makes one row per (user, neighbour, item). When the interactions have at most
``local_max_rows`` rows, each group of users instead receives (by a cogroup) the interactions of all its
users' neighbours once, and is scored as similarity × interactions: 3× faster at M. Each group may need
nearly all the interactions, which is why their number is bounded.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.similarity.local import LOCAL_MAX_ROWS, best, group_of, partition_keys, product
from tailor.similarity.pairs import top_k_per

log = logging.getLogger(__name__)
MIN_GROUPS = 64
GROUP = "_group"
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
            docstring); a larger one is joined in Spark instead.
    """
    sim = item_sim.select(S.ENTITY, S.NEIGHBOUR, S.SCORE)
    # one pass over a (possibly lazy, costly) similarity: collect it, unless it has too many rows
    local = sim.limit(local_max_rows + 1).toPandas() if local_max_rows > 0 else None
    if local is None or len(local) > local_max_rows:
        log.info("item-CF by a join: the similarity has over local_max_rows = %d rows", local_max_rows)
        return _item_cf_joined(affinity, sim, top_n, value)
    if local.empty:
        return affinity.sparkSession.createDataFrame([], RECS)
    return _item_cf_local(affinity, local, top_n, value)


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
    own = np.repeat(np.arange(aff.shape[0]), np.diff(aff.indptr)) * n + aff.indices
    u, j, v, rank = best(*product(aff, sim), n, own, top_n)
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
            value: str = "weight", local_max_rows: int = LOCAL_MAX_ROWS) -> DataFrame:
    """Top-``top_n`` unseen items per user from neighbours' ``interactions`` (user_id, item_id, ``value``)
    and ``user_sim`` (entity, neighbour, score).

    Args:
        local_max_rows: when ``interactions`` has at most this many rows, users are scored in groups by
            sparse products, each group sent its users' neighbours' interactions; otherwise by a join in
            Spark (same lists, several times slower).
    """
    s = user_sim.select(F.col(S.ENTITY).alias(S.USER_ID), S.NEIGHBOUR, F.col(S.SCORE).alias("_s"))
    v = interactions.select(F.col(S.USER_ID).alias(S.NEIGHBOUR), S.ITEM_ID, F.col(value).cast("double").alias("_w"))
    if local_max_rows > 0 and interactions.count() <= local_max_rows:
        return _user_cf_local(s, v, seen, top_n)
    log.info("user-CF by a join: the interactions have over local_max_rows = %d rows", local_max_rows)
    norm = s.groupBy(S.USER_ID).agg(F.sum(F.abs("_s")).alias("_norm"))
    summed = s.join(v, S.NEIGHBOUR).groupBy(S.USER_ID, S.ITEM_ID).agg(F.sum(F.col("_s") * F.col("_w")).alias("_num"))
    scores = summed.join(norm, S.USER_ID).select(
        S.USER_ID, S.ITEM_ID, (F.col("_num") / F.col("_norm")).alias(S.SCORE)
    )
    return _finish(scores, seen, top_n)


def _user_cf_local(sim: DataFrame, inter: DataFrame, seen: DataFrame, top_n: int) -> DataFrame:
    """User-CF by groups of users (hashed, ``spark.sql.shuffle.partitions`` groups): each group gets its
    users' similarity rows, and, once per group, the interactions of every neighbour they have (fewer
    rows than the join's one per user, neighbour and item) and its users' own items (marked by a null
    value), and is scored by :func:`_score_users`."""
    spark = sim.sparkSession
    keys = partition_keys(spark, int(spark.conf.get("spark.sql.shuffle.partitions")))  # one per partition

    def group(c: str) -> Column:
        return group_of(c, keys).alias(GROUP)

    s = sim.select(group(S.USER_ID), S.USER_ID, S.NEIGHBOUR, "_s")
    wanted = sim.select(S.NEIGHBOUR, group(S.USER_ID)).distinct()
    rows = inter.join(wanted, S.NEIGHBOUR).select(GROUP, S.NEIGHBOUR, S.ITEM_ID, "_w").unionByName(
        seen.select(group(S.USER_ID), F.col(S.USER_ID).alias(S.NEIGHBOUR), S.ITEM_ID,
                    F.lit(None).cast("double").alias("_w")))

    def score(mine: pd.DataFrame, theirs: pd.DataFrame) -> pd.DataFrame:
        return _score_users(mine, theirs, top_n)

    return s.groupBy(GROUP).cogroup(rows.groupBy(GROUP)).applyInPandas(score, RECS)


def _score_users(sim: pd.DataFrame, rows: pd.DataFrame, top_n: int) -> pd.DataFrame:
    """One group of users' user-CF: (similarity × neighbours' interactions) / Σ |similarity|, minus each
    user's own items, best ``top_n`` per user (score descending, item id ascending); no anchor."""
    from scipy import sparse

    if sim.empty:  # a group with interactions but none of its users has neighbours
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in (S.USER_ID, S.ITEM_ID, S.ANCHOR)}).assign(
            **{S.SCORE: pd.Series([], dtype=np.float64), S.RANK: pd.Series([], dtype=np.int32)})
    users, row = np.unique(sim[S.USER_ID].to_numpy(object), return_inverse=True)
    theirs, own = rows[rows["_w"].notna()], rows[rows["_w"].isna()]
    neighbours, at = np.unique(np.concatenate([sim[S.NEIGHBOUR].to_numpy(object),
                                               theirs[S.NEIGHBOUR].to_numpy(object)]), return_inverse=True)
    items, col = np.unique(theirs[S.ITEM_ID].to_numpy(object), return_inverse=True)  # sorted: ties by id
    weights = sparse.csr_matrix((sim["_s"].to_numpy(np.float64), (row, at[:len(sim)])),
                                shape=(len(users), len(neighbours)))
    weights.sort_indices()
    values = sparse.csr_matrix((theirs["_w"].to_numpy(np.float64), (at[len(sim):], col)),
                               shape=(len(neighbours), len(items)))
    values.sort_indices()  # canonical inputs: the same sums on every run
    ou = pd.Categorical(own[S.NEIGHBOUR], categories=users).codes.astype(np.int64)
    oi = pd.Categorical(own[S.ITEM_ID], categories=items).codes.astype(np.int64)
    mine = (ou >= 0) & (oi >= 0)
    # a user's scores share one denominator, so the sums rank alike and are divided after
    u, j, v, rank = best(*product(weights, values), len(items), ou[mine] * len(items) + oi[mine], top_n)
    norm = np.asarray(abs(weights).sum(axis=1)).ravel()
    return pd.DataFrame({S.USER_ID: users[u], S.ITEM_ID: items[j], S.SCORE: v / norm[u],
                         S.RANK: (rank + 1).astype(np.int32), S.ANCHOR: pd.Series([None] * len(u), dtype=object)})
