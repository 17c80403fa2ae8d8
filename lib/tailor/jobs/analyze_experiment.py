"""``tailor analyze-experiment``: ``contact_history`` + silver ``orders`` -> ``experiment_results`` (run_date).

For each campaign (``--campaign``, or every campaign in ``contact_history``), the customers are
those whose first send of that campaign is at least ``campaigns.window_days`` days before the run date,
so that their outcome window (the ``window_days`` days after the send day) has ended; the arm is the
one recorded. A customer converted when they bought anything in their window; revenue is the net amount
(returns subtract) in it. The statistics are in :mod:`tailor.campaigns.experiment`. Campaigns with no
complete window yet are skipped and counted. The run date's partition is replaced.

An A/B/n campaign (``arms`` in its definition) gets one row per treatment arm, each against the control;
``significant`` reads the Holm-corrected p-value (``p_value_holm``, equal to ``p_value`` for one arm).

Beside the fixed-horizon tests, every readout has:

- **a sample-ratio-mismatch gate**: a chi-square test of the arms' counts against the shares they were
  assigned with (:func:`expected_shares`). Below ``campaigns.srm_alpha`` the row is ``srm_failed`` and not
  ``significant``, whatever its p-value: a broken split makes the lift meaningless;
- **CUPED**: the same lift adjusted by each customer's conversion and net revenue in the
  ``campaigns.pre_period_days`` before their first send (θ pooled over both arms), with the variance it
  removed;
- **an always-valid readout**: the mSPRT p-value and confidence sequence of the conversion lift over the
  looks so far, one look per day on which customers' windows completed (mixing sd
  ``campaigns.sequential_tau``), valid however often the results are read.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import numpy as np
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


def outcomes(history, orders, run_date: date, window_days: int, pre_days: int):
    """(campaign, user_id, arm, first_sent, converted, revenue, pre_converted, pre_revenue) for customers with a
    complete window; ``pre_*`` over the ``pre_days`` days before the first send (CUPED's covariate)."""
    first = (history.groupBy(S.CAMPAIGN, S.USER_ID)
             .agg(F.min(S.SENT_DATE).alias(FIRST), F.min_by(S.ARM, S.SENT_DATE).alias(S.ARM))
             .where(F.date_add(F.col(FIRST), window_days) <= F.lit(run_date)))
    day = F.to_date(F.col(S.TS))
    in_window = (day > F.col(FIRST)) & (day <= F.date_add(F.col(FIRST), window_days))
    in_pre = (day >= F.date_sub(F.col(FIRST), pre_days)) & (day < F.col(FIRST))
    bought = (~F.col(S.IS_RETURN)).cast("int")
    inside = (first.join(orders.select(S.USER_ID, S.TS, S.AMOUNT, S.IS_RETURN), S.USER_ID)
              .where(in_window | in_pre))
    per_user = inside.groupBy(S.CAMPAIGN, S.USER_ID).agg(
        F.max(F.when(in_window, bought)).alias("converted"), F.sum(F.when(in_window, F.col(S.AMOUNT))).alias("revenue"),
        F.max(F.when(in_pre, bought)).alias("pre_converted"),
        F.sum(F.when(in_pre, F.col(S.AMOUNT))).alias("pre_revenue"))
    return (first.join(per_user, [S.CAMPAIGN, S.USER_ID], "left")
            .fillna({"converted": 0, "revenue": 0.0, "pre_converted": 0, "pre_revenue": 0.0}))


SUMS = ("n", "conversions", "revenue", "revenue_sq", "pre_conversions", "conv_pre", "pre_revenue", "pre_revenue_sq",
        "revenue_pre")
"""Each arm's sums per completion day: customers, Σ converted, Σ revenue, Σ revenue², Σ pre_converted,
Σ converted·pre_converted, Σ pre_revenue, Σ pre_revenue², Σ revenue·pre_revenue."""


def _sums(per_user):
    y, x, r, q = (F.col(c) for c in ("converted", "pre_converted", "revenue", "pre_revenue"))
    return [F.count(F.lit(1)).alias("n"), F.sum(y).alias("conversions"), F.sum(r).alias("revenue"),
            F.sum(r * r).alias("revenue_sq"), F.sum(x).alias("pre_conversions"), F.sum(y * x).alias("conv_pre"),
            F.sum(q).alias("pre_revenue"), F.sum(q * q).alias("pre_revenue_sq"), F.sum(r * q).alias("revenue_pre")]


def expected_shares(campaign: str, cs, extra: dict[str, float] | None = None) -> tuple[tuple[str, float], ...] | None:
    """(treatment arm, share) the campaign was assigned with (the control arm has the rest): ``extra`` (the
    job's arguments) or ``campaigns.expected_shares`` (one ``treatment`` arm), else its definition's (or a
    ``per_segment`` definition's, for ``<name>-<segment>``), else None (not tested)."""
    for given in (extra or {}, cs.expected_shares):
        if campaign in given:
            return ((S.TREATMENT, given[campaign]),)
    for d in cs.definitions:
        if d.name == campaign or (d.per_segment and campaign.startswith(f"{d.name}-")):
            return d.arm_shares(cs.treatment_share)
    return None


def _moments(a: dict, outcome: str) -> X.Moments:
    if outcome == "conversion":
        return X.Moments.binary(a["n"], a["conversions"], a["pre_conversions"], a["conv_pre"])
    return X.Moments(a["n"], a["revenue"], a["revenue_sq"], a["pre_revenue"], a["pre_revenue_sq"], a["revenue_pre"])


def _sequential(looks: list[tuple[dict, dict]], tau: float, alpha: float) -> tuple[float | None, ...]:
    """(always-valid p, interval low, high) of the conversion lift after the last of ``looks`` (cumulative
    (treatment, control) sums at each completion day, in order)."""
    diff, var = [], []
    for t, c in looks:
        if t["n"] and c["n"]:
            p_t, p_c = t["conversions"] / t["n"], c["conversions"] / c["n"]
            diff.append(p_t - p_c)
            var.append(p_t * (1 - p_t) / t["n"] + p_c * (1 - p_c) / c["n"])
    if not diff:
        return None, None, None
    p, low, high = X.always_valid(np.array(diff), np.array(var), tau * tau, alpha)
    if not np.isfinite(low[-1]):  # no look had any variance
        return None, None, None
    return float(p[-1]), float(low[-1]), float(high[-1])


def results(days: dict[str, dict[str, list[dict]]], window_days: int, cs,
            shares: dict[str, float] | None = None) -> list[dict]:
    """One contract row (less run_date) per campaign and treatment arm, each against the control, from the
    per-arm sums of each completion day: ``days[campaign][arm]`` = [{day, first, last, and :data:`SUMS`}, ...].
    A campaign's arms are those assigned (:func:`expected_shares`) and those recorded; p-values are
    Holm-corrected over them (``p_value_holm``)."""
    out = []
    alpha = cs.alpha
    empty = dict.fromkeys(SUMS, 0) | {"first": None, "last": None}

    def total(rows: list[dict]) -> dict:
        agg = {k: sum(r[k] for r in rows) for k in SUMS}
        firsts, lasts = [r["first"] for r in rows], [r["last"] for r in rows]
        return agg | {"first": min(firsts) if firsts else None, "last": max(lasts) if lasts else None}

    for campaign in sorted(days):
        arms = days[campaign]
        assigned = expected_shares(campaign, cs, shares)
        names = sorted({a for a in arms if a != S.CONTROL} | {a for a, _ in assigned or ()}) or [S.TREATMENT]
        totals = {a: total(arms[a]) if a in arms else dict(empty) for a in [*names, S.CONTROL]}
        c = totals[S.CONTROL]
        srm, share_of = None, dict(assigned or ())
        if assigned is not None and set(names) == set(share_of) and sum(share_of.values()) < 1:
            srm = X.sample_ratio([totals[a]["n"] for a in [*names, S.CONTROL]],
                                 [*[share_of[a] for a in names], 1 - sum(share_of.values())])
        failed = None if srm is None or srm.p_value is None else srm.p_value < cs.srm_alpha
        rows = [_compare(campaign, arm, totals[arm], c, arms, window_days, cs, empty) for arm in names]
        holm = X.holm([r["p_value"] for r in rows])
        for r, adjusted in zip(rows, holm, strict=True):
            r.update({"arm": r["arm"], "p_value_holm": adjusted,
                      "significant": (adjusted < alpha and not failed) if adjusted is not None else None,
                      "expected_treatment_share": share_of.get(r["arm"]),
                      "srm_chi2": srm.chi2 if srm else None, "srm_p_value": srm.p_value if srm else None,
                      "srm_failed": failed})
        out += rows
    return out


def _compare(campaign: str, arm: str, t: dict, c: dict, arms: dict, window_days: int, cs, empty: dict) -> dict:
    """The readout of treatment arm ``arm`` (totals ``t``) against the control (``c``)."""
    alpha = cs.alpha
    p = X.two_proportions(t["conversions"], t["n"], c["conversions"], c["n"], alpha)
    rpu_t = t["revenue"] / t["n"] if t["n"] else None
    rpu_c = c["revenue"] / c["n"] if c["n"] else None
    conv, rev = (X.cuped(_moments(t, o), _moments(c, o), alpha) for o in ("conversion", "revenue"))
    by_day: dict = {}
    for a in (arm, S.CONTROL):
        for r in arms.get(a, []):
            by_day.setdefault(r["day"], {})[a] = r
    looks, run_t, run_c = [], dict(empty), dict(empty)
    for d in sorted(by_day):
        run_t = {k: run_t[k] + by_day[d].get(arm, empty)[k] for k in SUMS}
        run_c = {k: run_c[k] + by_day[d].get(S.CONTROL, empty)[k] for k in SUMS}
        looks.append((run_t, run_c))
    seq_p, seq_low, seq_high = _sequential(looks, cs.sequential_tau, alpha)
    return {
        S.CAMPAIGN: campaign, "arm": arm, "window_days": window_days,
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
        "cuped_theta": conv.theta, "cuped_abs_lift": conv.lift, "cuped_ci_low": conv.ci_low,
        "cuped_ci_high": conv.ci_high, "cuped_p_value": conv.p_value,
        "cuped_variance_reduction": conv.variance_reduction,
        "cuped_revenue_lift_per_user": rev.lift, "cuped_revenue_p_value": rev.p_value,
        "cuped_revenue_variance_reduction": rev.variance_reduction,
        "sequential_p_value": seq_p, "sequential_ci_low": seq_low, "sequential_ci_high": seq_high,
        "looks": len(looks),
    }


def _label(row: dict) -> str:
    """The campaign, and the arm of an A/B/n campaign."""
    return row[S.CAMPAIGN] if row["arm"] == S.TREATMENT else f"{row[S.CAMPAIGN]}/{row['arm']}"


@dataclass(frozen=True)
class Args:
    campaigns: tuple[str, ...] = ()
    """Campaigns to analyse (``--campaign``, repeatable); empty: every one with a complete window."""
    expected_shares: tuple[tuple[str, float], ...] = ()
    """(campaign, treatment share) for the sample-ratio check of a two-arm campaign, besides
    ``campaigns.expected_shares``."""


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
    per_user = outcomes(history, wh.read("orders"), run_date, cs.window_days, cs.pre_period_days)
    aggregated = per_user.groupBy(S.CAMPAIGN, S.ARM, F.date_add(F.col(FIRST), cs.window_days).alias("day")).agg(
        *_sums(per_user), F.min(FIRST).alias("first"), F.max(FIRST).alias("last")).collect()  # campaigns x arms x days
    days: dict[str, dict[str, list[dict]]] = {}
    for r in aggregated:
        days.setdefault(r[S.CAMPAIGN], {}).setdefault(r[S.ARM], []).append(r.asDict())
    rows = results(days, cs.window_days, cs, dict(args.expected_shares))
    df = spark.createDataFrame(rows, schema=RESULT_FIELDS)
    summary.rows_out = wh.replace_partition(df, "experiment_results", run_date)
    summary.rows_in = sum(r["n"] for r in aggregated)
    for row in rows:
        if row["srm_failed"]:
            log.warning("%s: sample ratio mismatch: %d in %s and %d in control where %.0f%% were assigned to %s "
                        "(chi-square p = %.2g < campaigns.srm_alpha): the lift is not reported as significant; "
                        "look for what dropped or added customers in one arm", row[S.CAMPAIGN], row["n_treatment"],
                        row["arm"], row["n_control"], 100 * (row["expected_treatment_share"] or 0), row["arm"],
                        row["srm_p_value"])
    for row in rows:
        summary.metrics[f"{_label(row)}.abs_lift"] = row["abs_lift"] if row["abs_lift"] is not None else 0.0
        if row["p_value"] is not None:
            summary.metrics[f"{_label(row)}.p_value"] = row["p_value"]
        log.info("%s/%s: treatment %d/%d, control %d/%d, lift %s, p %s; CUPED lift %s (variance -%s); always-valid "
                 "p %s", row[S.CAMPAIGN], row["arm"], row["conversions_treatment"], row["n_treatment"],
                 row["conversions_control"], row["n_control"], row["abs_lift"], row["p_value"], row["cuped_abs_lift"],
                 row["cuped_variance_reduction"], row["sequential_p_value"])
    if not rows:
        log.warning("no campaign has a complete %d-day window on %s", cs.window_days, run_date)
    return summary
