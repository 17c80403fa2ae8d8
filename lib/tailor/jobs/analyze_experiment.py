"""``tailor analyze-experiment``: ``contact_history`` + silver ``orders`` -> ``experiment_results`` (run_date).

For each campaign (``--campaign``, or every campaign in ``contact_history``), the customers are
those whose first send of that campaign is at least ``campaigns.window_days`` days before the run date,
so that their outcome window (the ``window_days`` days after the send day) has ended; the arm is the
one recorded. A customer converted when they bought anything in their window; revenue is the net amount
(returns subtract) in it. The statistics are in :mod:`tailor.campaigns.experiment`. Campaigns with no
complete window yet are skipped and counted. The run date's partition is replaced.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from tailor import schemas as S
from tailor.campaigns import experiment as X
from tailor.config import Config, warehouse
from tailor.errors import MissingTableError
from tailor.jobs.base import JobSummary

log = logging.getLogger(__name__)

READS: frozenset[str] = frozenset({"contact_history", "orders"})
WRITES: frozenset[str] = frozenset({"experiment_results"})
FIRST = "first_sent"
RESULT_FIELDS = StructType([f for f in S.EXPERIMENT_RESULTS.fields if f.name != S.RUN_DATE])


def outcomes(history, orders, run_date: date, window_days: int):
    """(campaign, user_id, arm, first_sent, converted, revenue) for customers with a complete window."""
    first = (history.groupBy(S.CAMPAIGN, S.USER_ID)
             .agg(F.min(S.SENT_DATE).alias(FIRST), F.min_by(S.ARM, S.SENT_DATE).alias(S.ARM))
             .where(F.date_add(F.col(FIRST), window_days) <= F.lit(run_date)))
    day = F.to_date(F.col(S.TS))
    inside = (first.join(orders.select(S.USER_ID, S.TS, S.AMOUNT, S.IS_RETURN), S.USER_ID)
              .where((day > F.col(FIRST)) & (day <= F.date_add(F.col(FIRST), window_days))))
    per_user = inside.groupBy(S.CAMPAIGN, S.USER_ID).agg(
        F.max((~F.col(S.IS_RETURN)).cast("int")).alias("converted"), F.sum(S.AMOUNT).alias("revenue"))
    return (first.join(per_user, [S.CAMPAIGN, S.USER_ID], "left")
            .fillna({"converted": 0, "revenue": 0.0}))


def results(arms: dict[str, dict[str, dict]], window_days: int, alpha: float) -> list[dict]:
    """One contract row (less run_date) per campaign from the per-arm aggregates:
    ``arms[campaign][arm] = {n, conversions, revenue, revenue_sq, first, last}``."""
    out = []
    for campaign in sorted(arms):
        a = arms[campaign]
        empty = {"n": 0, "conversions": 0, "revenue": 0.0, "revenue_sq": 0.0, "first": None, "last": None}
        t, c = a.get(S.TREATMENT, empty), a.get(S.CONTROL, empty)
        p = X.two_proportions(t["conversions"], t["n"], c["conversions"], c["n"], alpha)
        rpu_t = t["revenue"] / t["n"] if t["n"] else None
        rpu_c = c["revenue"] / c["n"] if c["n"] else None
        out.append({
            S.CAMPAIGN: campaign, "window_days": window_days,
            "first_send": min(d for d in (t["first"], c["first"]) if d is not None),
            "last_send": max(d for d in (t["last"], c["last"]) if d is not None),
            "n_treatment": t["n"], "n_control": c["n"],
            "conversions_treatment": t["conversions"], "conversions_control": c["conversions"],
            "rate_treatment": p.rate_treatment, "rate_control": p.rate_control,
            "abs_lift": p.abs_lift, "rel_lift": p.rel_lift, "ci_low": p.ci_low, "ci_high": p.ci_high,
            "z": p.z, "p_value": p.p_value,
            "revenue_treatment": float(t["revenue"]), "revenue_control": float(c["revenue"]),
            "revenue_per_user_treatment": rpu_t, "revenue_per_user_control": rpu_c,
            "revenue_lift_per_user": rpu_t - rpu_c if rpu_t is not None and rpu_c is not None else None,
            "revenue_p_value": X.mean_difference_p(t["n"], t["revenue"], t["revenue_sq"],
                                                   c["n"], c["revenue"], c["revenue_sq"]),
            "significant": p.p_value < alpha if p.p_value is not None else None,
        })
    return out


@dataclass(frozen=True)
class Args:
    campaigns: tuple[str, ...] = ()
    """Campaigns to analyse (``--campaign``, repeatable); empty: every one with a complete window."""


def run(spark: SparkSession, cfg: Config, run_date: date, args: Args) -> JobSummary:
    wh = warehouse(spark, cfg)
    cs = cfg.campaigns
    summary = JobSummary(tables=["experiment_results"])
    history = wh.read("contact_history").where(F.col(S.SENT_DATE) <= F.lit(run_date))
    if args.campaigns:
        history = history.where(F.col(S.CAMPAIGN).isin(list(args.campaigns)))
        found = {r[0] for r in history.select(S.CAMPAIGN).distinct().collect()}  # at most len(campaigns)
        missing = sorted(set(args.campaigns) - found)
        if missing:
            raise MissingTableError(f"contact_history has no sends on or before {run_date} for {missing}; "
                                    "record them with `tailor record-sends` first")
    per_user = outcomes(history, wh.read("orders"), run_date, cs.window_days)
    aggregated = per_user.groupBy(S.CAMPAIGN, S.ARM).agg(
        F.count("*").alias("n"), F.sum("converted").alias("conversions"), F.sum("revenue").alias("revenue"),
        F.sum(F.col("revenue") * F.col("revenue")).alias("revenue_sq"),
        F.min(FIRST).alias("first"), F.max(FIRST).alias("last")).collect()  # campaigns x 2 rows
    arms: dict[str, dict[str, dict]] = {}
    for r in aggregated:
        arms.setdefault(r[S.CAMPAIGN], {})[r[S.ARM]] = r.asDict()
    rows = results(arms, cs.window_days, cs.alpha)
    df = spark.createDataFrame(rows, schema=RESULT_FIELDS)
    summary.rows_out = wh.replace_partition(df, "experiment_results", run_date)
    summary.rows_in = sum(r["n"] for r in aggregated)
    for row in rows:
        summary.metrics[f"{row[S.CAMPAIGN]}.abs_lift"] = row["abs_lift"] if row["abs_lift"] is not None else 0.0
        if row["p_value"] is not None:
            summary.metrics[f"{row[S.CAMPAIGN]}.p_value"] = row["p_value"]
        log.info("%s: treatment %d/%d, control %d/%d, lift %s, p %s", row[S.CAMPAIGN],
                 row["conversions_treatment"], row["n_treatment"], row["conversions_control"], row["n_control"],
                 row["abs_lift"], row["p_value"])
    if not rows:
        log.warning("no campaign has a complete %d-day window on %s", cs.window_days, run_date)
    return summary
