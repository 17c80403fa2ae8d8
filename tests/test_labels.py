"""Propensity labels (tailor.propensity.labels) by hand, and nothing after the cutoff reaches features or labels."""

from datetime import date, datetime, timedelta

from pyspark.sql import functions as F

from conftest import SHOP_RUN_DATE
from tailor.asof import cutoff
from tailor.config import warehouse
from tailor.propensity import labels as L

ORDERS = "user_id string, ts timestamp, is_return boolean"


def test_labels_by_hand(spark):
    rows = [
        ("u1", datetime(2026, 6, 20), False), ("u1", datetime(2026, 7, 5), False),  # active, bought again
        ("u2", datetime(2026, 6, 25), False),  # active, then nothing: churned
        ("u3", datetime(2026, 4, 1), False), ("u3", datetime(2026, 7, 10, 23, 59), False),  # lapsed; last day of H
        ("u4", datetime(2026, 7, 11, 0, 0), False),  # after the horizon: no label
        ("u5", datetime(2026, 6, 1), False), ("u5", datetime(2026, 7, 2), True),  # a return is not a purchase
        ("u6", datetime(2026, 6, 30, 23, 59), False), ("u6", datetime(2026, 7, 1, 0, 0), False),  # T's last minute
    ]
    orders = spark.createDataFrame(rows, ORDERS)
    got = {r.user_id: (r.purchase, r.active, r.churn) for r in
           L.labels(orders, date(2026, 6, 30), horizon_days=10, lookback_days=30).collect()}
    assert got == {"u1": (1, 1, 0), "u2": (0, 1, 1), "u3": (1, 0, None), "u5": (0, 1, 1), "u6": (1, 1, 0)}
    # u4 bought only after the horizon: not in the frame (the caller fills 0 and leaves churn null)


def _frame(df, cols):
    return sorted(tuple(r) for r in df.select(*cols).collect())


def test_nothing_after_the_cutoff_reaches_features_or_labels(spark, shop):
    cfg = shop()
    orders, events, products, customers = (warehouse(spark, cfg).read(n) for n in
                                           ("orders", "events", "products", "customers"))
    t, h = date.fromisoformat(SHOP_RUN_DATE) - timedelta(days=40), 14

    def rows(until):  # the data as it was at the end of day ``until``
        keep = F.col("ts") < F.lit(cutoff(until))
        return L.training_rows(orders.where(keep), events.where(keep), products, customers, t, h, 30, 30)

    full = L.training_rows(orders, events, products, customers, t, h, 30, 30)
    feature_cols = [c for c in full.columns if c not in (L.PURCHASE, L.ACTIVE, L.CHURN)]
    label_cols = ["user_id", L.PURCHASE, L.ACTIVE, L.CHURN]
    at_t = rows(t)
    assert _frame(at_t, feature_cols) == _frame(full, feature_cols)  # events after T change no feature
    at_horizon = rows(t + timedelta(days=h))
    assert _frame(at_horizon, label_cols) == _frame(full, label_cols)  # events after T + H change no label
    assert _frame(at_t, label_cols) != _frame(full, label_cols)  # (the labels do read the horizon)


