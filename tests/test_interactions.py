"""Interaction rows (tailor.similarity.interactions): per-user caps and event weights."""



from tailor.similarity.interactions import cap_per, capped_rows, event_weight


def test_cap_keeps_each_users_most_recent_items(spark):
    from datetime import datetime

    df = spark.createDataFrame(
        [("u", f"i{k}", datetime(2024, 1, k + 1)) for k in range(5)] + [("v", "i0", datetime(2024, 1, 1))],
        "user_id string, item_id string, last_ts timestamp",
    )
    kept = {(r.user_id, r.item_id) for r in df.transform(cap_per("user_id", "item_id", 2)).collect()}
    assert kept == {("u", "i4"), ("u", "i3"), ("v", "i0")}
    # the job's bound on the capped rows, without counting them: min(rows, baskets x cap)
    assert df.transform(cap_per("user_id", "item_id", 2)).count() == 3 <= capped_rows(6, 2, 2) == 4
    assert capped_rows(6, 2, 5) == 6
    # the L shop: 20,000 items x 100 users each bound user-user at 2 M rows, whatever the traffic
    assert capped_rows(12_000_000, 20_000, 100) == 2_000_000


def test_event_weights_by_type_and_rating(spark):
    df = spark.createDataFrame(
        [("view", None), ("cart", None), ("purchase", None), ("rating", 4.0), ("return", None)],
        "event_type string, rating double",
    )
    got = [r.w for r in df.select(event_weight({"view": 1, "cart": 3, "purchase": 5, "rating": 0.5}).alias("w"))
           .collect()]
    assert got == [1.0, 3.0, 5.0, 2.0, None]


