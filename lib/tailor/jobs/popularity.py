"""``tailor popularity``: silver ``events`` + ``customers`` (+ ``user_segments`` of the run, when written) ->
``popular_items`` (run_date) and ``candidate_recs`` (run_date, source=popular and source=trending).

Popular items per segment, per country and overall over the last ``popularity.window_days``; trending items
by growth over ``popularity.trending_days``. Every customer and every visitor with events gets the list of
their most specific group with at least ``popularity.min_group_users`` active users (segment, then
country, then everyone), and the trending list, seen items removed: this is what a brand-new user gets.
"""

from __future__ import annotations

import logging
from datetime import date

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.asof import before_cutoff
from tailor.config import Config, warehouse
from tailor.errors import MissingTableError
from tailor.jobs.base import JobSummary
from tailor.recommend import popularity as P
from tailor.wiring import TrainData, popular_lists, popular_source, trending_source

log = logging.getLogger(__name__)

READS: frozenset[str] = frozenset({"events", "customers"})
SOFT_READS: dict[str, str] = {"user_segments": "popular lists by country and overall only"}
WRITES: frozenset[str] = frozenset({"popular_items", "candidate_recs"})


def groups(spark: SparkSession, cfg: Config, run_date: date, customers: DataFrame) -> DataFrame:
    """user_id, scope, group_key: each customer's country, and segment when ``user_segments`` has the run."""
    wh = warehouse(spark, cfg)
    country = customers.where(F.col(S.COUNTRY).isNotNull()).select(
        F.col(S.CUSTOMER_ID).alias(S.USER_ID), F.lit(P.COUNTRY).alias(P.SCOPE), F.col(S.COUNTRY).alias(P.GROUP)
    )
    try:
        seg = wh.read_run("user_segments", run_date).select(
            S.USER_ID, F.lit(P.SEGMENT).alias(P.SCOPE), F.col(S.SEGMENT).alias(P.GROUP))
    except MissingTableError:
        log.warning("no user_segments for %s: popularity by country and overall only", run_date)
        return country
    return country.unionByName(seg)


def audience(events: DataFrame, customers: DataFrame, run_date: date) -> DataFrame:
    """Everyone who can get recommendations on ``run_date``: customers signed up by then, and visitors."""
    signed = customers.where(F.col(S.SIGNUP_DATE).isNull() | (F.col(S.SIGNUP_DATE) <= F.lit(run_date)))
    return signed.select(F.col(S.CUSTOMER_ID).alias(S.USER_ID)).unionByName(
        events.where(before_cutoff(run_date)).select(S.USER_ID)
    ).distinct()


def run(spark: SparkSession, cfg: Config, run_date: date) -> JobSummary:
    wh = warehouse(spark, cfg)
    events = wh.read("events")
    customers = wh.read("customers")
    g = groups(spark, cfg, run_date, customers).persist(StorageLevel.MEMORY_AND_DISK)
    users = audience(events, customers, run_date).persist(StorageLevel.MEMORY_AND_DISK)
    data = TrainData(cfg, run_date, events, products=None, groups=g, users=users)
    lists = popular_lists(data).persist(StorageLevel.MEMORY_AND_DISK)
    summary = JobSummary(tables=["popular_items", "candidate_recs"])
    try:
        summary.rows_in = users.count()
        summary.metrics["popular_items.rows"] = wh.replace_partition(
            lists.select(P.SCOPE, P.GROUP, S.ITEM_ID, S.SCORE, P.USERS, F.col(S.RANK).cast("int").alias(S.RANK)),
            "popular_items", run_date)
        for source, fn in (("popular", popular_source), ("trending", trending_source)):
            summary.metrics[f"{source}.rows"] = wh.replace_partition(
                fn(data, lists), "candidate_recs", run_date, {S.SOURCE: source})
    finally:
        lists.unpersist()
        data.release()
        users.unpersist()
        g.unpersist()
    summary.rows_out = int(sum(v for k, v in summary.metrics.items() if k.endswith(".rows")))
    return summary
