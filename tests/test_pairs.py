"""Similarity measures (tailor.similarity.pairs) against brute-force numpy and hand-worked values; thresholds,
ties, both plans."""

import math

import numpy as np
import pytest

from tailor.similarity.pairs import neighbours, pair_table, similarities, similarity

SCHEMA = "user_id string, item_id string, value double"
BOTH_PLANS = pytest.mark.parametrize("local_max_rows", [0, 1000], ids=["joined", "grouped"])


def _sims(spark, rows, method, by="user_id", entity="item_id", **kw):
    df = spark.createDataFrame(rows, SCHEMA)
    kw.setdefault("top_k", 100)
    out = similarity(df, by=by, entity=entity, value="value", method=method, **kw)
    return {(r.entity, r.neighbour): (r.score, r.co_count) for r in out.collect()}


@BOTH_PLANS
def test_the_seed_example_is_cosine_one_over_root_two_and_jaccard_one_half(spark, local_max_rows):
    # items as vectors over users (x, y, z): u = (0, 1, 0), v = (0, 1, 1)
    rows = [("y", "u", 1.0), ("y", "v", 1.0), ("z", "v", 1.0)]
    cos = _sims(spark, rows, "cosine", local_max_rows=local_max_rows)
    assert cos[("u", "v")][0] == pytest.approx(1 / math.sqrt(2))  # 0.707: the seed's 1/2 is the Jaccard index
    assert cos[("v", "u")] == cos[("u", "v")]
    assert _sims(spark, rows, "jaccard", local_max_rows=local_max_rows)[("u", "v")] == (pytest.approx(0.5), 1)


def test_pearson_and_adjusted_cosine_by_hand(spark):
    # ratings by users 1, 2, 3: a = (1, 2, 3), b = (2, 4, 6), c = (3, 2, 1)
    rows = [(u, i, float(v)) for i, vals in {"a": (1, 2, 3), "b": (2, 4, 6), "c": (3, 2, 1)}.items()
            for u, v in zip("123", vals, strict=True)]
    p = _sims(spark, rows, "pearson")
    assert p[("a", "b")][0] == pytest.approx(1.0)
    assert p[("a", "c")][0] == pytest.approx(-1.0)
    # user means: u1 (1+2+3)/3 = 2, u2 (2+4+2)/3 = 8/3, u3 (3+6+1)/3 = 10/3
    # a' = (-1, -2/3, -1/3), b' = (0, 4/3, 8/3): dot = -8/9 - 8/9 = -16/9;
    # |a'|^2 = 1 + 4/9 + 1/9 = 14/9, |b'|^2 = 16/9 + 64/9 = 80/9 -> -16 / sqrt(14 * 80)
    ac = _sims(spark, rows, "adjusted_cosine")
    assert ac[("a", "b")][0] == pytest.approx(-16 / math.sqrt(14 * 80))


def _brute(m: np.ndarray, method: str) -> dict:
    """All defined item-item similarities of a users x items matrix (0 = no interaction)."""
    n_users, n_items = m.shape
    seen = m > 0
    out = {}
    means = np.array([m[u, seen[u]].mean() if seen[u].any() else 0.0 for u in range(n_users)])
    for a in range(n_items):
        for b in range(n_items):
            both = seen[:, a] & seen[:, b]
            if a == b or not both.any():
                continue
            x, y = m[both, a], m[both, b]
            if method == "cosine":
                s = m[:, a] @ m[:, b] / (np.linalg.norm(m[:, a]) * np.linalg.norm(m[:, b]))
            elif method == "jaccard":
                s = both.sum() / (seen[:, a] | seen[:, b]).sum()
            elif method == "pearson":
                if len(x) < 2 or x.std() == 0 or y.std() == 0:
                    continue
                s = np.corrcoef(x, y)[0, 1]
            else:
                xc, yc = x - means[both], y - means[both]
                den = np.sqrt((xc**2).sum() * (yc**2).sum())
                if den == 0:
                    continue
                s = (xc * yc).sum() / den
            out[(f"i{a}", f"i{b}")] = (float(s), int(both.sum()))
    return out


@BOTH_PLANS
@pytest.mark.parametrize("method", ["cosine", "jaccard", "pearson", "adjusted_cosine"])
def test_every_measure_matches_brute_force_numpy(spark, method, local_max_rows):
    rng = np.random.default_rng(3)
    m = rng.integers(1, 6, size=(12, 7)).astype(float) * (rng.random((12, 7)) < 0.6)
    rows = [(f"u{u}", f"i{i}", float(m[u, i])) for u in range(12) for i in range(7) if m[u, i] > 0]
    got = _sims(spark, rows, method, local_max_rows=local_max_rows)
    want = _brute(m, method)
    assert set(got) == set(want)
    for pair, (score, co) in want.items():
        assert got[pair][0] == pytest.approx(score, abs=1e-9), pair
        assert got[pair][1] == co


def test_cosine_and_jaccard_read_one_pair_table_of_the_raw_values(spark):
    """The similarity job scores both from one self-join of the weighted interactions: jaccard must not
    see the weights (brute force on the same 1-5 valued matrix)."""
    rng = np.random.default_rng(5)
    m = rng.integers(1, 6, size=(10, 6)).astype(float) * (rng.random((10, 6)) < 0.6)
    rows = [(f"u{u}", f"i{i}", float(m[u, i])) for u in range(10) for i in range(6) if m[u, i] > 0]
    table = pair_table(spark.createDataFrame(rows, SCHEMA), "user_id", "item_id", "value", min_co=1)
    for method in ("cosine", "jaccard"):
        got = {(r.entity, r.neighbour): (r.score, r.co_count)
               for r in neighbours(table, method, shrinkage=0.0, top_k=100).collect()}
        want = _brute(m, method)
        assert set(got) == set(want), method
        for pair, (score, co) in want.items():
            assert got[pair] == (pytest.approx(score, abs=1e-9), co), (method, pair)


@BOTH_PLANS
@pytest.mark.parametrize("method", ["cosine", "jaccard", "pearson", "adjusted_cosine"])
def test_the_neighbours_of_some_entities_are_their_rows_of_the_full_similarity(spark, method, local_max_rows):
    """Evaluation asks only for its users' neighbours: brute force on the whole matrix, restricted to them."""
    rng = np.random.default_rng(7)
    m = rng.integers(1, 6, size=(12, 7)).astype(float) * (rng.random((12, 7)) < 0.6)
    rows = [(f"u{u}", f"i{i}", float(m[u, i])) for u in range(12) for i in range(7) if m[u, i] > 0]
    targets = spark.createDataFrame([("i1",), ("i4",), ("i4",), ("nobody",)], "item_id string")
    out = similarity(spark.createDataFrame(rows, SCHEMA), "user_id", "item_id", "value", method, top_k=100,
                     targets=targets, local_max_rows=local_max_rows)
    got = {(r.entity, r.neighbour): (r.score, r.co_count) for r in out.collect()}
    want = {pair: v for pair, v in _brute(m, method).items() if pair[0] in ("i1", "i4")}
    assert want and set(got) == set(want)
    for pair, (score, co) in want.items():
        assert got[pair] == (pytest.approx(score, abs=1e-9), co), pair
    # and top_k keeps each target's best, as similarity() does
    top1 = similarity(spark.createDataFrame(rows, SCHEMA), "user_id", "item_id", "value", method, top_k=1,
                      targets=targets, local_max_rows=local_max_rows).collect()
    best = {e: max((v[0], -int(n[1:])) for (a, n), v in want.items() if a == e) for e in ("i1", "i4")}
    assert {(r.entity, r.neighbour) for r in top1} == {(e, f"i{-b[1]}") for e, b in best.items()}


@BOTH_PLANS
def test_user_user_is_the_same_join_the_other_way(spark, local_max_rows):
    rows = [("y", "u", 1.0), ("y", "v", 1.0), ("z", "v", 1.0)]
    got = _sims(spark, rows, "cosine", by="item_id", entity="user_id", local_max_rows=local_max_rows)
    # users as vectors over items (u, v): y = (1, 1), z = (0, 1) -> 1 / sqrt(2)
    assert got[("y", "z")][0] == pytest.approx(1 / math.sqrt(2))


@BOTH_PLANS
def test_min_co_count_and_shrinkage(spark, local_max_rows):
    # a and b share users 1 and 2; a and c share user 1 only
    rows = [("1", "a", 1.0), ("1", "b", 1.0), ("1", "c", 1.0), ("2", "a", 1.0), ("2", "b", 1.0)]
    got = _sims(spark, rows, "jaccard", min_co=2, shrinkage=10.0, local_max_rows=local_max_rows)
    assert set(got) == {("a", "b"), ("b", "a")}
    assert got[("a", "b")] == (pytest.approx(1.0 * 2 / 12), 2)  # jaccard 2/2, shrunk by 2/(2+10)


@BOTH_PLANS
def test_top_k_breaks_ties_by_neighbour_id(spark, local_max_rows):
    # x co-occurs once with each of d, b, c, all with the same cosine; "B" sorts before "b" (byte order)
    rows = [("1", "x", 1.0), ("1", "d", 1.0), ("2", "x", 1.0), ("2", "b", 1.0), ("3", "x", 1.0), ("3", "c", 1.0),
            ("4", "x", 1.0), ("4", "B", 1.0)]
    got = _sims(spark, rows, "cosine", top_k=2, local_max_rows=local_max_rows)
    assert sorted(n for (e, n) in got if e == "x") == ["B", "b"]


@BOTH_PLANS
def test_a_weight_of_zero_is_a_shared_basket_with_a_dot_product_of_zero(spark, local_max_rows):
    """a and b share basket 1, where b weighs 0: co 1, cosine 0 (a sparse product would drop the sum);
    c, whose only weight is 0, has no norm, so no cosine at all, but a jaccard."""
    rows = [("1", "a", 1.0), ("1", "b", 0.0), ("2", "b", 2.0), ("3", "c", 0.0), ("3", "a", 1.0)]
    cos = _sims(spark, rows, "cosine", local_max_rows=local_max_rows)
    assert cos == {("a", "b"): (0.0, 1), ("b", "a"): (0.0, 1)}
    jac = _sims(spark, rows, "jaccard", local_max_rows=local_max_rows)
    assert jac[("a", "b")] == (pytest.approx(1 / 3), 1) and jac[("c", "a")] == (pytest.approx(1 / 2), 1)


def test_the_two_plans_agree_on_random_data(spark):
    """Both methods, with targets and without: the same pairs, counts and ranks; jaccard bit for bit."""
    rng = np.random.default_rng(11)
    rows = [(f"u{u}", f"i{i}", float(rng.integers(1, 4))) for u in range(60) for i in range(25)
            if rng.random() < 0.25]
    df = spark.createDataFrame(rows, SCHEMA)
    targets = spark.createDataFrame([(f"i{i}",) for i in range(0, 25, 3)], "item_id string")
    for t in (None, targets):
        got = {}
        for plan in (0, 10_000):
            out = similarities(df, "user_id", "item_id", "value", ["cosine", "jaccard"], min_co=2,
                               shrinkage=3.0, top_k=4, targets=t, local_max_rows=plan)
            got[plan] = {(r.method, r.entity, r.neighbour): (r.score, r.co_count) for r in out.collect()}
        joined, grouped = got[0], got[10_000]
        assert joined and set(grouped) == set(joined)
        for key, (score, co) in joined.items():
            assert grouped[key][1] == co
            assert grouped[key][0] == (score if key[0] == "jaccard" else pytest.approx(score, rel=1e-12))


def _plan(df) -> str:
    return df._jdf.queryExecution().executedPlan().toString()


def test_no_cartesian_product_or_nested_loop_join(spark):
    rows = [(f"u{u}", f"i{(u * 7 + k) % 11}", 1.0) for u in range(30) for k in range(4)]
    df = spark.createDataFrame(rows, SCHEMA)
    for method in ("cosine", "jaccard", "pearson", "adjusted_cosine"):
        for by, entity in (("user_id", "item_id"), ("item_id", "user_id")):
            plan = _plan(similarity(df, by=by, entity=entity, value="value", method=method))
            assert "CartesianProduct" not in plan and "NestedLoopJoin" not in plan, plan
            assert "SortMergeJoin" in plan or "BroadcastHashJoin" in plan or "ShuffledHashJoin" in plan
