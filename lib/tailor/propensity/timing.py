"""Purchase-timing features as of a cutoff T, for the propensity models (one row per customer with a purchase
day on or before T; nothing after T is read):

- ``p_alive``: BG/NBD's probability that the customer is still a customer at T, with the model fitted on the
  summaries as of T (:mod:`tailor.clv`), so each cutoff has its own fit and no later purchase reaches it;
- ``expected_purchases_horizon``: BG/NBD's expected purchase days in (T, T + H], H the propensity horizon;
- ``days_overdue``: days since the last purchase day minus the customer's expected gap between purchases,
  (α + T)/(r + x) time units: the inverse of the posterior mean of their purchase rate, Gamma(r + x, α + T).
  Positive when the next purchase is late; it shrinks a customer with few purchases towards the population;
- ``gap_trend``: ln((g + 1)/(ḡ + 1)) for the last gap g between purchase days and the mean ḡ of the earlier
  gaps, in days (null under three purchase days): positive when the customer is slowing down;
- ``bought_same_window_last_year``: 1 when the customer bought in (T − 365, T − 365 + H] (clipped at T), the
  season the horizon covers, a year earlier; 0 otherwise. A shop with under a year of history before a cutoff
  has 0 for everyone there, and the models learn nothing from it.

When no customer bought on two different days, BG/NBD has nothing to learn from and its three features are
null (the models' imputer, or :func:`tailor.propensity.model.usable_numeric`, deals with that).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import date, timedelta

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.asof import before_cutoff
from tailor.clv import btyd as B
from tailor.clv import fit as clv_fit
from tailor.clv import summary as C
from tailor.errors import NotApplicable

log = logging.getLogger(__name__)

COLUMNS = ("p_alive", "expected_purchases_horizon", "days_overdue", "gap_trend", "bought_same_window_last_year")


def _bgnbd_part(days: DataFrame, as_of: date, horizon_days: int, days_per_unit: float, max_groups: int
                ) -> DataFrame:
    summary = C.summarise(days, as_of, days_per_unit)
    what = f"purchase-timing features as of {as_of}"
    try:
        params = clv_fit.fit_timing(clv_fit.timing_groups(summary, max_groups, what), days_per_unit, what).params
    except NotApplicable as e:
        log.warning("%s; p_alive, expected_purchases_horizon and days_overdue stay null", e)
        params = None

    def scored(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for b in batches:
            x, t_x, T = b["frequency"].to_numpy(float), b["recency"].to_numpy(float), b["tenure"].to_numpy(float)
            out = pd.DataFrame({S.USER_ID: b[S.USER_ID]})
            if params is None:
                out["p_alive"] = out["expected_purchases_horizon"] = out["days_overdue"] = np.nan
            else:
                out["p_alive"] = B.p_alive(params, x, t_x, T)
                out["expected_purchases_horizon"] = B.expected_purchases(params, horizon_days / days_per_unit,
                                                                         x, t_x, T)
                gap = (params["alpha"] + T) / (params["r"] + x)
                out["days_overdue"] = (T - t_x - gap) * days_per_unit
            yield out

    raw = summary.select(S.USER_ID, "frequency", "recency", "tenure").mapInPandas(
        scored, "user_id string, p_alive double, expected_purchases_horizon double, days_overdue double")
    return raw.select(S.USER_ID, *[F.nanvl(c, F.lit(None)).alias(c) for c in
                                   ("p_alive", "expected_purchases_horizon", "days_overdue")])


def _gaps_part(days: DataFrame, as_of: date, horizon_days: int) -> DataFrame:
    upto = days.where(F.col(C.DAY) <= F.lit(as_of))
    season_start = as_of - timedelta(days=365)
    season_end = min(season_start + timedelta(days=horizon_days), as_of)
    in_season = (F.col(C.DAY) > F.lit(season_start)) & (F.col(C.DAY) <= F.lit(season_end))
    per = upto.groupBy(S.USER_ID).agg(
        F.min(C.DAY).alias("_first"), F.max(C.DAY).alias("_last"), F.count(F.lit(1)).alias("_n"),
        F.try_element_at(F.array_sort(F.collect_list(C.DAY)), F.lit(-2)).alias("_before_last"),
        F.max(in_season.cast("int")).alias("bought_same_window_last_year"))
    last_gap = F.datediff("_last", "_before_last")
    earlier_mean = F.datediff("_before_last", "_first") / (F.col("_n") - 2)
    return per.select(
        S.USER_ID,
        F.when(F.col("_n") >= 3, F.log((last_gap + 1) / (earlier_mean + 1))).alias("gap_trend"),
        F.col("bought_same_window_last_year").cast("int").alias("bought_same_window_last_year"))


def timing_features(orders: DataFrame, as_of: date, horizon_days: int, days_per_unit: float,
                    max_groups: int) -> DataFrame:
    """user_id and :data:`COLUMNS` for every customer with a purchase line at or before the end of ``as_of``
    (``orders``: silver orders; returns are left out). Fits BG/NBD once, on the driver, from at most
    ``max_groups`` distinct summaries."""
    purchases = orders.where(~F.col(S.IS_RETURN) & before_cutoff(as_of))
    days = C.purchase_days(purchases)
    return _bgnbd_part(days, as_of, horizon_days, days_per_unit, max_groups).join(
        _gaps_part(days, as_of, horizon_days), S.USER_ID, "full").select(S.USER_ID, *COLUMNS)
