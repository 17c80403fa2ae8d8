"""``tailor plan-experiment``: the run date's ``campaign_audiences`` + silver ``orders`` -> ``experiment_plans``
(run_date): what an experiment on each campaign can detect, before anything is sent.

For each campaign (``--campaign``, or every campaign in the run date's audiences), with W =
``campaigns.window_days`` and R the run date:

- the audience and its arms are the run date's ``campaign_audiences`` (every arm but ``control`` counts as
  treated, so an A/B/n campaign is planned as all its arms against the control);
- the base rate and the revenue per customer are the audience's own history in the last window (R - W, R]:
  the share who bought, and the mean and standard deviation of their net revenue there;
- CUPED's expected variance reduction is ρ², the squared correlation between that window and the
  ``campaigns.pre_period_days`` before it, per outcome (what CUPED would remove, were the experiment run now);
- the minimum detectable effect (absolute, and relative to the base) at ``campaigns.alpha`` (two-sided) and
  ``campaigns.power``, for conversion and for revenue per customer, without and with CUPED
  (:func:`tailor.campaigns.experiment.minimum_detectable_effect`);
- with ``--target-lift L`` (relative, 0.1 = +10 %), the audience each would need
  (:func:`tailor.campaigns.experiment.sample_size`) at the campaign's treatment share.

The numbers are also printed, one line per campaign. The run date's partition is replaced.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import date, timedelta

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import StructType

from tailor import schemas as S
from tailor.asof import before_cutoff, cutoff
from tailor.campaigns import experiment as X
from tailor.config import Config, warehouse
from tailor.errors import MissingTableError
from tailor.jobs.base import JobSummary

log = logging.getLogger(__name__)

READS: frozenset[str] = frozenset({"campaign_audiences", "orders"})
WRITES: frozenset[str] = frozenset({"experiment_plans"})
FIELDS = StructType([f for f in S.EXPERIMENT_PLANS.fields if f.name != S.RUN_DATE])


@dataclass(frozen=True)
class Args:
    campaigns: tuple[str, ...] = ()
    """Campaigns to plan (``--campaign``, repeatable); empty: every campaign in the run date's audiences."""
    target_lift: float | None = None
    """A relative lift to size the audience for (``--target-lift``, 0.1 = +10 %); None: no sizing."""


def _history(orders, audience, run_date: date, window_days: int, pre_days: int):
    """Per audience customer: y (bought in (R - W, R]), r (net revenue there), and the same over the
    ``pre_days`` before the window: x and q."""
    start = run_date - timedelta(days=window_days)
    pre_start = start - timedelta(days=pre_days)
    ts = F.col(S.TS)
    window = (ts >= F.lit(cutoff(start))) & before_cutoff(run_date)
    pre = (ts >= F.lit(cutoff(pre_start))) & (ts < F.lit(cutoff(start)))
    bought = (~F.col(S.IS_RETURN)).cast("int")
    per_user = orders.where(window | pre).groupBy(S.USER_ID).agg(
        F.max(F.when(window, bought)).alias("y"), F.sum(F.when(window, F.col(S.AMOUNT))).alias("r"),
        F.max(F.when(pre, bought)).alias("x"), F.sum(F.when(pre, F.col(S.AMOUNT))).alias("q"))
    return audience.join(per_user, S.USER_ID, "left").fillna({"y": 0, "r": 0.0, "x": 0, "q": 0.0})


def _sums():
    y, r, x, q = (F.col(c) for c in ("y", "r", "x", "q"))
    return [F.count(F.lit(1)).alias("n"), F.sum((F.col(S.ARM) != S.CONTROL).cast("int")).alias("n_t"),
            F.sum(y).alias("sy"), F.sum(x).alias("sx"), F.sum(x * y).alias("sxy"),
            F.sum(r).alias("sr"), F.sum(r * r).alias("srr"), F.sum(q).alias("sq"), F.sum(q * q).alias("sqq"),
            F.sum(r * q).alias("srq")]


def _rho2(m: X.Moments) -> float:
    """The squared correlation of x and y (0 without variance in either)."""
    if m.n < 2:
        return 0.0
    vx, vy = m.var_x(), m.var_y()
    return m.cov() ** 2 / (vx * vy) if vx > 0 and vy > 0 else 0.0


def plan(a: dict, window_days: int, alpha: float, power: float, target_lift: float | None) -> dict:
    """One contract row (less campaign and run_date) from the audience's sums (:func:`_sums`)."""
    n, n_t = int(a["n"]), int(a["n_t"])
    n_c = n - n_t
    conv = X.Moments.binary(n, a["sy"], a["sx"], a["sxy"])
    rev = X.Moments(n, a["sr"], a["srr"], a["sq"], a["sqq"], a["srq"])
    base = conv.sy / n if n else None
    per_user = rev.sy / n if n else None
    var_conv = base * (1 - base) if base is not None else None
    var_rev = rev.var_y() if n > 1 else None
    rho_conv, rho_rev = _rho2(conv), _rho2(rev)
    share = n_t / n if n else None

    def mde(variance, reduction):
        return (X.minimum_detectable_effect(variance, n_t, n_c, alpha, power, reduction)
                if variance is not None else None)

    def needed(variance, mean, reduction):
        if target_lift is None or variance is None or not mean or share is None:
            return None
        return X.sample_size(variance, mean * target_lift, share, alpha, power, reduction)

    mde_conv = mde(var_conv, 0.0)
    return {
        "audience": n, "n_treatment": n_t, "n_control": n_c, "treatment_share": share,
        "window_days": window_days, "alpha": alpha, "power": power,
        "base_rate": base, "mde_conversion": mde_conv,
        "mde_conversion_relative": mde_conv / base if mde_conv is not None and base else None,
        "cuped_reduction_conversion": rho_conv, "mde_conversion_cuped": mde(var_conv, rho_conv),
        "revenue_per_user": per_user, "revenue_sd": math.sqrt(var_rev) if var_rev is not None else None,
        "mde_revenue": mde(var_rev, 0.0), "cuped_reduction_revenue": rho_rev,
        "mde_revenue_cuped": mde(var_rev, rho_rev), "target_lift": target_lift,
        "needed_conversion": needed(var_conv, base, 0.0), "needed_conversion_cuped": needed(var_conv, base, rho_conv),
        "needed_revenue": needed(var_rev, per_user, 0.0), "needed_revenue_cuped": needed(var_rev, per_user, rho_rev),
    }


def run(spark: SparkSession, cfg: Config, run_date: date, args: Args) -> JobSummary:
    wh = warehouse(spark, cfg)
    cs = cfg.campaigns
    audiences = wh.read_run("campaign_audiences", run_date).select(S.CAMPAIGN, S.USER_ID, S.ARM)
    if args.campaigns:
        audiences = audiences.where(F.col(S.CAMPAIGN).isin(list(args.campaigns)))
    history = _history(wh.read("orders"), audiences, run_date, cs.window_days, cs.pre_period_days)
    sums = {r[S.CAMPAIGN]: r.asDict() for r in history.groupBy(S.CAMPAIGN).agg(*_sums()).collect()}  # campaigns
    missing = sorted(set(args.campaigns) - set(sums))
    if missing or not sums:
        raise MissingTableError(f"campaign_audiences has no audience on {run_date} for "
                                f"{missing or 'any campaign'}: run `tailor campaign` for that date first")
    rows = [{S.CAMPAIGN: c, **plan(sums[c], cs.window_days, cs.alpha, cs.power, args.target_lift)}
            for c in sorted(sums)]
    summary = JobSummary(tables=["experiment_plans"], rows_in=sum(int(s["n"]) for s in sums.values()))
    summary.rows_out = wh.replace_partition(spark.createDataFrame(rows, schema=FIELDS), "experiment_plans",
                                            run_date)
    for r in rows:
        print(describe(r), flush=True)
        summary.metrics[f"{r[S.CAMPAIGN]}.mde_conversion"] = r["mde_conversion"] or 0.0
    return summary


def _pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.2f} points"


def describe(r: dict) -> str:
    """One campaign's plan in words."""
    text = (f"{r[S.CAMPAIGN]}: {r['n_treatment']:,} treated and {r['n_control']:,} control; base rate "
            f"{_pct(r['base_rate'])} over {r['window_days']} days; at alpha {r['alpha']} and power {r['power']} the "
            f"smallest detectable conversion lift is {_pct(r['mde_conversion'])}")
    if r["mde_conversion_relative"] is not None:
        text += f" ({100 * r['mde_conversion_relative']:.0f}% relative)"
    text += f", {_pct(r['mde_conversion_cuped'])} with CUPED (variance -{100 * r['cuped_reduction_conversion']:.0f}%)"
    if r["mde_revenue"] is not None:
        text += (f"; revenue per customer {r['revenue_per_user']:.2f}: {r['mde_revenue']:.2f}, "
                 f"{r['mde_revenue_cuped']:.2f} with CUPED")
    if r["target_lift"] is not None:
        text += (f"; for a {100 * r['target_lift']:.0f}% lift: {r['needed_conversion'] or 'n/a'} customers "
                 f"({r['needed_conversion_cuped'] or 'n/a'} with CUPED) on conversion, "
                 f"{r['needed_revenue'] or 'n/a'} ({r['needed_revenue_cuped'] or 'n/a'}) on revenue")
    return text
