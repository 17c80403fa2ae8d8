"""Purchase-timing features (tailor.propensity.timing) by hand: the gap trend, the same-window-last-year flag,
and P(alive), expected purchases and days overdue from the BG/NBD fit of the cutoff, in the right units."""

import math
from datetime import date, datetime, timedelta

import pytest

from tailor.clv import btyd as B
from tailor.clv import fit as clv_fit
from tailor.clv import summary as C
from tailor.propensity.timing import timing_features

AS_OF = date(2026, 6, 30)


def _orders(spark, rows):
    return spark.createDataFrame(
        [(u, datetime.combine(d, datetime.min.time()) + timedelta(hours=10), a, ret) for u, d, a, ret in rows],
        "user_id string, ts timestamp, amount double, is_return boolean")


def _day(days_before: int) -> date:
    return AS_OF - timedelta(days=days_before)


def _shop(spark):
    rows = [
        # a: purchase days 100, 90, 80 and 50 days before: gaps 10, 10, 30
        ("a", _day(100), 10.0, False), ("a", _day(90), 10.0, False), ("a", _day(80), 10.0, False),
        ("a", _day(50), 10.0, False), ("a", _day(20), 10.0, True),  # a return is no purchase
        ("b", _day(60), 5.0, False), ("b", _day(40), 5.0, False),  # two purchase days: no trend
        ("c", _day(360), 8.0, False),  # 5 days into the window (T - 365, T - 365 + 28]: last year's season
        ("d", _day(365), 8.0, False),  # exactly T - 365: outside the window
        ("e", _day(-1), 9.0, False),  # after the cutoff: not a customer yet
    ]
    return _orders(spark, rows)


def test_gap_trend_and_the_seasonal_flag_by_hand(spark):
    got = {r.user_id: r for r in timing_features(_shop(spark), AS_OF, 28, 7.0, 1000).collect()}
    assert set(got) == {"a", "b", "c", "d"}
    # a: last gap 30 days, the earlier ones 10 and 10: ln(31 / 11)
    assert got["a"].gap_trend == pytest.approx(math.log(31 / 11))
    assert got["b"].gap_trend is None and got["c"].gap_trend is None
    assert {u: r.bought_same_window_last_year for u, r in got.items()} == {"a": 0, "b": 0, "c": 1, "d": 0}


def test_bgnbd_features_use_the_fit_of_the_cutoff_in_its_units(spark):
    orders = _shop(spark)
    got = {r.user_id: r for r in timing_features(orders, AS_OF, 28, 7.0, 1000).collect()}
    # the fit as of the cutoff, on the same purchase days (the return and e's later purchase left out)
    days = C.purchase_days(orders.where("not is_return and ts < '2026-07-01'"))
    params = clv_fit.fit_timing(clv_fit.timing_groups(C.summarise(days, AS_OF, 7.0), 1000, "t"), 7.0, "t").params
    # a: x = 3 repeat days, t_x = 50 days = 50/7 weeks, T = 100/7 weeks
    x, t_x, T = 3.0, 50 / 7, 100 / 7
    a = got["a"]
    assert a.p_alive == pytest.approx(float(B.p_alive(params, x, t_x, T)), rel=1e-9)
    assert a.expected_purchases_horizon == pytest.approx(
        float(B.expected_purchases(params, 4.0, x, t_x, T)), rel=1e-9)  # 28 days = 4 weeks
    # 50 days since the last purchase less the expected gap (α + T)/(r + x) weeks, in days
    assert a.days_overdue == pytest.approx(50 - 7 * (params["alpha"] + T) / (params["r"] + x), rel=1e-9)
    assert got["c"].p_alive == 1.0  # no repeat purchase: BG/NBD's customers cannot have left yet
    assert 0 < a.p_alive < 1


def test_without_a_repeat_purchase_the_bgnbd_features_are_null(spark):
    orders = _orders(spark, [("a", _day(10), 1.0, False), ("b", _day(3), 1.0, False)])
    got = timing_features(orders, AS_OF, 28, 7.0, 1000).collect()
    assert len(got) == 2
    assert all(r.p_alive is None and r.expected_purchases_horizon is None and r.days_overdue is None
               and r.gap_trend is None and r.bought_same_window_last_year == 0 for r in got)
