"""User features (tailor.features.profile) on a tiny hand-made shop; every expected value is worked out by hand
below."""

from datetime import date, datetime

import pytest

from tailor import schemas as S
from tailor.features.profile import user_features

AS_OF = date(2024, 3, 31)
T = datetime


def _products(spark):
    rows = [("p1", "A"), ("p2", "B"), ("p3", "C"), ("p4", "A")]
    return spark.createDataFrame(
        [(p, None, None, c, None, 1.0, "t", AS_OF) for p, c in rows], S.PRODUCTS
    )


def _customers(spark, extra=()):
    rows = [
        ("a", date(2024, 1, 1), "UK"),
        ("b", date(2024, 3, 1), "FR"),
        ("c", date(2023, 12, 1), "DE"),
        ("d", date(2024, 4, 10), "UK"),  # signs up after the cutoff, no earlier activity: left out
        ("e", None, "UK"),  # no sign-up date and no activity: nothing to profile
        *extra,
    ]
    return spark.createDataFrame([(c, d, k, True, None, "t", AS_OF) for c, d, k in rows], S.CUSTOMERS)


# (user, item, type, ts, session, order, qty, price)
EVENTS = [
    ("a", "p1", "view", T(2024, 1, 10, 9, 50), "s1", None, None, None),
    ("a", "p1", "cart", T(2024, 1, 10, 9, 55), "s1", None, None, None),
    ("a", "p1", "purchase", T(2024, 1, 10, 10, 0), "s1", "o1", 2, 10.0),
    ("a", "p2", "purchase", T(2024, 1, 10, 10, 0), "s1", "o1", 1, 30.0),
    ("a", "p1", "view", T(2024, 3, 20, 11, 30), "s2", None, None, None),
    ("a", "p1", "purchase", T(2024, 3, 20, 12, 0), "s2", "o2", 1, 10.0),
    ("a", "p2", "return", T(2024, 3, 25, 8, 0), None, "r1", 1, 30.0),
    ("a", "p3", "view", T(2024, 3, 28, 8, 0), "s3", None, None, None),
    ("b", "p3", "view", T(2024, 3, 15, 14, 0), "s4", None, None, None),
    ("b", "p3", "purchase", T(2024, 3, 15, 14, 20), "s4", "o3", 1, 40.0),
    ("b", "p1", "view", T(2024, 3, 31, 23, 59), "s6", None, None, None),  # last minute of the cutoff day
    ("c", "p4", "return", T(2024, 2, 1, 9, 0), None, "r2", 1, 15.0),
    ("f", "p2", "view", T(2024, 3, 30, 10, 0), "s5", None, None, None),  # not in customers
]
FUTURE_EVENTS = [
    ("a", "p3", "view", T(2024, 4, 1, 0, 0), "s9", None, None, None),  # first instant after the cutoff
    ("a", "p3", "purchase", T(2024, 4, 5, 9, 0), "s9", "o9", 3, 40.0),
    ("b", "p1", "return", T(2024, 4, 2, 9, 0), None, "r3", 1, 40.0),
    ("d", "p1", "purchase", T(2024, 4, 11, 9, 0), "s10", "o10", 1, 10.0),
    ("g", "p1", "view", T(2024, 5, 1, 9, 0), "s11", None, None, None),
]


def _events(spark, rows):
    return spark.createDataFrame(
        [(f"e{i}", u, it, et, ts, s, o, q, p, None, "t", AS_OF) for i, (u, it, et, ts, s, o, q, p) in
         enumerate(rows)],
        S.EVENTS,
    )


def _orders(spark, rows):
    lines = [r for r in rows if r[2] in ("purchase", "return")]
    return spark.createDataFrame(
        [(f"e{i}", o, u, it, ts, q, p, (-1 if et == "return" else 1) * q * p, et == "return", "t", AS_OF)
         for i, (u, it, et, ts, _s, o, q, p) in enumerate(lines)],
        S.ORDERS,
    )


def _features(spark, rows, extra_customers=()):
    return user_features(_orders(spark, rows), _events(spark, rows), _products(spark),
                         _customers(spark, extra_customers), AS_OF, trend_days=30)


@pytest.fixture(scope="module")
def feats(spark):
    return {r.user_id: r.asDict() for r in _features(spark, EVENTS).collect()}


def test_population_is_known_or_active_customers_up_to_the_cutoff(feats):
    assert sorted(feats) == ["a", "b", "c", "f"]


def test_repeat_buyer_with_a_return(feats):
    a = feats["a"]
    # signed up 2024-01-01: Jan 31 + Feb 29 (leap year) + 30 days of March = 90
    assert a["tenure_days"] == 90
    assert a["recency_days"] == 11  # last order 03-20
    assert a["frequency"] == 2
    assert a["monetary_total"] == pytest.approx(20 + 30 + 10 - 30)
    assert a["avg_order_value"] == pytest.approx((50 + 10) / 2)
    # fractions are rounded to 6 places (profile.DECIMALS), so they do not depend on Spark's summing order
    assert a["purchases_per_30d"] == 0.666667  # 2 * 30 / 90
    assert a["mean_days_between_purchases"] == 70.083333  # 01-10 10:00 -> 03-20 12:00: 70 + 2 / 24
    assert (a["distinct_items"], a["distinct_categories"]) == (2, 2)
    # A (p1: 20 + 10) ties B (p2: 30): the tie goes to the category name
    assert a["top_category"] == "A"
    assert a["top_category_share"] == pytest.approx(0.5)
    assert a["top3_category_share"] == pytest.approx(1.0)
    assert a["return_rate"] == pytest.approx(1 / 4)
    assert (a["spend_recent"], a["spend_prior"], a["spend_trend"]) == (10.0, 0.0, 1.0)
    # s1 09:50-10:00, s2 11:30-12:00, s3 a single view; the return has no session
    assert (a["sessions"], a["views"], a["carts"]) == (3, 3, 1)
    assert a["avg_session_minutes"] == 13.333333  # (10 + 30 + 0) / 3
    assert a["view_to_purchase"] == 0.666667  # 2 / 3
    assert a["country"] == "UK"


def test_one_order_customer_and_the_last_minute_of_the_day(feats):
    b = feats["b"]
    assert (b["tenure_days"], b["recency_days"], b["frequency"]) == (30, 16, 1)
    assert b["monetary_total"] == 40.0
    assert b["avg_order_value"] == 40.0
    assert b["purchases_per_30d"] == pytest.approx(1.0)  # tenure counted as at least 30 days
    assert b["mean_days_between_purchases"] is None
    assert (b["top_category"], b["top_category_share"], b["return_rate"]) == ("C", 1.0, 0.0)
    assert b["spend_trend"] == 1.0
    # the 23:59 view on the cutoff day counts: two sessions (20 min and 0 min), one of two converted
    assert (b["sessions"], b["views"]) == (2, 2)
    assert b["avg_session_minutes"] == pytest.approx(10.0)
    assert b["view_to_purchase"] == pytest.approx(0.5)


def test_customer_with_only_returns(feats):
    c = feats["c"]
    assert c["tenure_days"] == 121  # 2023-12-01 -> 2024-03-31
    assert c["recency_days"] is None and c["frequency"] == 0
    assert c["monetary_total"] == -15.0
    assert c["avg_order_value"] is None and c["mean_days_between_purchases"] is None
    assert c["purchases_per_30d"] == 0.0
    assert (c["distinct_items"], c["top_category"]) == (0, None)
    assert c["return_rate"] == 1.0
    assert (c["spend_recent"], c["spend_prior"], c["spend_trend"]) == (0.0, 0.0, 0.0)
    assert (c["sessions"], c["views"], c["avg_session_minutes"], c["view_to_purchase"]) == (0, 0, None, None)


def test_visitor_missing_from_customers(feats):
    f = feats["f"]
    assert (f["country"], f["tenure_days"], f["frequency"], f["views"]) == (None, 1, 0, 1)
    assert f["view_to_purchase"] == 0.0


def test_later_data_changes_nothing(spark, feats):
    later = _features(spark, EVENTS + FUTURE_EVENTS, extra_customers=[("h", date(2024, 4, 2), "UK")])
    assert {r.user_id: r.asDict() for r in later.collect()} == feats


def test_spend_trend_compares_the_two_windows(spark):
    rows = [
        ("x", "p1", "purchase", T(2024, 3, 1, 12, 0), None, "o1", 1, 30.0),  # 30 days old: prior window
        ("x", "p1", "purchase", T(2024, 3, 2, 12, 0), None, "o2", 1, 10.0),  # 29 days old: recent window
        ("x", "p1", "purchase", T(2024, 1, 31, 12, 0), None, "o3", 1, 99.0),  # 60 days old: neither
    ]
    x = _features(spark, rows).where("user_id = 'x'").first()
    assert (x.spend_recent, x.spend_prior) == (10.0, 30.0)
    assert x.spend_trend == pytest.approx((10 - 30) / (10 + 30))


def test_fractions_are_rounded_so_the_summing_order_cannot_change_them(spark):
    # three sessions spanning 0.1, 0.2 and 0.3 minutes (6, 12, 18 s): summed in one order their mean is
    # 0.20000000000000004, in another 0.19999999999999998; the profile must not carry that last bit
    rows = [("s", "p1", "view", T(2024, 3, 10, 9, 0, sec), f"s{i}", None, None, None)
            for i, secs in enumerate([(0, 6), (0, 12), (0, 18)]) for sec in secs]
    x = _features(spark, rows).where("user_id = 's'").first()
    assert x.avg_session_minutes == 0.2


def test_money_is_summed_exactly_so_the_summing_order_cannot_change_its_rounding(spark):
    """6.72 + 42.37 + 38.19 + 0.00005 is 87.28005, a rounding boundary of monetary_total's 4 places. Added up as
    doubles in this order it is 87.28005 (87.2801), in the reverse order 87.28004999999999 (87.28); summed
    exactly, both orders give 87.2801."""
    prices = [6.72, 42.37, 38.19, 0.00005]
    rows = [("m", "p1", "purchase", T(2024, 3, 10 + i, 9, 0), None, f"o{i}", 1, p) for i, p in enumerate(prices)]
    got = set()
    for ordered in (rows, rows[::-1]):
        orders = _orders(spark, ordered).coalesce(1)  # one partition: the lines are added in this order
        x = user_features(orders, _events(spark, ordered), _products(spark), _customers(spark), AS_OF,
                          trend_days=30).where("user_id = 'm'").first()
        got.add(x.monetary_total)
    assert got == {87.2801}


# --- RFM -----------------------------------------------------------------------------------------------
