"""Beyond-accuracy metrics (tailor.evaluation.beyond) by hand: coverage, novelty and diversity."""

import math

import pytest

from tailor.evaluation.beyond import beyond_accuracy

UI = "user_id string, item_id string"


def test_coverage_novelty_and_diversity_by_hand(spark):
    recs = spark.createDataFrame(
        [("u1", "A", 1), ("u1", "B", 2), ("u1", "C", 3), ("u2", "A", 1), ("u2", "D", 2), ("u3", "E", 1)],
        UI + ", rank int")
    train = spark.createDataFrame([("t1", "A"), ("t2", "A"), ("t3", "A"), ("t1", "B"), ("t4", "E")], UI)
    catalogue = spark.createDataFrame(
        [("A", "x"), ("B", "x"), ("C", "y"), ("D", "y"), ("E", "z"), ("F", "z")], "item_id string, category string")
    m = beyond_accuracy(recs, 2, train, catalogue)
    assert m["coverage"] == pytest.approx(4 / 6)  # A, B, D, E of six
    # p = (users + 1) / (4 + 1): A 0.8, B 0.4, D 0.2 (nobody), E 0.4; five recommended rows
    info = [-math.log2(p) for p in (0.8, 0.4, 0.8, 0.2, 0.4)]
    assert m["novelty"] == pytest.approx(sum(info) / 5)
    assert m["diversity"] == pytest.approx((0.0 + 1.0) / 2)  # u1: x, x; u2: x, y; u3 has one item
    m5 = beyond_accuracy(recs, 5, train, catalogue)  # k larger than every list
    assert m5["coverage"] == pytest.approx(5 / 6)
    assert m5["diversity"] == pytest.approx((1 - 2 / 6 + 1.0) / 2)  # u1: x, x, y -> one same pair of three
    # without categories diversity cannot be measured: it is left out, not reported as 0
    bare = catalogue.selectExpr("item_id", "cast(null as string) as category")
    assert set(beyond_accuracy(recs, 2, train, bare)) == {"coverage", "novelty"}


