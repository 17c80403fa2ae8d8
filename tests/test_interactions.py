"""Interaction rows (tailor.similarity.interactions): per-user caps and event weights."""



from tailor.similarity.interactions import Cap, cap_per, choose_cap, event_weight


def test_cap_keeps_each_users_most_recent_items(spark):
    from datetime import datetime

    df = spark.createDataFrame(
        [("u", f"i{k}", datetime(2024, 1, k + 1)) for k in range(5)] + [("v", "i0", datetime(2024, 1, 1))],
        "user_id string, item_id string, last_ts timestamp",
    )
    kept = {(r.user_id, r.item_id) for r in df.transform(cap_per("user_id", "item_id", 2)).collect()}
    assert kept == {("u", "i4"), ("u", "i3"), ("v", "i0")}


def test_the_cap_doubles_until_it_keeps_the_share_and_backs_off_over_the_pair_budget(spark):
    # items with 1, 2, 4 and 8 users: 15 rows. Cap c keeps sum(min(n, c)) rows and makes
    # sum(m (m - 1) / 2) pairs, m = min(n, c):
    #   c=1: kept 4, pairs 0;  c=2: kept 7, pairs 3;  c=4: kept 11, pairs 13;  c=8: kept 15, pairs 35
    sizes = {"a": 1, "b": 2, "c": 4, "d": 8}
    df = spark.createDataFrame([(f"u{k}", item) for item, n in sizes.items() for k in range(n)],
                               "user_id string, item_id string")
    # 75 % of 15 is 11.25: c=4 keeps 11, short of it, so 8
    assert choose_cap(df, "item_id", 1, 0.75, 100) == Cap(cap=8, rows=15, kept=15, pairs=35)
    # 35 pairs are over a budget of 20: back to 4, which leaves 4 rows out
    got = choose_cap(df, "item_id", 1, 0.75, 20)
    assert got == Cap(cap=4, rows=15, kept=11, pairs=13) and got.capped_out == 4
    # a budget under every raised cap's pairs: the floor, whatever its pairs
    assert choose_cap(df, "item_id", 2, 0.75, 1) == Cap(cap=2, rows=15, kept=7, pairs=3)
    # share 0: the cap as given; a floor already keeping everything stays
    assert choose_cap(df, "item_id", 1, 0.0, 100).cap == 1
    assert choose_cap(df, "item_id", 8, 0.75, 100).cap == 8


def test_event_weights_by_type_and_rating(spark):
    df = spark.createDataFrame(
        [("view", None), ("cart", None), ("purchase", None), ("rating", 4.0), ("return", None)],
        "event_type string, rating double",
    )
    got = [r.w for r in df.select(event_weight({"view": 1, "cart": 3, "purchase": 5, "rating": 0.5}).alias("w"))
           .collect()]
    assert got == [1.0, 3.0, 5.0, 2.0, None]


