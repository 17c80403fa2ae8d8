"""RFM scores (tailor.features.rfm): nearest-rank quintile thresholds, scores and the named grid, by hand."""


import pytest
from pyspark.sql import Row

from tailor.features import rfm

# --- RFM -----------------------------------------------------------------------------------------------


def test_thresholds_are_nearest_rank_quintiles_among_buyers(spark):
    # buyers 1..10 on every measure, plus a non-buyer that must not move the thresholds
    rows = [Row(recency_days=v, frequency=v, monetary_total=float(v)) for v in range(1, 11)]
    rows.append(Row(recency_days=None, frequency=0, monetary_total=-500.0))
    cuts = rfm.thresholds(spark.createDataFrame(rows), relative_error=0.0)
    assert cuts == {"recency_days": [2, 4, 6, 8], "frequency": [2, 4, 6, 8], "monetary_total": [2, 4, 6, 8]}


def test_scores_count_the_thresholds_exceeded(spark):
    cuts = {"recency_days": [10, 30, 60, 120], "frequency": [1, 1, 2, 4], "monetary_total": [20, 40, 80, 160]}
    rows = [
        Row(user_id="u1", recency_days=5, frequency=1, monetary_total=20.0),   # R5 F1 M1
        Row(user_id="u2", recency_days=10, frequency=2, monetary_total=15.0),  # R5 (10 is not above 10) F3 M1
        Row(user_id="u3", recency_days=500, frequency=9, monetary_total=999.0),  # R1 F5 M5
        Row(user_id="u4", recency_days=45, frequency=3, monetary_total=50.0),  # R3 F4 M3
        Row(user_id="u5", recency_days=None, frequency=0, monetary_total=-5.0),  # no purchase
    ]
    out = {r.user_id: (r.r_score, r.f_score, r.m_score, r.rfm_segment)
           for r in spark.createDataFrame(rows).transform(rfm.with_rfm(cuts)).collect()}
    assert out == {
        "u1": (5, 1, 1, "New"),
        "u2": (5, 3, 1, "Potential loyalist"),  # FM = round-half-up(2) = 2
        "u3": (1, 5, 5, "Cannot lose"),
        "u4": (3, 4, 3, "Loyal"),
        "u5": (None, None, None, "No purchase"),
    }


@pytest.mark.parametrize(
    ("r", "f", "m", "name"),
    [
        (5, 5, 4, "Champions"),  # FM 5
        (4, 4, 3, "Champions"),  # FM round-half-up(3.5) = 4
        (4, 1, 5, "New"),  # FM 3: not a champion, one order
        (5, 1, 1, "New"),
        (4, 3, 2, "Loyal"),  # FM 3
        (3, 5, 5, "Loyal"),  # R 3 is never a champion
        (3, 2, 1, "Potential loyalist"),  # FM 2
        (5, 2, 2, "Potential loyalist"),
        (1, 4, 4, "Cannot lose"),
        (2, 5, 5, "At risk"),  # R 2 with the best FM is at risk, not cannot-lose
        (1, 3, 2, "At risk"),  # FM 3
        (2, 2, 2, "Hibernating"),
        (1, 1, 2, "Lost"),  # FM 2
        (None, None, None, "No purchase"),
    ],
)
def test_named_grid(spark, r, f, m, name):
    from pyspark.sql import functions as F

    row = spark.range(1).select(
        rfm.segment_name(F.lit(r).cast("int"), F.lit(f).cast("int"), F.lit(m).cast("int")).alias("s")
    ).first()
    assert row.s == name
