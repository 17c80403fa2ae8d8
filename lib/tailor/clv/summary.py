"""The buy-till-you-die summary in Spark, and scoring it with fitted parameters (:mod:`tailor.clv.btyd`).

A transaction is a purchase day: a customer's purchase lines (returns left out) are summed per calendar day,
as ``lifetimes``' ``summary_data_from_transaction_data`` does, so two orders on one day are one purchase.
The summary of each customer as of a date (inclusive):

* ``frequency``: purchase days after the first; ``recency_days``: first to last purchase day;
  ``tenure_days``: first purchase day to the as-of date;
* ``monetary``: the mean value of the repeat purchase days (the first is left out, as Gamma-Gamma
  prescribes: it is what brought the customer in), null without one.

The fits read :func:`timing_groups` and :func:`value_groups`: one row per distinct summary and its customer
count. Whole days bound the first by the calendar; the second rounds ``monetary`` to cents.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, IntegerType, StringType, StructField, StructType

from tailor import schemas as S
from tailor.clv import btyd as B

DAY = "day"
VALUE = "value"
RECENCY_DAYS, TENURE_DAYS = "recency_days", "tenure_days"
CUSTOMERS = "customers"
DAYS_PER = {"days": 1.0, "weeks": 7.0}
"""Days in each ``clv.time_unit``."""


def purchase_days(purchases: DataFrame) -> DataFrame:
    """user_id, day, value: each customer's purchase days with the day's total ``amount`` (purchase lines:
    user_id, ts, amount; returns already left out)."""
    return purchases.groupBy(S.USER_ID, F.to_date(S.TS).alias(DAY)).agg(F.sum(S.AMOUNT).alias(VALUE))


def summarise(days: DataFrame, as_of: date, days_per_unit: float) -> DataFrame:
    """user_id, frequency, recency_days, tenure_days, recency, tenure (in units of ``days_per_unit`` days),
    monetary: the summary of every customer with a purchase day on or before ``as_of``."""
    upto = days.where(F.col(DAY) <= F.lit(as_of))
    per = upto.groupBy(S.USER_ID).agg(
        F.min(DAY).alias("_first"), F.max(DAY).alias("_last"), F.count(F.lit(1)).alias("_n"),
        F.sum(VALUE).alias("_total"), F.min_by(VALUE, DAY).alias("_first_value"))
    repeat = F.col("_n") - 1
    return per.select(
        S.USER_ID,
        repeat.cast("int").alias("frequency"),
        F.datediff("_last", "_first").alias(RECENCY_DAYS),
        F.datediff(F.lit(as_of), "_first").alias(TENURE_DAYS),
        (F.datediff("_last", "_first") / F.lit(days_per_unit)).alias("recency"),
        (F.datediff(F.lit(as_of), "_first") / F.lit(days_per_unit)).alias("tenure"),
        F.when(repeat > 0, (F.col("_total") - F.col("_first_value")) / repeat).alias("monetary"),
    )


def timing_groups(summary: DataFrame) -> DataFrame:
    """frequency, recency_days, tenure_days, customers: BG/NBD's input, one row per distinct summary."""
    return summary.groupBy("frequency", RECENCY_DAYS, TENURE_DAYS).agg(F.count(F.lit(1)).alias(CUSTOMERS))


def value_groups(summary: DataFrame) -> DataFrame:
    """frequency, monetary (to the cent), customers: Gamma-Gamma's input, the repeat buyers with a positive
    mean value."""
    m = F.round("monetary", 2)
    return (summary.where((F.col("frequency") > 0) & (m > 0))
            .groupBy("frequency", m.alias("monetary")).agg(F.count(F.lit(1)).alias(CUSTOMERS)))


def _expected_column(h: int) -> str:
    return f"_expected_{h}"


def score(summary: DataFrame, bgnbd: dict[str, float], gamma_gamma: dict[str, float] | None,
          horizons_days: list[int], days_per_unit: float, months: int, month_days: float,
          monthly_discount: float) -> DataFrame:
    """The summary with p_alive, expected_purchases (horizon days -> expected purchase days),
    days_to_next_purchase, expected_order_value and clv (null without ``gamma_gamma``), computed in each
    partition with the fitted parameters (scipy's ₂F₁ has no Spark counterpart)."""
    fields = [StructField(S.USER_ID, StringType(), False), StructField("frequency", IntegerType(), False),
              StructField("recency", DoubleType(), False), StructField("tenure", DoubleType(), False),
              StructField("monetary", DoubleType(), True), StructField("p_alive", DoubleType(), False),
              *[StructField(_expected_column(h), DoubleType(), False) for h in horizons_days],
              StructField("days_to_next_purchase", DoubleType(), False),
              StructField("expected_order_value", DoubleType(), True), StructField("clv", DoubleType(), True)]

    def scored(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for b in batches:
            x, t_x, T = b["frequency"].to_numpy(float), b["recency"].to_numpy(float), b["tenure"].to_numpy(float)
            out = b[[S.USER_ID, "frequency", "recency", "tenure", "monetary"]].copy()
            out["p_alive"] = B.p_alive(bgnbd, x, t_x, T)
            for h in horizons_days:
                out[_expected_column(h)] = B.expected_purchases(bgnbd, h / days_per_unit, x, t_x, T)
            out["days_to_next_purchase"] = B.median_time_to_next(bgnbd, x, T) * days_per_unit
            if gamma_gamma is None:
                out["expected_order_value"] = np.nan
                out["clv"] = np.nan
            else:
                value = B.expected_order_value(gamma_gamma, x, b["monetary"].to_numpy(float))
                out["expected_order_value"] = value
                out["clv"] = B.lifetime_value(bgnbd, value, x, t_x, T, months, monthly_discount,
                                              month_days / days_per_unit)
            yield out

    cols = summary.select(S.USER_ID, "frequency", "recency", "tenure", "monetary")
    raw = cols.mapInPandas(scored, StructType(fields))
    expected = F.create_map(*[c for h in horizons_days for c in (F.lit(h), F.col(_expected_column(h)))])
    return raw.select(
        S.USER_ID, "frequency", "recency", "tenure", "monetary", "p_alive",
        expected.alias("expected_purchases"), "days_to_next_purchase",
        F.nanvl("expected_order_value", F.lit(None)).alias("expected_order_value"),
        F.nanvl("clv", F.lit(None)).alias("clv"),
    )


def p_alive(summary: DataFrame, bgnbd: dict[str, float]) -> DataFrame:
    """user_id, p_alive of each customer of ``summary`` under the fitted ``bgnbd``."""
    def scored(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for b in batches:
            yield pd.DataFrame({S.USER_ID: b[S.USER_ID], "p_alive": B.p_alive(
                bgnbd, b["frequency"].to_numpy(float), b["recency"].to_numpy(float), b["tenure"].to_numpy(float))})

    return summary.select(S.USER_ID, "frequency", "recency", "tenure").mapInPandas(
        scored, "user_id string, p_alive double")


def deciles(values: Column, thresholds: list[float]) -> Column:
    """1 for the top tenth of ``values`` ... 10 for the bottom, from the nine thresholds at the 90th, 80th, ...
    10th percentile (null stays null)."""
    below = sum((F.when(values < F.lit(t), 1).otherwise(0) for t in thresholds), F.lit(0))
    return F.when(values.isNotNull(), (F.lit(1) + below).cast("int"))


def holdout(cal: DataFrame, days: DataFrame, calibration_end: date, end: date, bgnbd: dict[str, float],
            days_per_unit: float, top_bucket: int = 7) -> DataFrame:
    """bucket (calibration repeat purchases, ``top_bucket`` for that many or more), customers, predicted,
    actual: the mean predicted and actual repeat purchase days in (calibration_end, end] of the customers of
    ``cal`` (:func:`summarise` of ``days`` as of calibration_end), with parameters fitted on it."""
    later = days.where((F.col(DAY) > F.lit(calibration_end)) & (F.col(DAY) <= F.lit(end)))
    actual = later.groupBy(S.USER_ID).agg(F.count(F.lit(1)).alias("actual"))
    span = (end - calibration_end).days / days_per_unit

    def predicted(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for b in batches:
            x, t_x, T = b["frequency"].to_numpy(float), b["recency"].to_numpy(float), b["tenure"].to_numpy(float)
            yield pd.DataFrame({"frequency": b["frequency"], "actual": b["actual"],
                                "predicted": B.expected_purchases(bgnbd, span, x, t_x, T)})

    joined = cal.join(actual, S.USER_ID, "left").select(
        "frequency", "recency", "tenure", F.coalesce("actual", F.lit(0)).cast("long").alias("actual"))
    pred = joined.mapInPandas(predicted, "frequency int, actual long, predicted double")
    return pred.groupBy(F.least("frequency", F.lit(top_bucket)).alias("bucket")).agg(
        F.count(F.lit(1)).alias(CUSTOMERS), F.avg("predicted").alias("predicted"),
        F.avg("actual").alias("actual"))
