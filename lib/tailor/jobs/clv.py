"""``tailor clv``: silver ``orders`` -> ``customer_value`` (run_date), with the fitted parameters, their
log-likelihood and convergence in ``model_metrics`` (model ``clv``, version = the run date).

``model_versions`` stays the propensity model store: were clv to write there too, ``score-propensity`` (which
reads it) would depend on clv in the derived pipeline, and a shop where clv is not applicable would lose its
propensity scores.

Every customer with a purchase by run_date gets BG/NBD's P(alive), expected purchase days over
``clv.horizons_days``, the median days to the next purchase if still active, Gamma-Gamma's expected order
value, and the lifetime value over ``clv.months`` discounted by ``clv.monthly_discount`` a month, with its
decile (:mod:`tailor.clv`), and ``p_alive_change``: P(alive) now less P(alive) ``clv.trend_days`` earlier,
with today's parameters (the win-back campaign's "slipping away"). The summary and the scores are computed
in Spark; the fits read one row per distinct summary, bounded by the calendar, never one per customer.

The backtest refits on the data before the last ``clv.holdout_days`` and writes predicted against actual
repeat purchases in them, by number of earlier repeat purchases (``holdout_predicted`` / ``holdout_actual``
/ ``holdout_customers``, keys ``0`` .. ``7`` where 7 means 7 or more).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from pyspark import StorageLevel
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.asof import before_cutoff
from tailor.clv import btyd as B
from tailor.clv import fit as clv_fit
from tailor.clv import summary as C
from tailor.config import Config, warehouse
from tailor.errors import NotApplicable
from tailor.jobs.base import JobSummary

log = logging.getLogger(__name__)

READS: frozenset[str] = frozenset({"orders"})
WRITES: frozenset[str] = frozenset({"customer_value", "model_metrics"})
MODEL = "clv"


def run(spark: SparkSession, cfg: Config, run_date: date) -> JobSummary:
    wh = warehouse(spark, cfg)
    c = cfg.clv
    unit = C.DAYS_PER[c.time_unit]
    purchases = wh.read("orders").where(~F.col(S.IS_RETURN) & before_cutoff(run_date))
    days = C.purchase_days(purchases).persist(StorageLevel.MEMORY_AND_DISK)
    summary = C.summarise(days, run_date, unit).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        what = f"clv as of {run_date}"
        groups = clv_fit.timing_groups(summary, c.max_groups, what)
        customers = int(groups[C.CUSTOMERS].sum())
        if customers == 0:
            raise NotApplicable(f"no purchase on or before {run_date}, so no customer to value")
        span = int(groups[C.TENURE_DAYS].max())  # days from the earliest first purchase to run_date
        timing = clv_fit.fit_timing(groups, unit, what)
        value = clv_fit.fit_value(summary, c.max_groups)
        log.info("BG/NBD %s (log-likelihood %.4f per customer); Gamma-Gamma %s", timing.params,
                 timing.log_likelihood, value.params if value else None)
        scored = C.score(summary, timing.params, value.params if value else None, c.horizons_days, unit,
                         c.months, c.month_days, c.monthly_discount).persist(StorageLevel.MEMORY_AND_DISK)
        try:
            cuts = scored.agg(F.percentile_approx("clv", [i / 10 for i in range(9, 0, -1)], 10_000)).first()[0]
            earlier = C.p_alive(C.summarise(days, run_date - timedelta(days=c.trend_days), unit),
                                timing.params).select(S.USER_ID, F.col("p_alive").alias("_p_alive_before"))
            ranked = scored.withColumn("clv_decile", C.deciles(F.col("clv"), cuts) if cuts else F.lit(None)
                                       .cast("int")).join(earlier, S.USER_ID, "left").withColumn(
                "p_alive_change", F.col("p_alive") - F.col("_p_alive_before")).drop("_p_alive_before")
            written = wh.replace_partition(ranked, "customer_value", run_date)
        finally:
            scored.unpersist()
        metrics = [*_metric_rows(timing, value), ("bgnbd_groups", "", float(len(groups))),
                   ("time_unit_days", "", unit)]  # the unit of recency, T, alpha and the holdout's predictions
        backtest = None
        if c.holdout_days and span > c.holdout_days:
            backtest = _backtest(days, run_date, c, unit)
            metrics += backtest
        elif c.holdout_days:
            log.warning("no backtest: the history (%s days) is no longer than clv.holdout_days=%d", span,
                        c.holdout_days)
    finally:
        summary.unpersist()
        days.unpersist()
    version = run_date.isoformat()
    rows = [(version, m, k, float(v)) for m, k, v in metrics]
    wh.replace_partition(spark.createDataFrame(rows, "version string, metric string, key string, value double"),
                         "model_metrics", run_date, {"model": MODEL})
    summary_ = JobSummary(rows_in=customers, rows_out=written, tables=["customer_value", "model_metrics"])
    summary_.metrics.update({f"bgnbd.{k}": v for k, v in timing.params.items()})
    if value:
        summary_.metrics.update({f"gamma_gamma.{k}": v for k, v in value.params.items()})
    if backtest:
        totals = {m: v for m, k, v in backtest if k == ""}
        summary_.metrics["holdout.predicted"] = totals["holdout_total_predicted"]
        summary_.metrics["holdout.actual"] = totals["holdout_total_actual"]
    return summary_


def _metric_rows(timing: B.Fit, value: B.Fit | None) -> list[tuple[str, str, float]]:
    out = [("bgnbd_param", k, v) for k, v in timing.params.items()]
    out += [("bgnbd_log_likelihood", "", timing.log_likelihood), ("bgnbd_converged", "", float(timing.converged)),
            ("bgnbd_iterations", "", float(timing.iterations)), ("customers", "", timing.customers)]
    if value:
        out += [("gamma_gamma_param", k, v) for k, v in value.params.items()]
        out += [("gamma_gamma_log_likelihood", "", value.log_likelihood),
                ("gamma_gamma_converged", "", float(value.converged)), ("repeat_buyers", "", value.customers)]
    return out


def _backtest(days, run_date: date, c, unit: float) -> list[tuple[str, str, float]]:
    """Refit on the data up to run_date - holdout_days; predicted and actual repeat purchases after it."""
    cal_end = run_date - timedelta(days=c.holdout_days)
    what = f"clv backtest as of {cal_end}"
    cal = C.summarise(days, cal_end, unit).persist(StorageLevel.MEMORY_AND_DISK)  # fitted, then scored
    try:
        try:
            fit = clv_fit.fit_timing(clv_fit.timing_groups(cal, c.max_groups, what), unit, what)
        except NotApplicable as e:
            log.warning("no backtest: %s", e)
            return []
        table = C.holdout(cal, days, cal_end, run_date, fit.params, unit).orderBy("bucket").collect()  # <= 8 rows
    finally:
        cal.unpersist()
    out = []
    for r in table:
        key = str(r["bucket"])
        out += [("holdout_customers", key, r[C.CUSTOMERS]), ("holdout_predicted", key, r["predicted"]),
                ("holdout_actual", key, r["actual"])]
    n = sum(r[C.CUSTOMERS] for r in table)
    out += [("holdout_total_predicted", "", sum(r["predicted"] * r[C.CUSTOMERS] for r in table)),
            ("holdout_total_actual", "", sum(r["actual"] * r[C.CUSTOMERS] for r in table)),
            ("holdout_days", "", float(c.holdout_days)), ("holdout_customers", "", float(n))]
    out += [(f"holdout_param_{k}", "", v) for k, v in fit.params.items()]
    return out
