"""Point-in-time user profiles: one row per customer, from data at or before a cutoff date.

Definitions (``as_of`` is a date; "before the cutoff" means a timestamp before the end of that day, UTC):

- the population: customers who signed up on or before ``as_of``, and anyone with an event before the cutoff
  (a customer with no sign-up date and no activity is left out: there is nothing to profile);
- ``tenure_days``: days from the earlier of sign-up and first event to ``as_of``;
- ``frequency``: orders with at least one purchased line; ``recency_days``: days from the last such order
  to ``as_of`` (null without one);
- ``monetary_total``: net spend, purchases minus returns; ``avg_order_value``: gross purchase value per order;
- ``purchases_per_30d``: orders per 30 days of tenure, tenure counted as at least 30 days, so that a
  one-day-old customer with one order is not scored at 30 a month;
- ``mean_days_between_purchases``: (last order - first order) / (orders - 1), null under two orders;
- ``distinct_items`` / ``distinct_categories``: among purchased lines;
- ``top_category`` and ``top_category_share`` / ``top3_category_share``: the share of gross spend in the
  customer's largest one and three categories (ties broken by category name);
- ``return_rate``: return lines / all order lines (a customer with only returns has 1.0);
- ``spend_recent`` / ``spend_prior``: gross spend in the last ``trend_days`` days and the ``trend_days``
  before; ``spend_trend`` = (recent - prior) / (recent + prior), in [-1, 1], 0 when both are 0;
- ``sessions``, ``views``, ``carts``: from events (0 where a source has no browsing data);
  ``avg_session_minutes``: mean of (last - first view, cart or purchase) per session (returns and ratings
  that a source files under the session come days later and are left out); ``view_to_purchase``: the share of
  sessions with a view that also have a purchase (null without a viewed session).

Every fractional feature (the shares, rates, trend, ``purchases_per_30d``, ``mean_days_between_purchases``
and ``avg_session_minutes``) is rounded to :data:`DECIMALS` places, and money to 4. Sums of doubles depend on
the order Spark merges partial sums in, which changes with the shuffle partitions and the cluster; unrounded,
``avg_session_minutes`` and ``spend_trend`` then differ in their last bit between runs with other settings,
and a gradient-boosted model trained on them picks other splits (with its rows' partitions, uplift scores on
the S shop moved by up to 0.2 between 2 and 5 shuffle partitions). So money and minutes are summed exactly, in
DECIMAL(38, 18) (:func:`_sum`), and then rounded: the profile is the same everywhere.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.asof import before_cutoff

UNKNOWN_CATEGORY = "unknown"
DECIMALS = 6
"""Places the fractional features are rounded to (see the module docstring)."""


def _days_to(as_of: date, ts: Column) -> Column:
    return F.datediff(F.lit(as_of), F.to_date(ts))


def _fraction(c: Column) -> Column:
    return F.round(c, DECIMALS)


def _sum(c: Column | str) -> Column:
    """The sum of a double column, added up in DECIMAL(38, 18) and returned as a double: exact, so the same
    whatever order Spark merges partial sums in (a double sum's last bits follow the shuffle layout, and money
    divided by a small count often lands on a rounding boundary: 20 of the M shop's 100,000 average order
    values moved by 0.0001 with adaptive query execution on or off)."""
    col = F.col(c) if isinstance(c, str) else c
    return F.sum(col.cast("decimal(38,18)")).cast("double")


def _ratio(num: Column, den: Column) -> Column:
    return F.when(den > 0, num.cast("double") / den)


def _orders_part(lines: DataFrame, as_of: date, trend_days: int) -> DataFrame:
    bought = lines.where(~F.col(S.IS_RETURN))
    per_order = bought.groupBy(S.USER_ID, S.ORDER_ID).agg(
        F.min(S.TS).alias("order_ts"), _sum(S.AMOUNT).alias("order_value")
    )
    age = _days_to(as_of, F.col("order_ts"))
    return per_order.groupBy(S.USER_ID).agg(
        F.count(F.lit(1)).cast("int").alias("frequency"),
        _sum("order_value").alias("gross"),
        F.min("order_ts").alias("first_order_ts"),
        F.max("order_ts").alias("last_order_ts"),
        _sum(F.when(age < trend_days, F.col("order_value")).otherwise(0.0)).alias("spend_recent"),
        _sum(F.when((age >= trend_days) & (age < 2 * trend_days), F.col("order_value")).otherwise(0.0))
        .alias("spend_prior"),
    )


def _lines_part(lines: DataFrame) -> DataFrame:
    bought = ~F.col(S.IS_RETURN)
    return lines.groupBy(S.USER_ID).agg(
        _sum(S.AMOUNT).alias("net"),
        F.count(F.lit(1)).alias("n_lines"),
        F.count(F.when(F.col(S.IS_RETURN), 1)).alias("n_return_lines"),
        F.countDistinct(F.when(bought, F.col(S.ITEM_ID))).cast("int").alias("distinct_items"),
        F.countDistinct(F.when(bought, F.col(S.CATEGORY))).cast("int").alias("distinct_categories"),
    )


def _category_part(lines: DataFrame) -> DataFrame:
    spend = (
        lines.where(~F.col(S.IS_RETURN))
        .groupBy(S.USER_ID, S.CATEGORY)
        .agg(_sum(S.AMOUNT).alias("spend"))
    )
    w = Window.partitionBy(S.USER_ID).orderBy(F.desc("spend"), F.asc(S.CATEGORY))
    ranked = spend.withColumn("r", F.row_number().over(w))
    return ranked.groupBy(S.USER_ID).agg(
        F.max(F.when(F.col("r") == 1, F.col(S.CATEGORY))).alias("top_category"),
        _ratio(_sum(F.when(F.col("r") == 1, F.col("spend")).otherwise(0.0)), _sum("spend"))
        .alias("top_category_share"),
        _ratio(_sum(F.when(F.col("r") <= 3, F.col("spend")).otherwise(0.0)), _sum("spend"))
        .alias("top3_category_share"),
    )


def _browsing_part(events: DataFrame) -> DataFrame:
    etype = F.col(S.EVENT_TYPE)
    per_session = (
        events.where(F.col(S.SESSION_ID).isNotNull() & etype.isin(S.VIEW, S.CART, S.PURCHASE))
        .groupBy(S.USER_ID, S.SESSION_ID)
        .agg(
            ((F.max(S.TS).cast("long") - F.min(S.TS).cast("long")) / 60.0).alias("minutes"),
            F.max((etype == S.VIEW).cast("int")).alias("has_view"),
            F.max((etype == S.PURCHASE).cast("int")).alias("has_purchase"),
        )
        .groupBy(S.USER_ID)
        .agg(
            F.count(F.lit(1)).cast("int").alias("sessions"),
            (_sum("minutes") / F.count(F.lit(1))).alias("avg_session_minutes"),
            F.sum("has_view").alias("viewed_sessions"),
            F.sum(F.col("has_view") * F.col("has_purchase")).alias("converted_sessions"),
        )
    )
    counts = events.groupBy(S.USER_ID).agg(
        F.min(S.TS).alias("first_event_ts"),
        F.count(F.when(etype == S.VIEW, 1)).cast("int").alias("views"),
        F.count(F.when(etype == S.CART, 1)).cast("int").alias("carts"),
    )
    return counts.join(per_session, S.USER_ID, "left")


def user_features(
    orders: DataFrame,
    events: DataFrame,
    products: DataFrame,
    customers: DataFrame,
    as_of: date,
    trend_days: int = 30,
) -> DataFrame:
    """One row per customer, computed only from data at or before ``as_of`` (see the module docstring).

    Args:
        orders: silver ``orders``.
        events: silver ``events``.
        products: silver ``products`` (for categories; unknown items count as category "unknown").
        customers: silver ``customers``.
        as_of: the cutoff date.
        trend_days: the window of the spend trend.

    Returns:
        The ``user_features`` columns, without the RFM scores and run_date.
    """
    ev = events.where(before_cutoff(as_of)).select(S.USER_ID, S.ITEM_ID, S.EVENT_TYPE, S.TS, S.SESSION_ID)
    cats = products.select(F.col(S.PRODUCT_ID).alias(S.ITEM_ID), S.CATEGORY)
    lines = (
        orders.where(before_cutoff(as_of))
        .select(S.USER_ID, S.ORDER_ID, S.ITEM_ID, S.TS, S.AMOUNT, S.IS_RETURN)
        .join(F.broadcast(cats), S.ITEM_ID, "left")
        .withColumn(S.CATEGORY, F.coalesce(F.col(S.CATEGORY), F.lit(UNKNOWN_CATEGORY)))
    )
    known = customers.select(F.col(S.CUSTOMER_ID).alias(S.USER_ID), S.SIGNUP_DATE, S.COUNTRY)
    browsing = _browsing_part(ev)
    people = (
        known.join(browsing, S.USER_ID, "full")
        .where((F.col(S.SIGNUP_DATE) <= F.lit(as_of)) | F.col("first_event_ts").isNotNull())
        .join(_orders_part(lines, as_of, trend_days), S.USER_ID, "left")
        .join(_lines_part(lines), S.USER_ID, "left")
        .join(_category_part(lines), S.USER_ID, "left")
    )
    tenure = F.datediff(F.lit(as_of), F.least(F.col(S.SIGNUP_DATE), F.to_date("first_event_ts")))
    freq = F.coalesce(F.col("frequency"), F.lit(0))
    recent = F.coalesce(F.col("spend_recent"), F.lit(0.0))
    prior = F.coalesce(F.col("spend_prior"), F.lit(0.0))
    span_days = (F.col("last_order_ts").cast("long") - F.col("first_order_ts").cast("long")) / 86400.0
    return people.select(
        S.USER_ID,
        S.COUNTRY,
        tenure.cast("int").alias("tenure_days"),
        _days_to(as_of, F.col("last_order_ts")).cast("int").alias("recency_days"),
        freq.cast("int").alias("frequency"),
        F.round(F.coalesce(F.col("net"), F.lit(0.0)), 4).alias("monetary_total"),
        F.round(_ratio(F.col("gross"), freq), 4).alias("avg_order_value"),
        _fraction(freq * 30.0 / F.greatest(tenure, F.lit(30))).alias("purchases_per_30d"),
        _fraction(_ratio(span_days, freq - 1)).alias("mean_days_between_purchases"),
        F.coalesce(F.col("distinct_items"), F.lit(0)).cast("int").alias("distinct_items"),
        F.coalesce(F.col("distinct_categories"), F.lit(0)).cast("int").alias("distinct_categories"),
        "top_category",
        _fraction(F.col("top_category_share")).alias("top_category_share"),
        _fraction(F.col("top3_category_share")).alias("top3_category_share"),
        _fraction(_ratio(F.col("n_return_lines"), F.col("n_lines"))).alias("return_rate"),
        F.round(recent, 4).alias("spend_recent"),
        F.round(prior, 4).alias("spend_prior"),
        _fraction(F.coalesce(_ratio(recent - prior, recent + prior), F.lit(0.0))).alias("spend_trend"),
        F.coalesce(F.col("sessions"), F.lit(0)).cast("int").alias("sessions"),
        F.coalesce(F.col("views"), F.lit(0)).cast("int").alias("views"),
        F.coalesce(F.col("carts"), F.lit(0)).cast("int").alias("carts"),
        _fraction(F.col("avg_session_minutes")).alias("avg_session_minutes"),
        _fraction(_ratio(F.col("converted_sessions"), F.col("viewed_sessions"))).alias("view_to_purchase"),
    )
