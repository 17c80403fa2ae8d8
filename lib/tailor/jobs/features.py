"""``tailor features``: silver orders, events, products, customers -> gold ``user_features`` (run_date).

One row per customer as of run_date (only data at or before the end of that day), with RFM scores and the
named RFM segment. Re-running a date replaces that date's partition.
"""

from __future__ import annotations

import logging
from datetime import date

from pyspark import StorageLevel
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.config import Config, warehouse
from tailor.features import rfm
from tailor.features.profile import user_features
from tailor.jobs.base import JobSummary

log = logging.getLogger(__name__)

READS: frozenset[str] = frozenset({"orders", "events", "products", "customers"})
WRITES: frozenset[str] = frozenset({"user_features"})


def run(spark: SparkSession, cfg: Config, run_date: date) -> JobSummary:
    wh = warehouse(spark, cfg)
    orders, events, products, customers = (
        wh.read(n) for n in ("orders", "events", "products", "customers")
    )
    feats = user_features(orders, events, products, customers, as_of=run_date,
                          trend_days=cfg.features.trend_days).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        cuts = rfm.thresholds(feats, cfg.features.quantile_relative_error)
        log.info("RFM thresholds %s", cuts)
        scored = feats.transform(rfm.with_rfm(cuts))
        n = wh.replace_partition(scored, "user_features", run_date)
        # a handful of segment counts, from the cached features rather than a re-read of the table
        by_segment = {r[S.RFM_SEGMENT]: r["n"] for r in
                      scored.groupBy(S.RFM_SEGMENT).agg(F.count(F.lit(1)).alias("n")).collect()}
    finally:
        feats.unpersist()
    metrics: dict[str, float] = {"customers": n, "buyers": n - by_segment.get(rfm.NO_PURCHASE, 0)}
    metrics.update({f"rfm.{k.lower().replace(' ', '_')}": v for k, v in by_segment.items()})
    for col, t in cuts.items():
        metrics.update({f"threshold.{col}.p{int(p * 100)}": v for p, v in zip(rfm.PROBABILITIES, t, strict=True)})
    rows_in = events.count()  # order lines are events too
    degenerate = [col for col, t in cuts.items() if t and len(set(t)) == 1]
    if degenerate:  # one day of data, or every customer alike: the R/F/M scores cannot tell anyone apart
        metrics["rfm.degenerate_thresholds"] = len(degenerate)
        log.warning("RFM thresholds of %s are all equal (%s): every customer gets the same score there, so "
                    "RFM segments say little; with all events on one day every buyer is 'New'",
                    degenerate, {c: cuts[c][0] for c in degenerate})
    return JobSummary(rows_in=rows_in, rows_out=n, metrics=metrics, tables=["user_features"])
