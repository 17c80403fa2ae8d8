"""Association rules: itemsets and every rule metric by hand, basket hygiene, the explosion guard,
cross-sell by joining on the antecedent, and the job's idempotence."""

import math
from datetime import date

import pytest

from conftest import SHOP_RUN_DATE, run_twice
from tailor.config import load_config, warehouse
from tailor.errors import InsufficientDataError
from tailor.rules import cross_sell as X
from tailor.rules import mining as R
from tailor.wiring import mine

LINES = "order_id string, item_id string"


def _cfg(*overrides):
    return load_config([], list(overrides))


def _lines(spark, baskets):
    return spark.createDataFrame([(o, i) for o, items in baskets.items() for i in items], LINES)


# Five baskets once cleaned. A: 4, B: 4, C: 3, D: 1; AB: 3, AC: 2, BC: 2, ABC: 1.
BASKETS = {
    "o1": ["A", "B", "C"], "o2": ["A", "B"], "o3": ["A", "C"], "o4": ["B", "C"],
    "o5": ["A", "B", "D", "A"],  # A twice: FPGrowth would reject the basket
    "o6": ["POST"],  # only an excluded code: an empty basket
    "o7": ["E", "F", "G", "H"],  # over max_basket_size 3
}


def test_itemsets_and_every_rule_metric_match_the_hand_computation(spark):
    cfg = _cfg("rules.min_support=0.4", "rules.min_confidence=0.5", "rules.min_lift=0", "rules.max_basket_size=3",
               'rules.exclude_items=["POST"]')
    m = mine(cfg, _lines(spark, BASKETS))
    try:
        assert (m.stats.baskets, m.stats.empty, m.stats.oversize) == (5, 1, 1)
        sets = {tuple(r["items"]): (r.freq, r.support, r.size) for r in m.itemsets.collect()}
        assert sets == {
            ("A",): (4, 0.8, 1), ("B",): (4, 0.8, 1), ("C",): (3, pytest.approx(0.6), 1),
            ("A", "B"): (3, pytest.approx(0.6), 2), ("A", "C"): (2, 0.4, 2), ("B", "C"): (2, 0.4, 2),
        }  # ABC is in one basket of five: under 0.4
        rules = {(tuple(r.antecedent), r.consequent): r for r in m.rules.collect()}
        # (support, confidence, lift, leverage, conviction), e.g. A -> B: 0.6, 3/4, 0.75/0.8, 0.6 - 0.8·0.8,
        # (1 - 0.8) / (1 - 0.75)
        want = {
            (("A",), "B"): (0.6, 0.75, 0.9375, -0.04, 0.8), (("B",), "A"): (0.6, 0.75, 0.9375, -0.04, 0.8),
            (("A",), "C"): (0.4, 0.5, 0.5 / 0.6, 0.4 - 0.48, 0.4 / 0.5),
            (("C",), "A"): (0.4, 2 / 3, (2 / 3) / 0.8, 0.4 - 0.48, 0.2 / (1 / 3)),
            (("B",), "C"): (0.4, 0.5, 0.5 / 0.6, 0.4 - 0.48, 0.4 / 0.5),
            (("C",), "B"): (0.4, 2 / 3, (2 / 3) / 0.8, 0.4 - 0.48, 0.2 / (1 / 3)),
        }
        assert set(rules) == set(want)
        for key, (supp, conf, lift, lev, conv) in want.items():
            r = rules[key]
            assert (r.support, r.confidence, r.lift, r.leverage, r.conviction) == pytest.approx(
                (supp, conf, lift, lev, conv)), key
        assert rules[(("C",), "A")].antecedent_support == pytest.approx(0.6)
        assert rules[(("C",), "A")].consequent_support == pytest.approx(0.8)
    finally:
        m.unpersist()
    lifted = mine(_cfg("rules.min_support=0.4", "rules.min_confidence=0.5", "rules.min_lift=0.9",
                       "rules.max_basket_size=3", 'rules.exclude_items=["POST"]'), _lines(spark, BASKETS))
    assert sorted((tuple(r.antecedent), r.consequent) for r in lifted.rules.collect()) == [
        (("A",), "B"), (("B",), "A")]
    lifted.unpersist()


def test_a_rule_with_confidence_one_has_infinite_conviction(spark):
    m = mine(_cfg("rules.min_support=0.5", "rules.min_confidence=0.9"),
             _lines(spark, {"o1": ["X", "Y"], "o2": ["X", "Y"], "o3": ["Y"]}))
    rules = {(tuple(r.antecedent), r.consequent): r for r in m.rules.collect()}
    m.unpersist()
    assert set(rules) == {(("X",), "Y")}  # Y -> X has confidence 2/3
    assert math.isinf(rules[(("X",), "Y")].conviction) and rules[(("X",), "Y")].lift == pytest.approx(1.0)


def test_rare_items_are_pruned_before_mining_and_nothing_left_is_an_error(spark):
    bask, stats = R.baskets(_lines(spark, {"o1": ["A", "B"], "o2": ["A"], "o3": ["C"]}), 10, (), 2)
    got = sorted((r.basket_id, list(r["items"])) for r in bask.collect())
    bask.unpersist()
    assert got == [("o1", ["A"]), ("o2", ["A"])] and (stats.pruned_items, stats.empty) == (2, 1)
    with pytest.raises(InsufficientDataError, match="no baskets"):
        mine(_cfg('rules.exclude_items=["POST"]'), _lines(spark, {"o1": ["POST"]}))


def test_the_bound_is_exact_on_one_repeated_basket():
    # two identical baskets of three frequent items, min count 2: the 7 non-empty subsets are all frequent
    assert R.itemset_bound(2, 3, 3, {3: 2}) == (pytest.approx(7.0), 3)
    # a single basket can hold a long itemset only if min count baskets do
    assert R.itemset_bound(2, 3, 1, {3: 1, 2: 1}) == (pytest.approx(4.0), 2)


def test_the_guard_stops_a_pathological_basket_set_before_mining(spark):
    # thirty identical baskets of 22 items: every one of the 2^22 - 1 subsets is frequent
    items = [f"I{i:02d}" for i in range(22)]
    lines = _lines(spark, {f"o{b}": items for b in range(30)})
    cfg = _cfg("rules.min_support=0.5", "rules.max_itemsets=100000")
    with pytest.raises(R.ItemsetExplosionError, match=r"rules\.min_support=0\.5 may give up to 4\.19e\+06"):
        mine(cfg, lines)
    with pytest.raises(R.ItemsetExplosionError, match=r"rules\.max_pair_work=100"):
        mine(_cfg("rules.min_support=0.5", "rules.max_pair_work=100"), lines)


def test_cross_sell_fires_rules_whose_whole_antecedent_is_in_recent_baskets(spark):
    rules = spark.createDataFrame([
        (["A"], "B", 0.6, 2.0, 0.1), (["A", "C"], "D", 0.9, 3.0, 0.1), (["A", "E"], "F", 0.99, 5.0, 0.1),
        (["C"], "B", 0.7, 1.5, 0.1), (["A"], "S", 0.8, 2.0, 0.1),
    ], "antecedent array<string>, consequent string, confidence double, lift double, support double")
    recent = spark.createDataFrame([("u", "A"), ("u", "C"), ("v", "E")], "user_id string, item_id string")
    seen = spark.createDataFrame([("u", "S")], "user_id string, item_id string")
    got = [(r.user_id, r.item_id, r.score, r.rank, r.anchor) for r in
           X.recommend(rules, recent, seen, 10).orderBy("user_id", "rank").collect()]
    # u: {A, C} fires A->B, AC->D, C->B (B keeps its best rule, C->B at 0.7); A,E->F needs E; S was seen.
    # v has E alone: nothing fires
    assert got == [("u", "D", 0.9, 1, "A + C"), ("u", "B", 0.7, 2, "C")]
    fbt = X.frequently_bought_together(rules, 1).collect()
    assert sorted((r.item_id, r.consequent, r.rank) for r in fbt) == [("A", "S", 1), ("C", "B", 1)]


def test_cross_sell_uses_only_the_best_rules_of_each_antecedent_item(spark):
    rules = spark.createDataFrame([
        (["A"], "B", 0.9, 2.0), (["A"], "C", 0.8, 2.0), (["A", "Z"], "D", 0.95, 3.0), (["A"], "E", 0.1, 9.0),
        (["Z"], "F", 0.5, 1.0),
    ], "antecedent array<string>, consequent string, confidence double, lift double")
    kept = sorted((tuple(r.antecedent), r.consequent) for r in X.usable(rules, 2).collect())
    # A's best two: AZ->D (0.95), A->B (0.9); A->C and A->E are third and fourth. Z's: AZ->D, Z->F
    assert kept == [(("A",), "B"), (("A", "Z"), "D"), (("Z",), "F")]
    # at 1 per item, AZ->D is the best of A and of Z; A->B and Z->F are second
    assert [r.consequent for r in X.usable(rules, 1).collect()] == ["D"]


def test_recent_items_are_the_last_orders(spark):
    from datetime import datetime

    lines = spark.createDataFrame([
        ("u", "o1", "A", datetime(2026, 1, 1)), ("u", "o2", "B", datetime(2026, 2, 1)),
        ("u", "o3", "C", datetime(2026, 3, 1)), ("u", "o3", "D", datetime(2026, 3, 1)),
    ], "user_id string, order_id string, item_id string, ts timestamp")
    got = sorted((r.user_id, r.item_id) for r in X.recent_items(lines, 2).collect())
    assert got == [("u", "B"), ("u", "C"), ("u", "D")]


def test_the_rules_job_is_idempotent_and_recommends_unseen_items(spark, shop):
    from pyspark.sql import functions as F


    cfg = shop("rules.min_support=0.01", "rules.min_confidence=0.05")
    written = ["frequent_itemsets", "association_rules", "frequently_bought_together", "candidate_recs"]
    summaries, first, second = run_twice(spark, cfg, ["rules"], written)
    assert first == second
    assert summaries[0].metrics["association_rules.rows"] > 0 and summaries[0].metrics["rules.rows"] > 0
    run = date.fromisoformat(SHOP_RUN_DATE)
    recs = warehouse(spark, cfg).read_run("candidate_recs", run).where(F.col("source") == "rules")
    seen = warehouse(spark, cfg).read("events").select("user_id", "item_id")
    assert recs.join(seen, ["user_id", "item_id"], "left_semi").count() == 0
    assert recs.where(F.col("anchor").isNull()).count() == 0
