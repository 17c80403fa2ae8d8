"""Point-in-time training rows: features as of a cutoff T, labels from the horizon after it.

With days as the unit and "at or before T" meaning before the end of day T (UTC):

- features come from :func:`tailor.features.profile.user_features` and
  :func:`tailor.propensity.timing.timing_features` as of T: nothing after T is read;
- ``purchase`` = 1 when the customer has a purchase line in (T, T + H];
- ``active`` = 1 when the customer has a purchase line in (T - L, T];
- ``churn`` = 1 when active and no purchase in (T, T + H]; null when not active (the churn model is
  trained and judged on active customers only).

H is ``propensity.horizon_days`` and L ``propensity.lookback_days``. A label at T needs data up to T + H,
so training cutoffs are always at least H days before the date the model scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.asof import cutoff
from tailor.features.profile import user_features
from tailor.propensity.timing import COLUMNS as TIMING_COLUMNS
from tailor.propensity.timing import timing_features

PURCHASE, CHURN, ACTIVE = "purchase", "churn", "active"
LABEL = "label"
TARGETS = (PURCHASE, CHURN)


def _bought_between(orders: DataFrame, start: date, end: date, name: str) -> DataFrame:
    """user_id, ``name`` = 1 for customers with a purchase line after the end of ``start`` and at or before
    the end of ``end``."""
    return orders.where(
        ~F.col(S.IS_RETURN) & (F.col(S.TS) >= F.lit(cutoff(start))) & (F.col(S.TS) < F.lit(cutoff(end)))
    ).select(S.USER_ID).distinct().withColumn(name, F.lit(1))


def labels(orders: DataFrame, as_of: date, horizon_days: int, lookback_days: int) -> DataFrame:
    """user_id, purchase, active, churn for every customer with an order line (others are 0/0/null)."""
    bought = _bought_between(orders, as_of, as_of + timedelta(days=horizon_days), PURCHASE)
    active = _bought_between(orders, as_of - timedelta(days=lookback_days), as_of, ACTIVE)
    return bought.join(active, S.USER_ID, "full").select(
        S.USER_ID,
        F.coalesce(PURCHASE, F.lit(0)).alias(PURCHASE),
        F.coalesce(ACTIVE, F.lit(0)).alias(ACTIVE),
        F.when(F.col(ACTIVE) == 1, F.when(F.col(PURCHASE) == 1, 0).otherwise(1)).alias(CHURN),
    )


@dataclass(frozen=True)
class Timing:
    """How the purchase-timing features are fitted (:mod:`tailor.propensity.timing`): BG/NBD in units of
    ``days_per_unit`` days, from at most ``max_groups`` distinct summaries."""

    days_per_unit: float = 7.0
    max_groups: int = 5_000_000
    enabled: bool = True
    """False: the timing columns are left out (and BG/NBD not fitted), as when no model uses them."""


def features(orders: DataFrame, events: DataFrame, products: DataFrame, customers: DataFrame, as_of: date,
             horizon_days: int, trend_days: int, timing: Timing) -> DataFrame:
    """Every customer known at ``as_of`` with the profile of :func:`tailor.features.profile.user_features`
    and the purchase-timing features of :func:`tailor.propensity.timing.timing_features`, all as of
    ``as_of``: what a model learns from at a training cutoff and scores with on the run date."""
    before = F.col(S.TS) < F.lit(cutoff(as_of))
    orders_then = orders.where(before)
    feats = user_features(orders_then, events.where(before), products, customers, as_of=as_of,
                          trend_days=trend_days)
    if not timing.enabled:
        return feats
    timed = timing_features(orders_then, as_of, horizon_days, timing.days_per_unit, timing.max_groups)
    return feats.join(timed, S.USER_ID, "left").select(
        feats["*"], *[F.col(c) for c in TIMING_COLUMNS if c != "bought_same_window_last_year"],
        F.coalesce("bought_same_window_last_year", F.lit(0)).alias("bought_same_window_last_year"))


def training_rows(orders: DataFrame, events: DataFrame, products: DataFrame, customers: DataFrame,
                  as_of: date, horizon_days: int, lookback_days: int, trend_days: int,
                  timing: Timing = Timing()) -> DataFrame:
    """The customers' :func:`features` as of ``as_of`` with their labels; every customer known at ``as_of``."""
    feats = features(orders, events, products, customers, as_of, horizon_days, trend_days, timing)
    lab = labels(orders, as_of, horizon_days, lookback_days)
    return feats.join(lab, S.USER_ID, "left").select(
        feats["*"], F.coalesce(PURCHASE, F.lit(0)).alias(PURCHASE), F.coalesce(ACTIVE, F.lit(0)).alias(ACTIVE),
        F.col(CHURN),
    )


def for_target(rows: DataFrame, target: str) -> DataFrame:
    """The rows a model of ``target`` learns from, with ``label`` (double): every customer for purchase,
    the active ones for churn."""
    if target == PURCHASE:
        return rows.withColumn(LABEL, F.col(PURCHASE).cast("double"))
    if target == CHURN:
        return rows.where(F.col(ACTIVE) == 1).withColumn(LABEL, F.col(CHURN).cast("double"))
    raise ValueError(f"unknown target {target!r}: {TARGETS}")
