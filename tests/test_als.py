"""ALS top-N (tailor.recommend.als): the obvious item ranks first, seen items never come back, the two plans agree,
cold start gives no NaN."""


import pytest
from pyspark.sql import functions as F

from tailor.recommend import als as A

SCHEMA = "user_idx int, item_idx int, pref float"


def _blocks(spark):
    """Users 0-9 use items 0-3, users 10-19 items 4-7; user 20 has items 0-2 only: item 3 is the answer."""
    rows = [(u, i, 1.0) for u in range(10) for i in range(4)]
    rows += [(u, i, 1.0) for u in range(10, 20) for i in range(4, 8)]
    rows += [(20, i, 1.0) for i in range(3)]
    return spark.createDataFrame(rows, SCHEMA)


@pytest.fixture(scope="module")
def block_model(spark):
    data = _blocks(spark)
    return data, A.fit(data, A.AlsParams(rank=4, reg_param=0.01, alpha=10.0), True, max_iter=10, seed=1)


@pytest.mark.parametrize("local_max_rows", [0, 1000], ids=["spark", "grouped"])
def test_the_obvious_item_ranks_first_and_seen_items_never_appear(block_model, local_max_rows):
    data, model = block_model
    recs = A.recommend_idx(model, data, top_n=3, fetch=8, local_max_rows=local_max_rows)
    top = {r.user_idx: r.item_idx for r in recs.where("rank = 1").collect()}
    assert top[20] == 3
    seen = {(r.user_idx, r.item_idx) for r in data.collect()}
    assert not seen & {(r.user_idx, r.item_idx) for r in recs.collect()}
    # users 10-19 have seen their whole block; what is left is the other block
    assert {r.item_idx for r in recs.where("user_idx = 10").collect()} <= {0, 1, 2, 3}


def test_grouped_top_n_by_hand_ties_by_item_and_no_seen_item():
    """Item factors (1, 0), (2, 0), (2, 0), (0, 1): user 7 = (1, 1) scores 1, 2, 2, 1 and has seen item 11;
    user 8 = (0, 1) scores 0, 0, 0, 1 and has seen everything but item 10."""
    import numpy as np
    import pyarrow as pa

    ids = np.array([10, 11, 12, 13], np.int32)
    factors = np.array([[1.0, 0.0], [2.0, 0.0], [2.0, 0.0], [0.0, 1.0]])
    users = pa.table({"_u": pa.array([8, 7], pa.int32()),
                      "features": pa.array([[0.0, 1.0], [1.0, 1.0]], pa.list_(pa.float32()))})
    seen = pa.table({"_su": pa.array([7, 8, 8, 8, 99], pa.int32()),
                     "_si": pa.array([11, 11, 12, 13, 10], pa.int32())})
    got = A._top_unseen(users, seen, ids, factors, top_n=3).to_pylist()
    assert [(r["user_idx"], r["item_idx"], r["score"], r["rank"]) for r in got] == [
        (7, 12, 2.0, 1), (7, 10, 1.0, 2), (7, 13, 1.0, 3),  # 10 and 13 tie at 1: the smaller idx first
        (8, 10, 0.0, 1),  # one unseen item left: one recommendation, not three
    ]


def test_grouped_and_spark_top_n_agree(spark):
    """A random implicit problem: both plans give the same items in the same order (scores to float
    precision: Spark scores in float, the grouped plan in double)."""
    import numpy as np

    rng = np.random.default_rng(4)
    rows = [(int(u), int(i), float(rng.integers(1, 4))) for u in range(40) for i in range(30) if rng.random() < 0.2]
    data = spark.createDataFrame(rows, SCHEMA)
    model = A.fit(data, A.AlsParams(rank=5, reg_param=0.1, alpha=2.0), True, max_iter=5, seed=3)
    got = {}
    for plan in (0, 1000):
        recs = A.recommend_idx(model, data, top_n=5, fetch=30, local_max_rows=plan).collect()
        got[plan] = {(r.user_idx, r["rank"]): (r.item_idx, r.score) for r in recs}
    assert got[0] and set(got[0]) == set(got[1000])
    assert all(got[0][k][0] == got[1000][k][0] and abs(got[0][k][1] - got[1000][k][1]) < 1e-4 for k in got[0])
    # a subset of users taken from the same frame as the seen items (as evaluation does): no ambiguous self-join
    subset = data.where("user_idx < 10").select("user_idx")
    some = A.recommend_idx(model, data, top_n=5, fetch=30, users=subset, local_max_rows=1000).collect()
    assert {(r.user_idx, r["rank"]): r.item_idx for r in some} == {
        k: v[0] for k, v in got[1000].items() if k[0] < 10}


def test_cold_start_users_and_items_are_dropped_not_nan(spark, block_model):
    _, model = block_model
    probe = spark.createDataFrame([(0, 0, 1.0), (99, 0, 1.0), (0, 99, 1.0)], SCHEMA)
    out = model.transform(probe)
    assert out.count() == 1
    assert out.where(F.isnan("prediction")).count() == 0


def test_fetch_size_covers_the_heaviest_user(spark):
    data = _blocks(spark)
    assert A.fetch_size(data, top_n=5, max_fetch=500) == 5 + 4
    assert A.fetch_size(data, top_n=5, max_fetch=7) == 7


