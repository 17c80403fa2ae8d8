"""Popular and trending items, and popularity recommendations with a fallback chain.

Popularity of an item in a group (everyone, a segment, a country) is the sum over the group's users of
their interest in it over the last ``window_days``: each user's time-decayed, type-weighted affinity,
capped at the purchase weight so that one user who views an item fifty times counts no more than one buyer.

Trending is growth: ``(users in the last d days + 1) / (users in the d days before + 1)`` for items with at
least ``min_users`` users in the last d days.

A user gets the list of the most specific group that has enough active users: their segment, then their
country, then everyone. Seen items are removed.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.asof import cutoff
from tailor.similarity.interactions import AFFINITY, LAST_TS
from tailor.similarity.local import LOCAL_MAX_ROWS, group_of, partition_keys
from tailor.similarity.pairs import top_k_per

SCOPE, GROUP, USERS = "scope", "group_key", "users"
GLOBAL, SEGMENT, COUNTRY, TRENDING = "global", "segment", "country", "trending"
_SPECIFICITY = {SEGMENT: 0, COUNTRY: 1, GLOBAL: 2}


def _since(as_of: date, days: int) -> F.Column:
    return F.col(LAST_TS) >= F.lit(cutoff(as_of - timedelta(days=days)))


def popular(inter: DataFrame, groups: DataFrame, as_of: date, window_days: int, cap: float,
            min_group_users: int, top_k: int) -> DataFrame:
    """Top-``top_k`` items per group: ``scope``, ``group_key``, ``item_id``, ``score``, ``users``, ``rank``.

    Args:
        inter: interactions (user_id, item_id, affinity, last_ts) as of ``as_of``.
        groups: user_id, ``scope``, ``group_key`` (any number of rows per user, e.g. segment and country);
            the global group is added here.
        cap: the most one user's affinity counts for (the purchase weight).
        min_group_users: groups with fewer active users are dropped.
    """
    recent = inter.where(_since(as_of, window_days)).select(
        S.USER_ID, S.ITEM_ID, F.least(F.col(AFFINITY), F.lit(float(cap))).alias("_a")
    )
    everyone = recent.select(S.USER_ID).distinct().select(
        S.USER_ID, F.lit(GLOBAL).alias(SCOPE), F.lit(GLOBAL).alias(GROUP)
    )
    member = groups.select(S.USER_ID, SCOPE, GROUP).unionByName(everyone)
    active = member.join(recent.select(S.USER_ID).distinct(), S.USER_ID).groupBy(SCOPE, GROUP).agg(
        F.count(F.lit(1)).alias("_members")
    )
    big = active.where(F.col("_members") >= min_group_users).select(SCOPE, GROUP)
    scored = (
        recent.join(member.join(big, [SCOPE, GROUP]), S.USER_ID)
        .groupBy(SCOPE, GROUP, S.ITEM_ID)
        .agg(F.sum("_a").alias(S.SCORE), F.count(F.lit(1)).alias(USERS))
    )
    w = Window.partitionBy(SCOPE, GROUP).orderBy(F.desc(S.SCORE), F.asc(S.ITEM_ID))
    return scored.withColumn(S.RANK, F.row_number().over(w)).where(F.col(S.RANK) <= top_k)


def trending(inter: DataFrame, as_of: date, days: int, min_users: int, top_k: int) -> DataFrame:
    """Top-``top_k`` growing items, in the shape of :func:`popular` (scope and group ``trending``)."""
    recent = _since(as_of, days)
    before = _since(as_of, 2 * days) & ~recent
    counts = inter.groupBy(S.ITEM_ID).agg(
        F.count(F.when(recent, 1)).alias(USERS), F.count(F.when(before, 1)).alias("_before")
    )
    scored = counts.where(F.col(USERS) >= min_users).select(
        F.lit(TRENDING).alias(SCOPE), F.lit(TRENDING).alias(GROUP), S.ITEM_ID,
        ((F.col(USERS) + 1.0) / (F.col("_before") + 1.0)).alias(S.SCORE), USERS,
    )
    # one group: a window over it would be unpartitioned (its keys are literals, which Spark folds away, and it
    # moves every row to one task); the distributed top-k (TakeOrderedAndProject) then numbers top_k rows
    best = scored.orderBy(F.desc(S.SCORE), F.desc(USERS), F.asc(S.ITEM_ID)).limit(top_k)
    ranked = best.agg(F.sort_array(F.collect_list(F.struct(
        (-F.col(S.SCORE)).alias("_s"), (-F.col(USERS)).alias("_u"), F.col(S.ITEM_ID).alias("_i"),
        F.col(S.SCORE).alias("_score"), F.col(USERS).alias("_users")))).alias("_top"))
    return ranked.select(F.posexplode("_top").alias("_p", "_r")).select(
        F.lit(TRENDING).alias(SCOPE), F.lit(TRENDING).alias(GROUP), F.col("_r._i").alias(S.ITEM_ID),
        F.col("_r._score").alias(S.SCORE), F.col("_r._users").alias(USERS), (F.col("_p") + 1).alias(S.RANK))


def for_users(users: DataFrame, groups: DataFrame, lists: DataFrame, seen: DataFrame, top_n: int,
              local_max_rows: int = LOCAL_MAX_ROWS) -> DataFrame:
    """Each user's most specific available list (segment, then country, then global), seen items removed.

    Returns:
        candidate rows: user_id, item_id, score, rank, anchor (``segment:<key>``, ``country:<key>``,
        ``global``).
    """
    available = lists.select(SCOPE, GROUP).distinct()
    spec = F.create_map(*[x for k, v in _SPECIFICITY.items() for x in (F.lit(k), F.lit(v))])
    options = (
        users.select(S.USER_ID).distinct()
        .join(groups.select(S.USER_ID, SCOPE, GROUP), S.USER_ID, "left")
        .where(F.col(SCOPE).isNotNull())
        .unionByName(users.select(S.USER_ID).distinct().select(
            S.USER_ID, F.lit(GLOBAL).alias(SCOPE), F.lit(GLOBAL).alias(GROUP)))
        .join(available, [SCOPE, GROUP])
    )
    w = Window.partitionBy(S.USER_ID).orderBy(spec[F.col(SCOPE)], F.asc(GROUP))
    chosen = options.withColumn("_o", F.row_number().over(w)).where(F.col("_o") == 1).drop("_o")
    return _serve(chosen, lists, seen, top_n, local_max_rows).withColumn(
        S.ANCHOR, F.when(F.col(SCOPE) == GLOBAL, F.lit(GLOBAL)).otherwise(F.concat_ws(":", SCOPE, GROUP))
    ).select(S.USER_ID, S.ITEM_ID, S.SCORE, S.RANK, S.ANCHOR)


def trending_for_users(users: DataFrame, lists: DataFrame, seen: DataFrame, top_n: int,
                       local_max_rows: int = LOCAL_MAX_ROWS) -> DataFrame:
    """The trending list for every user, seen items removed; anchor ``trending``."""
    chosen = users.select(S.USER_ID).distinct().select(S.USER_ID, F.lit(TRENDING).alias(SCOPE),
                                                       F.lit(TRENDING).alias(GROUP))
    return _serve(chosen, lists.where(F.col(SCOPE) == TRENDING), seen, top_n, local_max_rows).select(
        S.USER_ID, S.ITEM_ID, S.SCORE, S.RANK, F.lit(TRENDING).alias(S.ANCHOR)
    )


def _serve(chosen: DataFrame, lists: DataFrame, seen: DataFrame, top_n: int, local_max_rows: int) -> DataFrame:
    """``chosen`` (user_id, scope, group_key: one list per user) -> the list's best ``top_n`` items the user
    has not seen: user_id, item_id, score, rank, scope, group_key. The lists hold groups × ``top_k`` rows;
    up to ``local_max_rows`` of them are collected and sent to every task, and each group of users walks
    its lists in numpy (:func:`_walk`), instead of a join making a row per (user, list item), an anti-join
    and a window over them (M: 10 M rows for each of popular and trending)."""
    rows = lists.select(SCOPE, GROUP, S.ITEM_ID, S.SCORE)
    local = rows.limit(local_max_rows + 1).toPandas() if local_max_rows > 0 else None
    if local is None or len(local) > local_max_rows:
        unseen = chosen.join(rows, [SCOPE, GROUP]).join(seen.select(S.USER_ID, S.ITEM_ID),
                                                        [S.USER_ID, S.ITEM_ID], "left_anti")
        return unseen.transform(top_k_per(S.USER_ID, top_n, S.SCORE, S.ITEM_ID)).withColumn(
            S.RANK, F.col(S.RANK).cast("int"))
    spark = chosen.sparkSession
    # each list in serving order: score descending, then item id (code point order, as Spark sorts)
    local = local.sort_values([SCOPE, GROUP, S.SCORE, S.ITEM_ID], ascending=[True, True, False, True],
                              ignore_index=True)
    names = local[[SCOPE, GROUP]].drop_duplicates().reset_index(drop=True)
    which = pd.MultiIndex.from_frame(local[[SCOPE, GROUP]])
    code = pd.MultiIndex.from_frame(names).get_indexer(which)
    starts = np.searchsorted(code, np.arange(len(names) + 1))
    vocab = np.array(sorted(set(local[S.ITEM_ID])), dtype=object)
    shared = spark.sparkContext.broadcast((starts, local[S.ITEM_ID].to_numpy(object),
                                           np.searchsorted(vocab, local[S.ITEM_ID].to_numpy(object)),
                                           local[S.SCORE].to_numpy(np.float64), vocab))
    ids = spark.createDataFrame(names.assign(_list=np.arange(len(names), dtype=np.int32)),
                                f"{SCOPE} string, {GROUP} string, _list int")
    keys = partition_keys(spark, int(spark.conf.get("spark.sql.shuffle.partitions")))
    # fresh column names on both sides: users and seen items often come from the same events, and a
    # cogroup of two frames of one lineage is an ambiguous self-join to Spark
    who = chosen.join(F.broadcast(ids), [SCOPE, GROUP]).select(
        group_of(S.USER_ID, keys).alias("_g"), F.col(S.USER_ID).alias("_u"), "_list")
    had = seen.select(group_of(S.USER_ID, keys).alias("_g"), F.col(S.USER_ID).alias("_su"),
                      F.col(S.ITEM_ID).alias("_si"))

    def walk(a: pa.Table, b: pa.Table) -> pa.Table:
        return _walk(a, b, *shared.value, top_n)

    out = who.groupBy("_g").cogroup(had.groupBy("_g")).applyInArrow(walk, SERVED)
    return out.join(F.broadcast(ids), "_list").drop("_list")


SERVED = f"{S.USER_ID} string, {S.ITEM_ID} string, {S.SCORE} double, {S.RANK} int, _list int"
_SERVED = pa.schema([(S.USER_ID, pa.string()), (S.ITEM_ID, pa.string()), (S.SCORE, pa.float64()),
                     (S.RANK, pa.int32()), ("_list", pa.int32())])


WALK_CELLS = 4_000_000
"""A group's users are walked in chunks of at most about this many (user, list item) cells."""


def _walk(who: pa.Table, seen: pa.Table, starts: np.ndarray, items: np.ndarray, codes: np.ndarray,
          scores: np.ndarray, vocab: np.ndarray, top_n: int) -> pa.Table:
    """One group of users: each one's list (``_list``: rows ``starts[l]:starts[l + 1]`` of ``items``, their
    indices ``codes`` in ``vocab`` and ``scores``, in serving order) without the items they have seen, the
    first ``top_n``."""
    if who.num_rows == 0:
        return _SERVED.empty_table()
    users = who.column("_u").combine_chunks()  # one row per user
    lst = who.column("_list").to_numpy().astype(np.int64)
    su = pc.index_in(seen.column("_su"), value_set=users).to_numpy(zero_copy_only=False)
    si = pc.index_in(seen.column("_si"), value_set=pa.array(vocab, pa.string())).to_numpy(
        zero_copy_only=False)
    mine = ~(np.isnan(su.astype(np.float64)) | np.isnan(si.astype(np.float64)))
    seen_key = np.sort(su[mine].astype(np.int64) * len(vocab) + si[mine].astype(np.int64))
    lens = starts[lst + 1] - starts[lst]
    ends = np.cumsum(lens)
    cuts = np.searchsorted(ends, np.arange(WALK_CELLS, ends[-1], WALK_CELLS), side="right")
    parts = []
    for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(lst)], strict=True):
        if hi > lo:
            parts.append(_walk_users(lo, hi, lst, lens, starts, codes, seen_key, len(vocab), top_n))
    owner, pos, rank = (np.concatenate(z) for z in zip(*parts, strict=True))
    return pa.Table.from_arrays([pc.take(users, pa.array(owner)), pa.array(items[pos], pa.string()),
                                 pa.array(scores[pos], pa.float64()), pa.array(rank.astype(np.int32)),
                                 pa.array(lst[owner].astype(np.int32))], schema=_SERVED)


def _walk_users(lo: int, hi: int, lst: np.ndarray, lens: np.ndarray, starts: np.ndarray, codes: np.ndarray,
                seen_key: np.ndarray, width: int, top_n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user, list row, rank) of the users ``lo:hi``' first ``top_n`` unseen items (``seen_key``: sorted
    ``user · width + item code``)."""
    n = lens[lo:hi]
    owner = np.repeat(np.arange(lo, hi), n)
    pos = np.repeat(starts[lst[lo:hi]], n) + np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    mine = seen_key[(seen_key >= lo * width) & (seen_key < hi * width)]
    keep = ~np.isin(owner * width + codes[pos], mine)
    owner, pos = owner[keep], pos[keep]
    rank = np.arange(len(owner)) - np.searchsorted(owner, owner, side="left") + 1
    top = rank <= top_n
    return owner[top], pos[top], rank[top]
