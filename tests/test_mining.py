"""FPGrowth mining (tailor.rules.mining): itemsets and every rule metric by hand, basket hygiene, the explosion
guard."""

import math
import random

import pytest

from tailor.config import load_config
from tailor.errors import InsufficientDataError
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
        assert (m.stats.items, m.partitions) == (3 + 2 + 2 + 2 + 3, 1)  # o7's four items are not mined
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


def test_fpgrowth_gets_a_partition_per_eight_million_basket_items_up_to_the_cores_and_the_same_rows(spark):
    assert [R.partitions(n, 8) for n in (0, 1, 8_000_000, 8_000_001, 30_000_000, 10**9)] == [1, 1, 1, 2, 4, 8]
    assert R.partitions(10**9, 2) == 2
    rnd = random.Random(11)
    baskets = {f"o{b}": rnd.sample("ABCDEFGHIJKL", rnd.randint(1, 6)) for b in range(300)}
    base = ("rules.min_support=0.05", "rules.min_confidence=0.2", "rules.min_lift=0")
    got = {}
    for parts in (None, 5):
        m = mine(_cfg(*base, *([f"rules.num_partitions={parts}"] if parts else [])), _lines(spark, baskets))
        try:
            got[m.partitions] = (
                sorted((tuple(r["items"]), r.freq) for r in m.itemsets.collect()),
                sorted((tuple(r.antecedent), r.consequent, round(r.confidence, 12), round(r.lift, 12))
                       for r in m.rules.collect()))
        finally:
            m.unpersist()
    assert set(got) == {1, 5}  # the default chose one partition for these 300 baskets; the setting wins
    assert len(got[1][0]) > 30 and len(got[1][1]) > 10
    assert got[1] == got[5]


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


def test_over_the_bound_the_guard_extrapolates_from_one_mining_that_counts_two_supports(spark):
    # 45 baskets: ABCD 20 times, EFG 10, HI 10, JKLMNOPQ 5. At support 0.1 (min count 5) every subset of each
    # is frequent: 15 + 7 + 3 + 255 = 280 itemsets, and the bound is over 100. At 0.2 (count 9) the bound is
    # 9 items + C(9, 2) + min(C(9, 3), (20·4 + 10·1) / 9) + min(C(9, 4), 20 / 9) = 57.2, counted pairs (6 + 3 + 1)
    # bring it to 9 + 10 + 10 + 2.2 = 31.2: safe. Mined there: 15 + 7 + 3 = 25 itemsets; 15 of them (ABCD's)
    # reach 0.4's min count, ceil(0.4·45) = 18. So about 25 · (25 / 15) = 41.7 at 0.1.
    groups = {"ABCD": 20, "EFG": 10, "HI": 10, "JKLMNOPQ": 5}
    lines = _lines(spark, {f"{g}{b}": list(g) for g, n in groups.items() for b in range(n)})
    bask, stats = R.baskets(lines, 100)
    try:
        assert stats.baskets == 45
        e = R.guard(bask, 45, 0.1, 100, 10**9)
        assert e.counted == {0.2: 25, 0.4: 15} and e.guess == pytest.approx(25 * 25 / 15)
        assert {s: R.fpgrowth(bask, s, 1.0, None).freqItemsets.count() for s in e.counted} == e.counted
        # the guard's estimates at several supports come from one pass, equal to an estimate at each: with a
        # limit of 20, 0.1 and 0.2 need their pairs (from one pair pass), 0.4's bound 4 + 6 + 4 + 1 does not
        one = R.estimates(bask, 45, [0.1, 0.2, 0.4], 10**9, 20)
        assert one == [R.estimate(bask, 45, s, 10**9, 20) for s in (0.1, 0.2, 0.4)]
        assert [x.frequent_pairs for x in one] == [6 + 3 + 1 + 28, 10, None] and one[2].bound == pytest.approx(15)
        # pair work 20·6 + 10·3 + 10·1 + 5·28 = 300 at 0.1, 160 at 0.2: with a limit of 200 the lowest's pairs
        # are not counted, and no pair pass runs for 0.2, whose bound stays the histogram's 57.2
        capped = R.estimates(bask, 45, [0.1, 0.2], 200, 20)
        assert [(x.pair_work, x.frequent_pairs) for x in capped] == [(300, 0), (160, None)]
        assert capped[0].bound == math.inf and capped[1].bound == pytest.approx(9 + 36 + 10 + 20 / 9)
        with pytest.raises(R.ItemsetExplosionError, match=r"min_support=0\.1 would give about 41\.7 frequent "
                           r"itemsets, over rules\.max_itemsets=40.*min_support=0\.2 is known to be safe"):
            R.guard(bask, 45, 0.1, 40, 10**9)
    finally:
        bask.unpersist()
    # the guess passes 100, but the itemsets mined are counted too
    with pytest.raises(R.ItemsetExplosionError, match=r"gave 280 frequent itemsets"):
        mine(_cfg("rules.min_support=0.1", "rules.max_itemsets=100"), lines)


def test_the_pair_pass_runs_only_when_the_histogram_bound_is_over_the_limit(spark):
    # the five clean baskets ABC, AB, AC, BC, ABD. At min count 2 (support 0.4): frequent items A 4, B 4, C 3;
    # frequent items per basket {3: 1, 2: 4}, so no itemset is longer than 2 (one basket holds three)
    bask, stats = R.baskets(_lines(spark, BASKETS), 3, ["POST"])
    # without pairs: 3 items + C(3, 2) = 3 pairs -> bound 6, within the limit 6: the pairs are not counted
    loose = R.estimate(bask, stats.baskets, 0.4, 10**9, max_itemsets=6)
    assert (loose.frequent_items, loose.frequent_pairs, loose.bound) == (3, None, pytest.approx(6.0))
    # a limit of 5: the pairs are counted (AB 3, AC 2, BC 2: all three frequent), and the bound stays 6
    tight = R.estimate(bask, stats.baskets, 0.4, 10**9, max_itemsets=5)
    assert (tight.frequent_items, tight.frequent_pairs, tight.bound) == (3, 3, pytest.approx(6.0))
    # min count 3 (support 0.6): A, B, C still frequent, but only AB of the pairs: counted, the bound is 3 + 1
    strict = R.estimate(bask, stats.baskets, 0.6, 10**9, max_itemsets=5)
    assert (strict.frequent_items, strict.frequent_pairs, strict.bound) == (3, 1, pytest.approx(4.0))
    bask.unpersist()
