"""The buy-till-you-die summary in Spark (tailor.clv.summary): purchase days, frequency/recency/T/monetary by
hand, groups whose size does not grow with the customers, deciles, and the holdout table."""

from datetime import date, datetime

import pytest
from pyspark.sql import functions as F

from tailor.clv import summary as C

ONES = {"r": 1.0, "alpha": 1.0, "a": 1.0, "b": 1.0}


def _purchases(spark, rows):
    return spark.createDataFrame([(u, datetime.fromisoformat(t), a) for u, t, a in rows],
                                 "user_id string, ts timestamp, amount double")


def test_summary_by_hand(spark):
    lines = _purchases(spark, [
        ("a", "2026-01-01 09:00:00", 10.0), ("a", "2026-01-01 18:00:00", 5.0),  # two orders, one purchase day
        ("a", "2026-01-08 10:00:00", 20.0), ("a", "2026-01-22 10:00:00", 40.0),
        ("a", "2026-01-30 10:00:00", 99.0),  # after the as-of date: not counted
        ("b", "2026-01-15 10:00:00", 7.0),
    ])
    got = {r.user_id: r for r in C.summarise(C.purchase_days(lines), date(2026, 1, 29), 7.0).collect()}
    a, b = got["a"], got["b"]
    # a: purchase days 1, 8 and 22 January: 2 repeats, first to last 21 days = 3 weeks, first to 29 January
    # 28 days = 4 weeks; the repeats' mean value (20 + 40) / 2 = 30 (the first day's 15 left out)
    assert (a.frequency, a.recency_days, a.tenure_days, a.recency, a.tenure, a.monetary) == (2, 21, 28, 3.0, 4.0,
                                                                                             30.0)
    assert (b.frequency, b.recency, b.tenure, b.monetary) == (0, 0.0, 2.0, None)


def test_groups_do_not_grow_with_customers(spark):
    # 1,000 customers with one history each of two shapes: the fit's input is 2 rows, whatever their number
    rows = [(f"u{i}", t, v) for i in range(1000) for t, v in
            ((("2026-01-01 10:00:00", 10.0), ("2026-01-08 10:00:00", 12.5)) if i % 2 else
             (("2026-01-03 10:00:00", 10.0),))]
    s = C.summarise(C.purchase_days(_purchases(spark, rows)), date(2026, 1, 29), 7.0)
    timing = sorted(tuple(r) for r in C.timing_groups(s).collect())
    assert timing == [(0, 0, 26, 500), (1, 7, 28, 500)]
    assert [tuple(r) for r in C.value_groups(s).collect()] == [(1, 12.5, 500)]


def test_scores_and_deciles(spark):
    s = C.summarise(C.purchase_days(_purchases(spark, [
        ("a", "2026-01-01 10:00:00", 10.0), ("a", "2026-01-08 10:00:00", 20.0),
        ("b", "2026-01-15 10:00:00", 7.0)])), date(2026, 1, 22), 7.0)
    got = {r.user_id: r for r in C.score(s, ONES, {"p": 1.0, "q": 2.0, "v": 1.0}, [7, 14], 7.0, 1, 7.0,
                                         0.0).collect()}
    a = got["a"]
    # a: x = 1, t_x = 1, T = 3 weeks: P(alive) = 1 / (1 + 1/1 · (4/2)^2) = 1/5 (as in test_btyd)
    assert a.p_alive == pytest.approx(0.2) and got["b"].p_alive == 1.0
    assert sorted(a.expected_purchases) == [7, 14] and a.expected_purchases[7] < a.expected_purchases[14]
    # expected order value p(v + m·x)/(px + q - 1) = (1 + 20)/2; one "month" of 7 days undiscounted:
    # value x expected purchases in one week
    assert a.expected_order_value == pytest.approx(10.5)
    assert a.clv == pytest.approx(10.5 * a.expected_purchases[7])
    # the days to the next purchase if alive: (alpha + T)(2^(1/(r + x)) - 1) weeks = 4 · (√2 - 1) · 7 days
    assert a.days_to_next_purchase == pytest.approx(4 * (2 ** 0.5 - 1) * 7)
    vals = spark.createDataFrame([(float(v),) for v in range(1, 11)] + [(None,)], "v double")
    cuts = [9.1, 8.1, 7.1, 6.1, 5.1, 4.1, 3.1, 2.1, 1.1]
    ranked = sorted((r.v, r.d) for r in vals.select("v", C.deciles(F.col("v"), cuts).alias("d")).collect()
                    if r.v is not None)
    assert [d for _, d in ranked] == [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]
    assert vals.where("v is null").select(C.deciles(F.col("v"), cuts)).first()[0] is None


def test_holdout_table_compares_like_with_like(spark):
    days = C.purchase_days(_purchases(spark, [
        ("a", "2026-01-01 10:00:00", 10.0), ("a", "2026-01-08 10:00:00", 10.0),  # calibration: x = 1
        ("a", "2026-02-10 10:00:00", 10.0), ("a", "2026-02-12 10:00:00", 10.0),  # holdout: 2 purchase days
        ("b", "2026-01-05 10:00:00", 10.0),  # calibration: x = 0, nothing later
        ("c", "2026-02-03 10:00:00", 10.0),  # first bought in the holdout: not in the table
    ]))
    cal = C.summarise(days, date(2026, 1, 31), 7.0)
    rows = {r.bucket: r for r in C.holdout(cal, days, date(2026, 1, 31), date(2026, 2, 28), ONES, 7.0).collect()}
    assert set(rows) == {0, 1}
    assert (rows[1].customers, rows[1].actual, rows[0].customers, rows[0].actual) == (1, 2.0, 1, 0.0)
    assert rows[1].predicted > 0 and rows[0].predicted > 0
