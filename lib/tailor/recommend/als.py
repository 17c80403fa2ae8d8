"""ALS matrix factorisation on Spark ML, keyed by the stable int ids of ``id_map``.

Implicit feedback (Hu, Koren and Volinsky, 2008) is the default: every interaction becomes a preference
``r`` (its time-decayed type weight, its undecayed weight, or 1) with confidence ``1 + alpha * r``. Explicit
ALS fits the ratings themselves; it predicts ratings well and ranks badly (see TRAPS.md).

Top-N: ``recommendForAllUsers(fetch)`` with ``fetch`` = top_n + the most items any user has seen (capped), so
that removing seen items still leaves top_n; ties are broken by item id.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.evaluation.ranking import ranking_metrics
from tailor.evaluation.split import per_user_split
from tailor.similarity.local import group_of, partition_keys, top_positions
from tailor.similarity.pairs import top_k_per

log = logging.getLogger(__name__)

USER_IDX, ITEM_IDX, PREF = "user_idx", "item_idx", "pref"


def preference(value: str, implicit: bool = True) -> Column:
    """The training value of an interaction row (see :func:`tailor.similarity.interactions.interactions`)."""
    if not implicit:
        return F.col(S.RATING)
    if value == "binary":
        return F.lit(1.0)
    if value in ("affinity", "weight"):
        return F.col(value)
    raise ValueError(f"unknown ALS value {value!r}: affinity, weight or binary")


def indexed(inter: DataFrame, users: DataFrame, items: DataFrame, value: Column) -> DataFrame:
    """``user_idx``, ``item_idx``, ``pref`` from interactions and the user and item id maps
    (``external_id``, ``idx``). Rows whose value is null (no rating, for explicit ALS) are dropped."""
    u = users.select(F.col(S.EXTERNAL_ID).alias(S.USER_ID), F.col(S.IDX).alias(USER_IDX))
    i = items.select(F.col(S.EXTERNAL_ID).alias(S.ITEM_ID), F.col(S.IDX).alias(ITEM_IDX))
    return (
        inter.join(u, S.USER_ID).join(F.broadcast(i), S.ITEM_ID)
        .select(USER_IDX, ITEM_IDX, value.cast("float").alias(PREF))
        .where(F.col(PREF).isNotNull())
    )


@dataclass(frozen=True)
class AlsParams:
    rank: int
    reg_param: float
    alpha: float

    def as_map(self) -> dict[str, float]:
        return {"rank": float(self.rank), "reg_param": self.reg_param, "alpha": self.alpha}


def fit(train: DataFrame, params: AlsParams, implicit: bool, max_iter: int, seed: int,
        checkpoint_interval: int = 5, num_blocks: int | None = None) -> ALSModel:
    """Fit ALS on ``user_idx``, ``item_idx``, ``pref``; cold-start predictions are dropped, not NaN.

    ``num_blocks`` (user and item blocks) defaults to Spark's default parallelism: Spark's own default of 10
    costs about 40 % more per iteration on two cores (benchmarks/als_speed.py).
    """
    blocks = num_blocks or train.sparkSession.sparkContext.defaultParallelism
    als = ALS(
        userCol=USER_IDX, itemCol=ITEM_IDX, ratingCol=PREF, implicitPrefs=implicit, rank=params.rank,
        regParam=params.reg_param, alpha=params.alpha, maxIter=max_iter, seed=seed,
        checkpointInterval=checkpoint_interval, coldStartStrategy="drop",
        numUserBlocks=blocks, numItemBlocks=blocks,
    )
    return als.fit(train)


def recommend_idx(model: ALSModel, seen: DataFrame, top_n: int, fetch: int, block_size: int = 4096,
                  users: DataFrame | None = None, local_max_rows: int = 0) -> DataFrame:
    """Top-``top_n`` unseen items per user in index space: ``user_idx``, ``item_idx``, ``score``, ``rank``;
    for every user, or for the ``user_idx`` of ``users`` only.

    With ``local_max_rows`` > 0 and at most that many items, the item factors are collected, broadcast, and
    each group of users scored in numpy (:func:`_recommend_grouped`): exact top-``top_n`` of the unseen
    items, ``fetch`` unused, about 5× faster than Spark's ``recommendForAllUsers`` with the explode, anti-join
    and window after it. Otherwise Spark's: the best ``fetch`` items, minus the seen ones, best ``top_n``.
    """
    if local_max_rows > 0:
        items = model.itemFactors.limit(local_max_rows + 1).toPandas()
        if len(items) <= local_max_rows:
            return _recommend_grouped(model, items, seen, top_n, users)
        log.info("ALS top-N by recommendForAllUsers: over local_max_rows = %d items", local_max_rows)
    model.setBlockSize(block_size)
    every = model.recommendForAllUsers(fetch) if users is None else model.recommendForUserSubset(users, fetch)
    recs = every.select(
        USER_IDX, F.explode("recommendations").alias("r")
    ).select(USER_IDX, F.col(f"r.{ITEM_IDX}").alias(ITEM_IDX), F.col("r.rating").cast("double").alias(S.SCORE))
    unseen = recs.join(seen.select(USER_IDX, ITEM_IDX), [USER_IDX, ITEM_IDX], "left_anti")
    return unseen.transform(top_k_per(USER_IDX, top_n, S.SCORE, ITEM_IDX))


RECS_IDX = f"{USER_IDX} int, {ITEM_IDX} int, {S.SCORE} double, {S.RANK} int"
_RECS_ARROW = pa.schema([(USER_IDX, pa.int32()), (ITEM_IDX, pa.int32()), (S.SCORE, pa.float64()),
                         (S.RANK, pa.int32())])
CHUNK_CELLS = 4_000_000
"""Users are scored in chunks of at most about this many (user, item) scores (32 MB)."""


def _recommend_grouped(model: ALSModel, items: pd.DataFrame, seen: DataFrame, top_n: int,
                       users: DataFrame | None) -> DataFrame:
    """Users hashed into one group per shuffle partition; each group receives its users' factors and seen
    items (a cogroup) and scores them against every item factor (broadcast) by :func:`_top_unseen`."""
    spark = seen.sparkSession
    order = np.argsort(items["id"].to_numpy())
    ids = items["id"].to_numpy()[order].astype(np.int32)
    factors = np.array([np.asarray(f, np.float64) for f in items["features"]], np.float64).reshape(len(ids), -1)
    shared = spark.sparkContext.broadcast((ids, factors[order]))
    keys = partition_keys(spark, int(spark.conf.get("spark.sql.shuffle.partitions")))
    mine = model.userFactors.select(F.col("id").alias(USER_IDX), "features")
    if users is not None:
        mine = mine.join(users.select(USER_IDX).distinct(), USER_IDX, "left_semi")
    # fresh names on both sides: a cogroup of two frames of one lineage is an ambiguous self-join to Spark
    mine = mine.select(group_of(USER_IDX, keys).alias("_g"), F.col(USER_IDX).alias("_u"), "features")
    had = seen.select(group_of(USER_IDX, keys).alias("_g"), F.col(USER_IDX).alias("_su"),
                      F.col(ITEM_IDX).alias("_si"))

    def score(a: pa.Table, b: pa.Table) -> pa.Table:
        return _top_unseen(a, b, *shared.value, top_n)

    return mine.groupBy("_g").cogroup(had.groupBy("_g")).applyInArrow(score, RECS_IDX)


def _top_unseen(users: pa.Table, seen: pa.Table, ids: np.ndarray, item_factors: np.ndarray,
                top_n: int) -> pa.Table:
    """One group: each user's ``top_n`` items by factor dot product, seen items left out, ties by item idx."""
    if users.num_rows == 0 or len(ids) == 0:
        return _RECS_ARROW.empty_table()
    u = users.column("_u").to_numpy()
    order = np.argsort(u, kind="stable")  # the same rows in the same order on every run
    u = u[order]
    rank = item_factors.shape[1]
    f = pc.list_flatten(users.column("features")).to_numpy().astype(np.float64).reshape(len(u), rank)[order]
    su = seen.column("_su").to_numpy()
    si = seen.column("_si").to_numpy()
    at_u = np.searchsorted(u, su)
    at_i = np.searchsorted(ids, si)
    ok = (at_u < len(u)) & (at_i < len(ids))
    ok[ok] &= (u[at_u[ok]] == su[ok]) & (ids[at_i[ok]] == si[ok])
    seen_key = np.sort(at_u[ok].astype(np.int64) * len(ids) + at_i[ok])
    step = max(1, CHUNK_CELLS // len(ids))
    out = []
    for lo in range(0, len(u), step):
        scores = f[lo:lo + step] @ item_factors.T
        lo_key, hi_key = lo * len(ids), min(lo + step, len(u)) * len(ids)
        mask = seen_key[(seen_key >= lo_key) & (seen_key < hi_key)] - lo_key
        scores.reshape(-1)[mask] = -np.inf
        k = min(top_n, len(ids))
        kth = np.partition(scores, len(ids) - k, axis=1)[:, len(ids) - k]  # each row's k-th best score
        r, c = np.nonzero((scores >= kth[:, None]) & (scores > -np.inf))  # ties at the k-th: all of them
        v = scores[r, c]
        top, rank = top_positions(r, c, v, top_n)  # per user: score descending, then item idx
        out.append((u[lo + r[top]], ids[c[top]], v[top], rank + 1))
    a, b, v, p = (np.concatenate(z) for z in zip(*out, strict=True))
    return pa.Table.from_arrays([pa.array(a.astype(np.int32)), pa.array(b.astype(np.int32)), pa.array(v),
                                 pa.array(p.astype(np.int32))], schema=_RECS_ARROW)


def fetch_size(seen: DataFrame, top_n: int, max_fetch: int) -> int:
    """top_n + the largest number of items one user has seen, at most ``max_fetch``."""
    most = seen.groupBy(USER_IDX).count().agg(F.max("count")).first()[0] or 0
    return max(top_n, min(top_n + int(most), max_fetch))


def to_external(recs: DataFrame, users: DataFrame, items: DataFrame, top_n: int) -> DataFrame:
    """Index-space recommendations back to string ids, re-ranked with ties broken by item id."""
    u = users.select(F.col(S.EXTERNAL_ID).alias(S.USER_ID), F.col(S.IDX).alias(USER_IDX))
    i = items.select(F.col(S.EXTERNAL_ID).alias(S.ITEM_ID), F.col(S.IDX).alias(ITEM_IDX))
    out = recs.drop(S.RANK).join(u, USER_IDX).join(F.broadcast(i), ITEM_IDX)
    return out.transform(top_k_per(S.USER_ID, top_n, S.SCORE, S.ITEM_ID)).select(
        S.USER_ID, S.ITEM_ID, S.SCORE, F.col(S.RANK).cast("int").alias(S.RANK),
        F.lit(None).cast("string").alias(S.ANCHOR),
    )


def grid(ranks: Iterable[int], regs: Iterable[float], alphas: Iterable[float]) -> list[AlsParams]:
    return [AlsParams(r, g, a) for r, g, a in itertools.product(ranks, regs, alphas)]


def tune(data: DataFrame, candidates: list[AlsParams], implicit: bool, max_iter: int, seed: int,
         validation_ratio: float, k: int = 10, max_fetch: int = 500,
         checkpoint_interval: int = 5, num_blocks: int | None = None) -> list[tuple[AlsParams, dict[str, float]]]:
    """Score each setting on a validation split carved from ``data`` (per user, seeded): fit on the rest,
    rank unseen items, compare with the held-out interactions at ``k``.

    Returns:
        (params, metrics) per setting, in the order given.
    """
    fit_part, val_part = per_user_split(data, 1.0 - validation_ratio, seed, user=USER_IDX, item=ITEM_IDX)
    fit_part = fit_part.cache()
    val_part = val_part.cache()
    fetch = fetch_size(fit_part, k, max_fetch)
    out = []
    for p in candidates:
        model = fit(fit_part, p, implicit, max_iter, seed, checkpoint_interval, num_blocks)
        recs = recommend_idx(model, fit_part, k, fetch)
        out.append((p, ranking_metrics(recs, val_part, k, user=USER_IDX, item=ITEM_IDX)))
    fit_part.unpersist()
    val_part.unpersist()
    return out
