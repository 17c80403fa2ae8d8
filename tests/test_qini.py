"""The Qini curve (tailor.uplift.qini) by hand."""

import pytest

from tailor.uplift import qini


def test_qini_by_hand(spark):
    # scores 8..1; treated every other; the top half converts only when treated
    rows = [(8, True, 1), (7, False, 0), (6, True, 1), (5, False, 0),
            (4, True, 0), (3, False, 0), (2, True, 0), (1, False, 1)]
    df = spark.createDataFrame([(float(s), t, y) for s, t, y in rows], "s double, treated boolean, y int")
    got = qini.curve(df, "s", points=2)  # one cut at the median, 4: the top half is 8, 7, 6, 5
    # top half: 2 of 2 treated converted, 0 of 2 controls: Q = (2 - 0) / 4 treated in all = 0.5
    # everyone: 2 of 4 treated, 1 of 4 controls: Q = (2 - 1 · 4/4) / 4 = 0.25
    assert got.points == [(0.0, 0.0), (0.5, 0.5), (1.0, 0.25)]
    # area: 0.5 · (0 + 0.5)/2 + 0.5 · (0.5 + 0.25)/2 = 0.3125; random: 0.25 / 2 = 0.125
    assert got.auuc == pytest.approx(0.3125) and got.random_auuc == pytest.approx(0.125)
    assert got.coefficient == pytest.approx(0.1875)
    # the reverse ranking finds the persuadable last: below random
    assert qini.curve(df.selectExpr("-s as s", "treated", "y"), "s", points=2).coefficient < 0
