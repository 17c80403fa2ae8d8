"""Cross-sell from association rules (tailor.rules.cross_sell): joined on the antecedent, best rules per item,
recent orders."""


from tailor.rules import cross_sell as X


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


def test_frequently_bought_together_names_both_products_where_the_catalogue_can(spark):
    fbt = spark.createDataFrame([("A", "S", 0.1, 0.8, 2.0, 1), ("C", "B", 0.1, 0.7, 1.5, 1)],
                                "item_id string, consequent string, support double, confidence double, lift double,"
                                " rank int")
    products = spark.createDataFrame([("A", "Apron"), ("B", None), ("S", "Spoon")], "product_id string, title string")
    got = sorted((r.item_id, r.title, r.consequent, r.consequent_title)
                 for r in X.with_titles(fbt, products).collect())
    # C is not in the catalogue and B has no title: both stay null, and no row is lost
    assert got == [("A", "Apron", "S", "Spoon"), ("C", None, "B", None)]


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
