"""Ranking metrics (tailor.evaluation.ranking) by hand: precision, recall, nDCG, MAP and hit rate at k."""

import math

import pytest
from pyspark.sql import functions as F

from tailor.evaluation.ranking import ndcg_gain, per_user, ranking_metrics

UI = "user_id string, item_id string"


def test_ranking_metrics_by_hand(spark):
    recs = spark.createDataFrame(
        [("A", "i1", 1), ("A", "i2", 2), ("A", "i3", 3), ("A", "i4", 4), ("B", "i5", 1), ("D", "i1", 1)],
        UI + ", rank int",
    )
    truth = spark.createDataFrame([("A", "i2"), ("A", "i4"), ("A", "i9"), ("B", "i5"), ("C", "i1")], UI)
    users = {r.user_id: r for r in per_user(recs, truth, 3).collect()}
    assert sorted(users) == ["A", "B", "C"]  # D has no relevant items: ignored
    idcg3 = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    a = users["A"]  # one hit (i2) at rank 2 in the top 3; i4 is at rank 4
    assert (a.precision, a.recall) == (pytest.approx(1 / 3), pytest.approx(1 / 3))
    assert a.ndcg == pytest.approx((1 / math.log2(3)) / idcg3)
    assert a.map == pytest.approx((1 / 2) / 3)
    b = users["B"]  # a one-item list: precision counts k, not the list length
    assert (b.precision, b.recall, b.ndcg, b.map, b.hit_rate) == (pytest.approx(1 / 3), 1.0, 1.0, 1.0, 1.0)
    c = users["C"]  # relevant items but no recommendations
    assert (c.precision, c.recall, c.ndcg, c.map, c.hit_rate) == (0.0, 0.0, 0.0, 0.0, 0.0)
    m = ranking_metrics(recs, truth, 3)
    assert m["precision"] == pytest.approx(2 / 9)
    assert m["recall"] == pytest.approx(4 / 9)
    assert m["ndcg"] == pytest.approx(((1 / math.log2(3)) / idcg3 + 1) / 3)
    assert m["map"] == pytest.approx((1 / 6 + 1) / 3)
    assert m["hit_rate"] == pytest.approx(2 / 3)


def test_k_larger_than_every_list(spark):
    recs = spark.createDataFrame([("A", "i1", 1), ("A", "i2", 2)], UI + ", rank int")
    truth = spark.createDataFrame([("A", "i2")], UI)
    m = ranking_metrics(recs, truth, 10)
    assert m["precision"] == pytest.approx(1 / 10)
    assert m["ndcg"] == pytest.approx(1 / math.log2(3))  # ideal: the one relevant item at rank 1
    assert m["map"] == pytest.approx(1 / 2)


def test_one_ndcg_gain_for_the_metrics_and_the_weight_search(spark):
    # three relevant items, k = 2: a hit at rank 2 is worth (1 / log2 3) / (1 + 1 / log2 3)
    row = spark.range(1).select(ndcg_gain(F.lit(2), F.lit(3), F.lit(2), 10).alias("g")).first()
    assert row.g == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
