"""``tailor evaluate``: silver ``events``, ``products``, ``customers`` -> ``evaluations`` (run_date,
split=time) and ``tuning_results`` (run_date, model=hybrid).

Time-based: every source in ``evaluation.sources`` is refitted on the events before ``run_date -
evaluation.horizon_days`` and scored on each user's purchases of new items in the horizon up to
``run_date``. The blend weights are searched one horizon earlier (train before ``run_date - 2·horizon``,
validate on the horizon after), so the test window is used once, for scoring. Written per recommender
(each source, ``hybrid`` with the searched weights, ``hybrid_seeds_rule`` with ``w = e / Σ e``): precision,
recall, nDCG, MAP, hit rate, coverage, novelty and diversity at each ``evaluation.k``, and the number of
test users. Every weight setting tried goes to ``tuning_results``; ``tailor recommend`` uses the chosen one.

When the data has no usable time window (every event on one day, or no purchase of a new item in either
window), the split falls back to a seeded per-user stratified random split of the (user, item) pairs before
the run date (75 % train; the recommenders project's protocol), validation taken the same way from the
training part; ``split=per_user`` records which was used.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from tailor import wiring
from tailor.config import Config, warehouse
from tailor.errors import InsufficientDataError
from tailor.evaluation import harness
from tailor.jobs.base import JobSummary

READS: frozenset[str] = frozenset({"events", "products", "customers"})
SOFT_READS: dict[str, str] = {"id_map": "ALS numbers users and items afresh, as on a warehouse's first run"}
WRITES: frozenset[str] = frozenset({"evaluations", "tuning_results"})


log = logging.getLogger(__name__)

SPLIT = "time"
FALLBACK_SPLIT = "per_user"
TRAIN_RATIO = 0.75


def _id_map(spark: SparkSession, cfg: Config):
    """The ALS id map the ``als`` job keeps (None before its first run): evaluation numbers users and items as
    the job does, so its ALS fits are the job's."""
    wh = warehouse(spark, cfg)
    return wh.read("id_map") if wh.exists("id_map") else None


def run(spark: SparkSession, cfg: Config, run_date: date) -> JobSummary:
    # every fold, source and metric reads the events: read the table once (each read of the Delta table
    # plans its scan again, with a Spark job to choose its files)
    events = warehouse(spark, cfg).read("events").persist(StorageLevel.MEMORY_AND_DISK)
    try:
        return _run(spark, cfg, run_date, events)
    finally:
        events.unpersist()


def _run(spark: SparkSession, cfg: Config, run_date: date, events: DataFrame) -> JobSummary:
    wh = warehouse(spark, cfg)
    e = cfg.evaluation
    products = wh.read("products")
    groups = wiring.groups_of(wh.read("customers"))
    horizon = timedelta(days=e.horizon_days)
    test = harness.time_fold(events, run_date - horizon, e.horizon_days, cfg.interactions.weights)
    validation = harness.time_fold(events, run_date - 2 * horizon, e.horizon_days, cfg.interactions.weights)
    split = SPLIT
    empty = [name for name, fold in (("test", test), ("validation", validation)) if fold.truth.limit(1).count() == 0]
    if empty:
        log.warning("no purchases of new items in the %s window(s) of %d days before %s: evaluating on a "
                    "per-user random split instead", " and ".join(empty), e.horizon_days, run_date)
        split = FALLBACK_SPLIT
        test = harness.per_user_fold(events, run_date, TRAIN_RATIO, cfg.seed)
        validation = harness.per_user_fold(test.train, run_date, TRAIN_RATIO, cfg.seed + 1)
        if test.truth.limit(1).count() == 0 or validation.truth.limit(1).count() == 0:
            raise InsufficientDataError(f"no user has enough distinct items before {run_date} to hold some out "
                                        "for evaluation, by time or at random")
    rows, tried, winner = wiring.evaluate(cfg, validation, test, products, groups, e.k, id_map=_id_map(spark, cfg))
    summary = JobSummary(tables=["evaluations", "tuning_results"])
    df = spark.createDataFrame(rows, "recommender string, k int, metric string, value double")
    # the whole run date is replaced, whichever split an earlier run of it used
    summary.rows_out = wh.replace_partition(df.withColumn("split", F.lit(split)), "evaluations", run_date)
    tuning = spark.createDataFrame(
        [(t.weights, {"ndcg": t.ndcg, "items_covered": float(t.items), "coverage_floor": float(t.floor)},
          t is winner) for t in tried],
        "params map<string,double>, metrics map<string,double>, chosen boolean",
    )
    wh.replace_partition(tuning, "tuning_results", run_date, {"model": wiring.HYBRID})
    for rec, k, metric, value in rows:
        if metric == "ndcg" and k == e.search_k:
            summary.metrics[f"ndcg.{rec}"] = round(value, 4)
    summary.metrics.update({f"weight.{s}": w for s, w in winner.weights.items()})
    summary.metrics["split.per_user"] = float(split == FALLBACK_SPLIT)
    summary.rows_in = int(test.truth.count())
    return summary
