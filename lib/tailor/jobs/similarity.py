"""``tailor similarity``: silver ``events`` -> ``item_similarity`` and ``user_similarity`` (run_date, method).

Interactions are built from events at or before the end of run_date (weights: ``interactions.weights``).
Item-item pairs use each user's most recent items, user-user pairs each item's most recent users, up to a
cap that starts at ``interactions.max_items_per_user`` (``max_users_per_item``) and doubles until the capped
rows keep ``interactions.cap_keep_share`` of the interactions, within ``interactions.cap_max_pairs`` pairs
(metrics ``<table>.cap``, ``.capped_out``, ``.pairs_bound``). For each configured method the top
``similarity.top_k`` neighbours per entity are written (pairs sharing fewer than ``similarity.min_co_count``
are dropped; scores shrunk by ``co / (co + similarity.shrinkage)``). Cosine and jaccard share one pass: the
grouped sparse products of :mod:`tailor.similarity.local` when the capped input has at most
``plans.grouped_max_rows`` rows (the cap's own aggregation counts them), one self-join
otherwise; ``plans.similarity`` may force either.
Rating-based methods are skipped, with a warning and a metric, when the events carry no ratings. Each
(run_date, method) partition is replaced.
"""

from __future__ import annotations

import logging
from datetime import date

from pyspark import StorageLevel
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor import wiring as W
from tailor.config import Config, warehouse
from tailor.jobs.base import JobSummary
from tailor.similarity.pairs import RATING_METHODS

log = logging.getLogger(__name__)

READS: frozenset[str] = frozenset({"events"})
WRITES: frozenset[str] = frozenset({"item_similarity", "user_similarity"})


def _write(d: W.TrainData, kind: str, methods: list[str], table: str, run_date: date, has_ratings: bool,
           summary: JobSummary) -> None:
    for method in methods:
        if method in RATING_METHODS and not has_ratings:
            log.warning("%s %s skipped: the events carry no ratings", table, method)
            summary.metrics[f"{table}.{method}.skipped"] = 1
    # every method from one frame (cosine and jaccard from one pass), kept while each is written
    sims = W.similarity_of(d, kind, methods, has_ratings=has_ratings).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        for method in methods:
            if method in RATING_METHODS and not has_ratings:
                continue
            sim = sims.where(F.col(S.METHOD) == method).drop(S.METHOD)
            n = warehouse(sim.sparkSession, d.cfg).replace_partition(sim, table, run_date, {S.METHOD: method})
            summary.metrics[f"{table}.{method}.rows"] = n
    finally:
        sims.unpersist()
    summary.tables.append(table)


def run(spark: SparkSession, cfg: Config, run_date: date) -> JobSummary:
    wh = warehouse(spark, cfg)
    d = W.TrainData(cfg, run_date, wh.read("events"))
    summary = JobSummary()
    try:
        inter, _ = d.interactions(None)
        stats = inter.agg(
            F.count(F.lit(1)).alias("n"), F.countDistinct(S.USER_ID).alias("users"),
            F.countDistinct(S.ITEM_ID).alias("items"), F.count(S.RATING).alias("rated"),
        ).first()
        summary.rows_in = stats["n"]
        summary.metrics.update({"interactions": stats["n"], "users": stats["users"], "items": stats["items"]})
        has_ratings = stats["rated"] > 0
        for kind, per in (("item", "user"), ("user", "item")):  # the caps leave the oldest out: say how many
            table, cap = f"{kind}_similarity", d.cap(kind)
            summary.metrics.update({f"{table}.cap": cap.cap, f"{table}.capped_out": cap.capped_out,
                                    f"{table}.pairs_bound": cap.pairs})
            if cap.capped_out:
                log.info("%s leaves out %d of %d interaction(s) beyond the cap of %d per %s (the oldest)", table,
                         cap.capped_out, cap.rows, cap.cap, per)
        _write(d, "item", cfg.similarity.item_methods, "item_similarity", run_date, has_ratings, summary)
        _write(d, "user", cfg.similarity.user_methods, "user_similarity", run_date, has_ratings, summary)
    finally:
        d.release()
    summary.rows_out = int(sum(v for k, v in summary.metrics.items() if k.endswith(".rows")))
    return summary
