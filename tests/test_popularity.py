"""Popularity, trending and the popularity fallback chain (tailor.recommend.popularity), by hand."""

from datetime import date, datetime, timedelta, timezone

import pytest

from tailor.recommend import popularity as P

AS_OF = date(2026, 11, 23)
INTER = "user_id string, item_id string, affinity double, last_ts timestamp"


def _ts(days_ago: float) -> datetime:
    return datetime(2026, 11, 24, tzinfo=timezone.utc) - timedelta(days=days_ago)


def test_popular_caps_each_user_and_drops_small_groups(spark):
    inter = spark.createDataFrame([
        ("a", "x", 50.0, _ts(1)),   # capped at 5
        ("b", "x", 1.0, _ts(2)),
        ("b", "y", 5.0, _ts(3)),
        ("c", "y", 3.0, _ts(200)),  # outside the 90-day window
        ("c", "z", 2.0, _ts(5)),
    ], INTER)
    groups = spark.createDataFrame([("a", "country", "DE"), ("b", "country", "DE"), ("c", "country", "FR")],
                                   "user_id string, scope string, group_key string")
    got = {(r.scope, r.group_key, r.item_id): (r.score, r.users, r.rank)
           for r in P.popular(inter, groups, AS_OF, 90, 5.0, 2, 10).collect()}
    assert got[("global", "global", "x")] == (6.0, 2, 1)
    assert got[("global", "global", "y")] == (5.0, 1, 2)
    assert got[("global", "global", "z")] == (2.0, 1, 3)
    assert got[("country", "DE", "x")] == (6.0, 2, 1)
    assert not any(k[1] == "FR" for k in got)  # one active user < min_group_users 2


def test_trending_is_growth_with_support(spark):
    rows = [(f"n{i}", "up", 1.0, _ts(1)) for i in range(3)] + [("o", "up", 1.0, _ts(10))]
    rows += [(f"m{i}", "flat", 1.0, _ts(2)) for i in range(2)] + [(f"p{i}", "flat", 1.0, _ts(9)) for i in range(3)]
    rows += [("q", "rare", 1.0, _ts(1))]
    got = {r.item_id: (r.score, r.rank) for r in P.trending(spark.createDataFrame(rows, INTER), AS_OF, 7, 2, 10)
           .collect()}
    assert got == {"up": (pytest.approx(4 / 2), 1), "flat": (pytest.approx(3 / 4), 2)}  # rare: 1 user < 2


def test_trending_ranks_ties_by_users_then_item_and_keeps_top_k(spark):
    # a, b, c: 2 users now, none before: growth 3; b2: 3 users now, 1 before: growth 2 (4/2); d: 2 users, 1 before
    rows = [(u, i, 1.0, _ts(1)) for i in ("c", "a", "b") for u in ("u1", "u2")]
    rows += [(u, "b2", 1.0, _ts(1)) for u in ("u1", "u2", "u3")] + [("u4", "b2", 1.0, _ts(10))]
    rows += [(u, "d", 1.0, _ts(1)) for u in ("u1", "u2")] + [("u4", "d", 1.0, _ts(10))]
    got = P.trending(spark.createDataFrame(rows, INTER), AS_OF, 7, 2, 4).orderBy("rank").collect()
    assert [(r.scope, r.group_key, r.item_id, r.score, r.users, r.rank) for r in got] == [
        ("trending", "trending", "a", 3.0, 2, 1), ("trending", "trending", "b", 3.0, 2, 2),
        ("trending", "trending", "c", 3.0, 2, 3), ("trending", "trending", "b2", 2.0, 3, 4)]  # d (1.5) cut


@pytest.mark.parametrize("local_max_rows", [0, 1000], ids=["joined", "grouped"])
def test_fallback_chain_segment_then_country_then_global(spark, local_max_rows):
    lists = spark.createDataFrame([
        ("segment", "Champions", "s1", 9.0, 3, 1), ("country", "DE", "c1", 9.0, 3, 1),
        ("global", "global", "g1", 9.0, 3, 1), ("global", "global", "g2", 8.0, 3, 2),
    ], "scope string, group_key string, item_id string, score double, users long, rank int")
    groups = spark.createDataFrame([
        ("champ", "segment", "Champions"), ("champ", "country", "DE"),
        ("small", "segment", "Tiny"), ("small", "country", "DE"),
        ("fr", "country", "FR"),
    ], "user_id string, scope string, group_key string")
    users = spark.createDataFrame([("champ",), ("small",), ("fr",), ("brand_new",)], "user_id string")
    seen = spark.createDataFrame([("brand_new", "g1")], "user_id string, item_id string")
    got = {}
    for r in P.for_users(users, groups, lists, seen, 5, local_max_rows).collect():
        got.setdefault(r.user_id, []).append((r.item_id, r.anchor, r.rank))
    assert got["champ"] == [("s1", "segment:Champions", 1)]
    assert got["small"] == [("c1", "country:DE", 1)]  # Tiny has no list
    assert sorted(got["fr"]) == [("g1", "global", 1), ("g2", "global", 2)]
    assert got["brand_new"] == [("g2", "global", 1)]  # g1 seen


@pytest.mark.parametrize("local_max_rows", [0, 1000], ids=["joined", "grouped"])
def test_trending_for_users_skips_seen_items_ties_by_item_and_stops_at_top_n(spark, local_max_rows):
    lists = spark.createDataFrame([
        ("trending", "trending", "t3", 2.0, 5, 2), ("trending", "trending", "t1", 3.0, 5, 1),
        ("trending", "trending", "t2", 2.0, 5, 3), ("trending", "trending", "t0", 1.0, 5, 4),
        ("global", "global", "g1", 9.0, 3, 1),  # not trending: never served here
    ], "scope string, group_key string, item_id string, score double, users long, rank int")
    users = spark.createDataFrame([("a",), ("b",), ("b",), ("c",)], "user_id string")
    seen = spark.createDataFrame([("a", "t1"), ("a", "t2"), ("c", "t1"), ("c", "t2"), ("c", "t3"), ("c", "t0"),
                                  ("z", "t3")], "user_id string, item_id string")
    got = {}
    for r in P.trending_for_users(users, lists, seen, 2, local_max_rows).collect():
        got.setdefault(r.user_id, []).append((r.item_id, r.score, r["rank"], r.anchor))
    assert {u: sorted(v, key=lambda x: x[2]) for u, v in got.items()} == {
        "a": [("t3", 2.0, 1, "trending"), ("t0", 1.0, 2, "trending")],  # t1, t2 seen
        "b": [("t1", 3.0, 1, "trending"), ("t2", 2.0, 2, "trending")],  # t2 and t3 tie: t2 first; top 2 only
    }  # c has seen every trending item


def test_users_and_seen_items_from_the_same_events(spark):
    """Evaluation takes both from one events frame: the grouped plan must not trip on an ambiguous self-join."""
    events = spark.createDataFrame([("a", "t1"), ("b", "t9")], "user_id string, item_id string")
    lists = spark.createDataFrame([("trending", "trending", "t1", 2.0, 5, 1),
                                   ("trending", "trending", "t2", 1.0, 5, 2)],
                                  "scope string, group_key string, item_id string, score double, users long, rank int")
    got = {(r.user_id, r.item_id, r["rank"]) for r in P.trending_for_users(events, lists, events, 5, 1000).collect()}
    assert got == {("a", "t2", 1), ("b", "t1", 1), ("b", "t2", 2)}


def test_walking_the_lists_in_chunks_gives_the_same_rows(monkeypatch):
    """Two lists (x: a, b, c; y: b, d); three users; seen: u1 a, u3 d. Chunks of 4 cells split the users."""
    import numpy as np
    import pyarrow as pa

    starts = np.array([0, 3, 5])
    items = np.array(["a", "b", "c", "b", "d"], dtype=object)
    vocab = np.array(["a", "b", "c", "d"], dtype=object)
    codes = np.searchsorted(vocab, items)
    scores = np.array([3.0, 2.0, 1.0, 5.0, 4.0])
    who = pa.table({"_u": ["u1", "u2", "u3"], "_list": pa.array([0, 0, 1], pa.int32())})
    seen = pa.table({"_su": ["u1", "u3", "zz"], "_si": ["a", "d", "a"]})
    want = [("u1", "b", 2.0, 1, 0), ("u1", "c", 1.0, 2, 0), ("u2", "a", 3.0, 1, 0), ("u2", "b", 2.0, 2, 0),
            ("u3", "b", 5.0, 1, 1)]
    for cells in (1_000, 4, 1):
        monkeypatch.setattr(P, "WALK_CELLS", cells)
        got = P._walk(who, seen, starts, items, codes, scores, vocab, top_n=2).to_pylist()
        assert [tuple(r.values()) for r in got] == want, cells
