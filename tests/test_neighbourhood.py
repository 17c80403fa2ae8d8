"""Item-CF and user-CF scores by hand, and the two plans of each."""

import pytest

from tailor.recommend.neighbourhood import item_cf, user_cf

SIM = "entity string, neighbour string, score double"
UI = "user_id string, item_id string"


BOTH_PLANS = pytest.mark.parametrize("rows", [0, 1000], ids=["joined", "local"])


@BOTH_PLANS
def test_item_cf_sums_affinity_times_similarity_and_drops_seen(spark, rows):
    affinity = spark.createDataFrame([("u", "i1", 2.0), ("u", "i2", 1.0)], UI + ", affinity double")
    sim = spark.createDataFrame(
        [("i1", "i3", 0.5), ("i1", "i2", 0.9), ("i2", "i3", 0.4), ("i2", "i4", 1.0)], SIM
    )
    recs = item_cf(affinity, sim, 10, local_max_rows=rows)
    got = [(r.item_id, r.score, r.rank) for r in recs.orderBy("rank").collect()]
    # i3 = 2 * 0.5 + 1 * 0.4 = 1.4, i4 = 1 * 1.0; i2 is the user's own
    assert got == [("i3", pytest.approx(1.4), 1), ("i4", pytest.approx(1.0), 2)]


@BOTH_PLANS
def test_user_cf_is_the_similarity_weighted_average(spark, rows):
    sim = spark.createDataFrame([("u", "v1", 0.8), ("u", "v2", 0.2)], SIM)
    inter = spark.createDataFrame(
        [("v1", "x", 1.0), ("v1", "y", 2.0), ("v2", "y", 1.0), ("v2", "z", 5.0), ("u", "y", 1.0)],
        UI + ", weight double",
    )
    recs = user_cf(inter, sim, inter, 10, local_max_rows=rows)
    got = [(r.item_id, r.score, r.rank) for r in recs.orderBy("rank").collect()]
    # z = 0.2 * 5 / (0.8 + 0.2) = 1.0, x = 0.8 * 1 / 1.0 = 0.8; y is seen
    assert got == [("z", pytest.approx(1.0), 1), ("x", pytest.approx(0.8), 2)]


@BOTH_PLANS
def test_top_n_and_ties_by_item_id(spark, rows):
    affinity = spark.createDataFrame([("u", "a", 1.0)], UI + ", affinity double")
    sim = spark.createDataFrame([("a", "q", 0.5), ("a", "p", 0.5), ("a", "r", 0.1)], SIM)
    got = [r.item_id for r in item_cf(affinity, sim, 2, local_max_rows=rows).orderBy("rank").collect()]
    assert got == ["p", "q"]


@BOTH_PLANS
def test_item_cf_anchor_is_the_largest_contribution_ties_by_item_id(spark, rows):
    affinity = spark.createDataFrame(
        [("u", "a", 1.0), ("u", "b", 2.0), ("u", "c", 4.0), ("w", "z", 1.0)], UI + ", affinity double")
    sim = spark.createDataFrame(
        [("a", "x", 0.8), ("b", "x", 0.4), ("c", "x", 0.1), ("a", "y", 0.3), ("c", "y", 0.2), ("b", "a", 0.9),
         ("z", "y", 0.5)], SIM)
    got = {(r.user_id, r.item_id): (r.score, r.anchor, r.rank) for r in item_cf(affinity, sim, 10,
                                                                                 local_max_rows=rows).collect()}
    # u, x: a 0.8, b 0.8, c 0.4 -> 2.0, anchor a (tie with b, smaller id); u, y: a 0.3, c 0.8 -> 1.1, anchor c;
    # "a" is u's own item, never recommended; w, y: 0.5 from z
    assert got == {("u", "x"): (pytest.approx(2.0), "a", 1), ("u", "y"): (pytest.approx(1.1), "c", 2),
                   ("w", "y"): (pytest.approx(0.5), "z", 1)}


def test_item_cf_plans_agree(spark):
    import random

    rnd = random.Random(3)
    items = [f"i{k:02d}" for k in range(30)]
    affinity = spark.createDataFrame(
        [(f"u{u}", it, float(rnd.choice([1, 2, 3]))) for u in range(40) for it in rnd.sample(items, 4)],
        UI + ", affinity double")
    # scores in quarters, so that many sums tie exactly: the ties must break the same way
    sim = spark.createDataFrame([(a, b, rnd.choice([0.25, 0.5, 0.75])) for a in items for b in rnd.sample(items, 5)
                                 if a != b], SIM)
    joined = sorted(map(tuple, item_cf(affinity, sim, 6, local_max_rows=0).collect()))
    local = sorted(map(tuple, item_cf(affinity, sim, 6).collect()))
    assert len(joined) == 40 * 6
    assert [r[:2] + r[3:] for r in local] == [r[:2] + r[3:] for r in joined]
    assert [r[2] for r in local] == pytest.approx([r[2] for r in joined])


@BOTH_PLANS
def test_a_sum_of_exactly_zero_is_still_a_candidate(spark, rows):
    # pearson's negative scores can cancel; a sparse product drops such a sum, the join keeps it: both keep it
    negative = spark.createDataFrame([("a", "x", 0.5), ("b", "x", -0.5), ("b", "y", -0.25)], SIM)
    both = spark.createDataFrame([("u", "a", 1.0), ("u", "b", 1.0)], UI + ", affinity double")
    got = [(r.item_id, r.score, r.rank) for r in item_cf(both, negative, 5, local_max_rows=rows).collect()]
    assert sorted(got) == [("x", 0.0, 1), ("y", -0.25, 2)]
    signed = spark.createDataFrame([("u", "a", 0.5), ("u", "b", -0.5)], SIM)
    two = spark.createDataFrame([("a", "x", 1.0), ("b", "x", 1.0), ("u", "y", 1.0)], UI + ", weight double")
    got = [(r.item_id, r.score) for r in user_cf(two, signed, two, 5, local_max_rows=rows).collect()]
    assert got == [("x", 0.0)]  # (0.5 - 0.5) / (0.5 + 0.5); y is u's own


def test_user_cf_plans_agree_and_users_without_neighbours_get_nothing(spark):
    import random

    rnd = random.Random(5)
    users = [f"u{k:02d}" for k in range(40)]
    inter = spark.createDataFrame(
        [(u, f"i{it:02d}", float(rnd.choice([1, 3, 5]))) for u in users for it in rnd.sample(range(25), 5)],
        UI + ", weight double")
    # quarters and whole weights: exact sums, so ties must break the same way in both plans; the last ten
    # users have no neighbours
    sim = spark.createDataFrame([(u, v, rnd.choice([0.25, 0.5, 1.0])) for u in users[:30]
                                 for v in rnd.sample(users, 6) if v != u], SIM)
    joined = sorted(map(tuple, user_cf(inter, sim, inter, 7, local_max_rows=0).collect()))
    local = sorted(map(tuple, user_cf(inter, sim, inter, 7).collect()))
    assert {r[0] for r in joined} == set(users[:30])
    assert [r[:2] + r[3:] for r in local] == [r[:2] + r[3:] for r in joined]
    assert [r[2] for r in local] == pytest.approx([r[2] for r in joined])


@BOTH_PLANS
def test_item_cf_of_an_empty_similarity_is_empty(spark, rows):
    affinity = spark.createDataFrame([("u", "a", 1.0)], UI + ", affinity double")
    assert item_cf(affinity, spark.createDataFrame([], SIM), 5, local_max_rows=rows).count() == 0
