"""The per-user split (tailor.evaluation.split): sizes by hand, independent of partitioning, seeded."""

from tailor.evaluation.split import per_user_split

UI = "user_id string, item_id string"


def test_per_user_split_sizes_and_partition_independence(spark):
    rows = [("1", f"i{k}") for k in range(10)] + [("2", f"i{k}") for k in range(3)] + [("3", "i0")]
    df = spark.createDataFrame(rows, UI)
    train, test = per_user_split(df, 0.75, seed=42)
    count = {u: (train.where(f"user_id = '{u}'").count(), test.where(f"user_id = '{u}'").count()) for u in "123"}
    assert count == {"1": (8, 2), "2": (2, 1), "3": (1, 0)}  # round(7.5) = 8, round(2.25) = 2, round(0.75) = 1
    again, _ = per_user_split(df.repartition(5), 0.75, seed=42)
    assert sorted(map(tuple, again.collect())) == sorted(map(tuple, train.collect()))
    other, _ = per_user_split(df, 0.75, seed=7)
    assert sorted(map(tuple, other.collect())) != sorted(map(tuple, train.collect()))
