"""The hybrid (tailor.recommend.hybrid): normalisation, the weight search, serving filters, cold start, the two
plans."""

import math

import pytest
from pyspark.sql import functions as F

from tailor.recommend import hybrid as H

UI = "user_id string, item_id string"
CANDS = "user_id string, item_id string, score double, rank int, anchor string, source string"


# the weight search's scoring: Spark's plan (0) and numpy on the driver (1000 rows)
SCORERS = pytest.mark.parametrize("local_max_rows", [0, 1000], ids=["spark", "local"])


def _cands(spark, rows):
    return spark.createDataFrame(rows, CANDS)


def test_rank_and_minmax_normalisation(spark):
    c = _cands(spark, [("u", f"i{r}", 10.0 - r, r, None, "a") for r in range(1, 5)] + [("u", "j", 3.0, 1, None, "b")])
    got = {(r.source, r.item_id): r.norm for r in H.normalised(c, "rank").collect()}
    assert [got[("a", f"i{r}")] for r in range(1, 5)] == [1.0, 0.75, 0.5, 0.25]
    assert got[("b", "j")] == 1.0
    mm = {(r.source, r.item_id): r.norm for r in H.normalised(c, "minmax").collect()}
    assert [mm[("a", f"i{r}")] for r in range(1, 5)] == pytest.approx([1.0, 2 / 3, 1 / 3, 0.0])
    assert mm[("b", "j")] == 1.0  # a single score: 1


@SCORERS
def test_seeds_rule_and_weight_search(spark, local_max_rows):
    assert H.seeds_rule({"a": 0.3, "b": 0.1}) == pytest.approx({"a": 0.75, "b": 0.25})
    assert H.seeds_rule({"a": 0.0, "b": 0.0}) == {"a": 0.5, "b": 0.5}
    # u1's truth is b's pick, u2's is a's: a blend weighting b more wins u1 without losing u2
    norm = H.normalised(_cands(spark, [
        ("u1", "A1", 1.0, 1, None, "a"), ("u1", "B1", 1.0, 1, None, "b"),
        ("u2", "A2", 1.0, 1, None, "a"), ("u2", "B0", 0.5, 2, None, "b"), ("u2", "B2", 1.0, 1, None, "b"),
    ]), "rank")
    truth = spark.createDataFrame([("u1", "B1"), ("u2", "A2")], UI)
    scores = H.scorer(norm, truth, 1, local_max_rows=local_max_rows).score([{"a": 1.0, "b": 0.0},
                                                                            {"a": 0.0, "b": 1.0}])
    # a alone: u1 gets A1 (miss), u2 A2 (hit) -> 0.5; items in the top 1: A1, A2. b alone: B1 hit, B2 miss
    assert scores == [(pytest.approx(0.5), 2), (pytest.approx(0.5), 2)]
    # a setting's lists hold only what the sources it names proposed, as blend() serves them: at k=2, a alone
    # gives u1 [A1] (not B1 after it, which only b proposed) and u2 [A2]: nDCG (0 + 1) / 2 over 2 items
    scorer = H.scorer(norm, truth, 2, local_max_rows=local_max_rows)
    assert scorer.score([{"a": 1.0}]) == [(pytest.approx(0.5), 2)]
    assert scorer.score([{"a": 1.0, "b": 0.0}])[0][1] == 4  # b named with weight 0 still proposes B1, B0, B2
    tried = H.search_weights(H.scorer(norm, truth, 1, local_max_rows=local_max_rows), {"a": 0.5, "b": 0.5},
                             [0.0, 1.0, 2.0], 2)
    assert tried[0].how == "seeds_rule" and tried[0].weights == {"a": 0.5, "b": 0.5}
    assert H.best(tried, 0).ndcg == pytest.approx(0.5)  # at k=1 one of the two users is always missed


def test_item_information_and_the_novelty_term(spark):
    pairs = spark.createDataFrame([("t1", "A"), ("t2", "A"), ("t3", "A"), ("t1", "B"), ("t1", "B")], UI)
    info = {r.item_id: r.info for r in H.item_information(pairs).collect()}
    # three users; A: 3 of them, B: 1 (the repeated pair counts once)
    assert info == {"A": pytest.approx(-math.log2(4 / 4)), "B": pytest.approx(-math.log2(2 / 4))}
    norm = H.normalised(_cands(spark, [
        ("u", "A", 1.0, 1, None, "a"), ("u", "B", 0.5, 2, None, "a"), ("u", "N", 0.9, 1, None, "b"),
        ("v", "A", 1.0, 1, None, "a"),
    ]), "rank")
    nov = {(r.user_id, r.item_id): r.norm for r in H.with_novelty(norm, H.item_information(pairs)).collect()
           if r.source == H.NOVELTY}
    # candidates read from candidate_recs carry more columns (run_date): the novelty rows leave them null
    wider = H.with_novelty(norm.withColumn("run_date", F.current_date()), H.item_information(pairs))
    assert wider.where("source = 'novelty' and run_date is null").count() == 4
    # u: A has info 0, B 1 -> min-max 0 and 1; N nobody touched -> 1. v: one candidate -> 1
    assert nov == {("u", "A"): 0.0, ("u", "B"): 1.0, ("u", "N"): 1.0, ("v", "A"): 1.0}
    blended = {(r.user_id, r.item_id): r for r in H.blend(H.with_novelty(norm, H.item_information(pairs)),
                                                          {"a": 1.0, "b": 1.0, H.NOVELTY: 0.5}).collect()}
    assert blended[("u", "A")].score == pytest.approx(1.0)  # a's rank 1 of 2; novelty 0
    assert blended[("u", "B")].score == pytest.approx(0.5 + 0.5)  # a's rank 2 of 2, plus half of novelty 1
    assert blended[("u", "B")].source == "a"  # the novelty term adds to the score, never names the source


@SCORERS
def test_the_coverage_floor_keeps_the_search_from_trading_coverage_for_accuracy(spark, local_max_rows):
    # Both users' truth is the blockbuster P, which source "pop" ranks first for everyone; source "own" ranks
    # a different niche item first for each user, P second. At k=1 "pop" alone wins nDCG but covers one item.
    rows = []
    for u, niche in (("u1", "X1"), ("u2", "X2"), ("u3", "X3")):
        rows += [(u, "P", 1.0, 1, None, "pop"), (u, niche, 1.0, 1, None, "own"), (u, "P", 0.5, 2, None, "own")]
    norm = H.normalised(_cands(spark, rows), "rank")
    truth = spark.createDataFrame([("u1", "P"), ("u2", "P"), ("u3", "X3")], UI)
    alone = H.scorer(norm, truth, 1, local_max_rows=local_max_rows).score([{"own": 1.0}, {"pop": 1.0}])
    assert alone == [(pytest.approx(1 / 3), 3), (pytest.approx(2 / 3), 1)]
    at1 = H.scorer(norm, truth, 1, local_max_rows=local_max_rows)
    free = H.search_weights(at1, {"own": 1 / 3, "pop": 2 / 3}, [0.0, 1.0], 2)
    assert H.best(free, 0).ndcg == pytest.approx(2 / 3) and H.best(free, 0).items == 1
    # with the floor at "own"'s coverage (3 items), only settings that keep 3 items count
    kept = H.search_weights(at1, {"own": 1 / 3, "pop": 2 / 3}, [0.0, 1.0], 2, floor=3)
    assert H.best(kept, 3).items == 3 and H.best(kept, 3).ndcg == pytest.approx(1 / 3)
    assert H.best(kept, 3).weights["pop"] == 0.0
    # given each source alone, the search starts from the best of them and never ends below it
    alone = {"own": alone[0], "pop": alone[1]}
    started = H.search_weights(at1, {"own": 1 / 3, "pop": 2 / 3}, [0.0], 1, floor=0, alone=alone)
    assert [t.how for t in started[:3]] == ["seeds_rule", "own alone", "pop alone"]
    assert H.best(started, 0).ndcg == pytest.approx(2 / 3)


@SCORERS
def test_validation_scores_what_would_be_served_under_the_category_cap(spark, local_max_rows):
    norm = H.normalised(_cands(spark, [
        ("u", "X1", 3.0, 1, None, "a"), ("u", "X2", 2.0, 2, None, "a"), ("u", "Y1", 1.0, 3, None, "a"),
    ]), "rank")
    truth = spark.createDataFrame([("u", "Y1")], UI)
    cats = spark.createDataFrame([("X1", "x"), ("X2", "x"), ("Y1", "y")], "item_id string, category string")
    # uncapped, Y1 is third: a miss at k=2; capped at one per category it is second: 1/log2(3)
    assert H.scorer(norm, truth, 2, local_max_rows=local_max_rows).score([{"a": 1.0}]) == [(0.0, 2)]
    capped = H.scorer(norm, truth, 2, cats, 1, local_max_rows)
    assert capped.score([{"a": 1.0}]) == [(pytest.approx(1 / math.log2(3)), 2)]


def test_the_two_scoring_plans_agree_on_random_data(spark):
    """The weight search's scores from numpy on the driver equal Spark's, with ties (norms by rank take few
    values), popularity breaking them, the category cap, users with no candidate, novelty and weight 0."""
    import numpy as np

    rng = np.random.default_rng(11)
    rows = []
    for u in range(50):
        for s in ["als", "item_cf", "popular", "rules"]:
            items = rng.choice(40, size=int(rng.integers(0, 9)), replace=False)
            rows += [(f"u{u}", f"i{i:02d}", 1.0, r + 1, None, s) for r, i in enumerate(items)]
    norm = H.normalised(_cands(spark, rows), "rank")
    info = spark.createDataFrame([(f"t{t}", f"i{i:02d}") for t in range(20) for i in rng.choice(40, 6)], UI)
    norm = H.with_novelty(norm, H.item_information(info))
    truth = spark.createDataFrame([(f"u{u}", f"i{i:02d}") for u in range(55)  # u50-u54: no candidate
                                   for i in rng.choice(40, int(rng.integers(1, 6)), replace=False)], UI)
    cats = spark.createDataFrame([(f"i{i:02d}", None if i % 9 == 0 else f"c{i % 3}") for i in range(40)],
                                 "item_id string, category string")
    settings = [{"als": 1.0}, {"popular": 1.0}, {"als": 0.5, "item_cf": 0.5, "popular": 0.0},
                {"als": 1.0, "rules": 2.0, H.NOVELTY: 0.25}, {"item_cf": 0.0, "rules": 0.0},
                {"als": 0.25, "item_cf": 4.0, "popular": 1.0, "rules": 0.5, H.NOVELTY: 0.0}]
    for k, cap in ((5, None), (10, 2), (3, 1)):
        by_spark = H.scorer(norm, truth, k, cats, cap, local_max_rows=0)
        by_numpy = H.scorer(norm, truth, k, cats, cap, local_max_rows=10_000)
        assert by_spark.local is None and by_numpy.local is not None and by_numpy.n_users == 55
        got, want = by_numpy.score(settings), by_spark.score(settings)
        assert [items for _, items in got] == [items for _, items in want]
        assert [n for n, _ in got] == pytest.approx([n for n, _ in want], rel=1e-12)
        assert len({n for n, _ in want}) > 3  # the settings rank differently
    # over the limit, the scorer falls back to Spark's plan
    assert H.scorer(norm, truth, 5, cats, None, local_max_rows=10).local is None


# serve(): the same lists from raw candidates, by Spark's plan (0) and the grouped numpy plan (1000)
PLANS = pytest.mark.parametrize("local_max_rows", [0, 1000], ids=["spark", "grouped"])
CATS = "item_id string, category string"


def _served(spark, rows, settings, catalogue, bought=(), top_n=10, cap=None, method="rank", info=None, lmr=1000):
    got = H.serve(_cands(spark, rows), spark.createDataFrame(list(bought), UI), catalogue, settings, top_n, cap,
                  method, info, local_max_rows=lmr)
    return sorted(got.collect(), key=lambda r: (r.recommender, r.user_id, r.rank))


@PLANS
def test_serve_blends_with_the_weights_and_names_the_top_source(spark, local_max_rows):
    rows = [("u", "X", 9.0, 1, "p1", "a"), ("u", "Y", 5.0, 2, "p2", "a"),
            ("u", "Y", 0.9, 1, "p3", "b"), ("u", "Z", 0.1, 2, "p4", "b")]  # a: X 1, Y 0.5; b: Y 1, Z 0.5
    catalogue = spark.createDataFrame([("X", "c1"), ("Y", "c2"), ("Z", "c3")], CATS)
    got = _served(spark, rows, {"ab": {"a": 1.0, "b": 2.0}, "ba": {"a": 2.0, "b": 1.0}, "b": {"b": 1.0}},
                  catalogue, lmr=local_max_rows)
    ab = [(r.item_id, r.score, r.rank, r.source, r.anchor) for r in got if r.recommender == "ab"]
    # X and Z tie at 1.0: by item id
    assert ab == [("Y", 2.5, 1, "b", "p3"), ("X", 1.0, 2, "a", "p1"), ("Z", 1.0, 3, "b", "p4")]
    ba = {r.item_id: (r.score, r.source, r.anchor, r.reason) for r in got if r.recommender == "ba"}
    # Y: 2 x 0.5 + 1 x 1: equal contributions, the first source by name
    assert ba == {"X": (2.0, "a", "p1", None), "Y": (2.0, "a", "p2", None), "Z": (0.5, "b", "p4", None)}
    assert [r.item_id for r in got if r.recommender == "b"] == ["Y", "Z"]  # only what b proposed


@PLANS
def test_serve_filters_bought_catalogue_and_category_cap(spark, local_max_rows):
    rows = [("u", f"i{n}", 10.0 - n, n, None, "a") for n in range(1, 7)] + [("v", "i1", 1.0, 1, None, "a")]
    catalogue = spark.createDataFrame([("i1", "c1"), ("i2", "c1"), ("i3", "c1"), ("i4", "c2"), ("i6", "c1")], CATS)
    one = {"a": {"a": 1.0}}
    got = _served(spark, rows, one, catalogue, [("u", "i1")], cap=2, lmr=local_max_rows)
    # u: i1 bought, i5 not on sale, i6 would be a third c1; v keeps i1 (only u bought it)
    assert [(r.user_id, r.item_id, r.rank) for r in got] == [("u", "i2", 1), ("u", "i3", 2), ("u", "i4", 3),
                                                             ("v", "i1", 1)]
    assert [r.item_id for r in _served(spark, rows, one, catalogue, [("u", "i1")], top_n=2,
                                       lmr=local_max_rows) if r.user_id == "u"] == ["i2", "i3"]
    bare = spark.createDataFrame([(f"i{n}", None) for n in range(1, 7)], CATS)  # no category: none capped
    assert len(_served(spark, rows, one, bare, [("u", "i1")], cap=2, lmr=local_max_rows)) == 6


@PLANS
def test_serve_minmax_and_popularity_breaking_ties_for_a_new_user(spark, local_max_rows):
    rows = [("new", "B", 50.0, 1, "country:DE", "popular"), ("new", "A", 40.0, 2, "country:DE", "popular"),
            ("old", "C", 4.0, 1, "x", "item_cf"), ("old", "D", 2.0, 2, "y", "item_cf"),
            ("old", "E", 1.0, 3, "z", "item_cf")]
    catalogue = spark.createDataFrame([(i, "c") for i in "ABCDE"], CATS)
    got = _served(spark, rows, {"h": {"item_cf": 1.0, "popular": 0.0}}, catalogue, method="minmax",
                  lmr=local_max_rows)
    new = [(r.item_id, r.score, r.reason) for r in got if r.user_id == "new"]
    assert new == [("B", 0.0, "popular in DE"), ("A", 0.0, "popular in DE")]  # popularity order, not by id
    old = [(r.item_id, r.score, r.reason) for r in got if r.user_id == "old"]
    # min-max over 4, 2, 1: 1, 1/3, 0
    assert old == [("C", 1.0, "customers who liked x also liked this"),
                   ("D", pytest.approx(1 / 3), "customers who liked y also liked this"),
                   ("E", 0.0, "customers who liked z also liked this")]


@PLANS
def test_serve_adds_the_novelty_term(spark, local_max_rows):
    pairs = spark.createDataFrame([("t1", "A"), ("t2", "A"), ("t3", "A"), ("t1", "B")], UI)
    rows = [("u", "A", 1.0, 1, None, "a"), ("u", "B", 0.5, 2, None, "a"), ("u", "N", 0.9, 1, None, "b"),
            ("v", "A", 1.0, 1, None, "a")]
    catalogue = spark.createDataFrame([(i, "c") for i in "ABN"], CATS)
    got = _served(spark, rows, {"h": {"a": 1.0, "b": 1.0, H.NOVELTY: 0.5}}, catalogue,
                  info=H.item_information(pairs), lmr=local_max_rows)
    # u: novelty A 0, B 1, N 1 (nobody touched it); v: one candidate, 1
    assert {(r.user_id, r.item_id): (r.score, r.source) for r in got} == {
        ("u", "A"): (1.0, "a"), ("u", "B"): (0.5 + 0.5, "a"), ("u", "N"): (1.0 + 0.5, "b"), ("v", "A"): (1.5, "a")}
    assert [r.item_id for r in got if r.user_id == "u"] == ["N", "A", "B"]  # A and B tie at 1.0: by id


@pytest.mark.parametrize("method", ["rank", "minmax"])
def test_the_two_serving_plans_agree_on_random_data(spark, method):
    import numpy as np

    rng = np.random.default_rng(5)
    sources = ["als", "content", "item_cf", "popular", "rules"]
    rows = []
    for u in range(40):
        for s in sources:
            items = rng.choice(60, size=int(rng.integers(0, 12)), replace=False)
            scores = np.sort(rng.random(len(items)))[::-1]
            rows += [(f"u{u}", f"i{i:02d}", float(v), r + 1, f"a{int(rng.integers(5))}" if s != "als" else None, s)
                     for r, (i, v) in enumerate(zip(items, scores, strict=True))]
    catalogue = spark.createDataFrame(
        [(f"i{i:02d}", None if i % 7 == 0 else f"c{i % 4}") for i in range(60) if i % 11], CATS)
    bought = [(f"u{u}", f"i{i:02d}") for u in range(40) for i in rng.choice(60, 5, replace=False)]
    info = spark.createDataFrame([(f"i{i:02d}", float(rng.random() * 5)) for i in range(0, 60, 2)],
                                 "item_id string, info double")
    w = {s: float(rng.random()) for s in sources}
    settings = {"hybrid": {**w, H.NOVELTY: 0.3}, "two": {"als": 0.7, "rules": 0.2}, "pop": {"popular": 1.0}}
    spark_rows = _served(spark, rows, settings, catalogue, bought, 7, 2, method, info, lmr=0)
    assert catalogue.count() == 54
    for lmr in (1000, 60):  # 60: about 20 groups, more than the shuffle partitions
        plan = H.serve(_cands(spark, rows), spark.createDataFrame(bought, UI), catalogue, settings, 7, 2, method,
                       info, local_max_rows=lmr)._jdf.queryExecution().executedPlan().toString()
        assert "CoGroup" in plan  # the grouped plan ran
        grouped = _served(spark, rows, settings, catalogue, bought, 7, 2, method, info, lmr=lmr)
        assert len(grouped) == len(spark_rows) > 200
        for a, b in zip(grouped, spark_rows, strict=True):
            assert (a.recommender, a.user_id, a.rank, a.item_id, a.source, a.anchor, a.reason) == (
                b.recommender, b.user_id, b.rank, b.item_id, b.source, b.anchor, b.reason)
            assert a.score == pytest.approx(b.score, rel=1e-12, abs=1e-15)
