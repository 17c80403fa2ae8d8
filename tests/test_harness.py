"""The evaluation harness (tailor.evaluation.harness): the time fold never leaks; the search sample."""

from datetime import date, datetime, timezone

from pyspark.sql import functions as F

from tailor.asof import cutoff
from tailor.evaluation.harness import time_fold

UI = "user_id string, item_id string"


def test_time_split_never_leaks(spark):
    ev = "user_id string, item_id string, event_type string, ts timestamp, rating double"

    def ts(d, h=12):
        return datetime(2026, 11, d, h, tzinfo=timezone.utc)

    events = spark.createDataFrame([
        ("u", "a", "purchase", ts(1), None), ("u", "b", "view", ts(9, 23), None),  # train (cutoff end of 9th)
        ("u", "b", "purchase", ts(10, 1), None),  # test, but seen before: not a new item
        ("u", "c", "purchase", ts(12), None), ("v", "c", "view", ts(12), None),  # test; a view is not truth
        ("u", "d", "purchase", ts(20), None),  # after the horizon
    ], ev)
    fold = time_fold(events, date(2026, 11, 9), 7, {"view": 1.0, "purchase": 5.0})
    assert fold.train.agg(F.max("ts")).first()[0] < cutoff(date(2026, 11, 9))
    assert sorted((r.user_id, r.item_id) for r in fold.truth.collect()) == [("u", "c")]


def test_the_search_sample_is_seeded_and_keeps_whole_users(spark):
    from tailor.evaluation.harness import sample_users

    truth = spark.createDataFrame([(f"u{i}", f"i{j}") for i in range(20) for j in range(i % 3 + 1)], UI)
    a = sorted(tuple(r) for r in sample_users(truth, 5, seed=7).collect())
    assert a == sorted(tuple(r) for r in sample_users(truth, 5, seed=7).collect())  # same seed, same users
    users = {u for u, _ in a}
    assert len(users) == 5
    assert a == sorted(tuple(r) for r in truth.collect() if r.user_id in users)  # every row of a chosen user
    assert users != {u for u, _ in sample_users(truth, 5, seed=8).collect()}
    assert sample_users(truth, 50, seed=7).count() == truth.count()
