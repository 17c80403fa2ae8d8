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

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.features.profile import cutoff
from tailor.similarity.interactions import AFFINITY, LAST_TS
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
    w = Window.partitionBy(SCOPE, GROUP).orderBy(F.desc(S.SCORE), F.desc(USERS), F.asc(S.ITEM_ID))
    return scored.withColumn(S.RANK, F.row_number().over(w)).where(F.col(S.RANK) <= top_k)


def for_users(users: DataFrame, groups: DataFrame, lists: DataFrame, seen: DataFrame, top_n: int) -> DataFrame:
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
    return _unseen_top(chosen.join(lists.drop(S.RANK), [SCOPE, GROUP]), seen, top_n).withColumn(
        S.ANCHOR, F.when(F.col(SCOPE) == GLOBAL, F.lit(GLOBAL)).otherwise(F.concat_ws(":", SCOPE, GROUP))
    ).select(S.USER_ID, S.ITEM_ID, S.SCORE, S.RANK, S.ANCHOR)


def trending_for_users(users: DataFrame, lists: DataFrame, seen: DataFrame, top_n: int) -> DataFrame:
    """The trending list for every user, seen items removed; anchor ``trending``."""
    pairs = users.select(S.USER_ID).distinct().crossJoin(F.broadcast(lists.select(S.ITEM_ID, S.SCORE)))
    return _unseen_top(pairs, seen, top_n).select(
        S.USER_ID, S.ITEM_ID, S.SCORE, S.RANK, F.lit(TRENDING).alias(S.ANCHOR)
    )


def _unseen_top(pairs: DataFrame, seen: DataFrame, top_n: int) -> DataFrame:
    unseen = pairs.join(seen.select(S.USER_ID, S.ITEM_ID), [S.USER_ID, S.ITEM_ID], "left_anti")
    return unseen.transform(top_k_per(S.USER_ID, top_n, S.SCORE, S.ITEM_ID)).withColumn(
        S.RANK, F.col(S.RANK).cast("int")
    )
