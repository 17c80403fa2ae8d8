"""TF-IDF content neighbours (tailor.recommend.content) by hand, and a new item reached through them."""

from datetime import date, datetime, timedelta, timezone

import pytest

from tailor.recommend import content as C

PRODUCTS = "product_id string, title string, description string, category string, brand string"


def test_tfidf_neighbours_share_the_distinctive_words(spark):
    products = spark.createDataFrame([
        ("p1", "Zanzibar clove teapot", "a teapot with zanzibar clove scent", "kitchen", "Acme"),
        ("p2", "Clove mug from Zanzibar", "zanzibar clove mug", "kitchen", "Other"),
        ("p3", "Plain teapot", "a plain white teapot", "kitchen", "Acme"),
        ("p4", "Garden hose", "a long green hose", "garden", "Acme"),
        ("p5", "Garden trowel", "a green trowel for the garden", "garden", "Other"),
        ("p6", "White mug", "a plain white mug", "kitchen", "Other"),
    ], PRODUCTS)
    vectors = C.item_vectors(products, min_df=2)
    norms = {r.item_id: r.n for r in vectors.groupBy("item_id").agg({"w": "sum"}).selectExpr(
        "item_id", "`sum(w)` as n").collect()}
    assert set(norms) == {f"p{i}" for i in range(1, 7)}
    sq = {r.item_id: r.s for r in vectors.selectExpr("item_id", "w * w as w2").groupBy("item_id").agg(
        {"w2": "sum"}).selectExpr("item_id", "`sum(w2)` as s").collect()}
    assert all(v == pytest.approx(1.0) for v in sq.values())  # L2-normalised
    sim = C.content_similarity(vectors, top_k=1).collect()
    top = {r.entity: r.neighbour for r in sim}
    assert top["p1"] == "p2" and top["p2"] == "p1"  # zanzibar + clove, rarer than teapot or mug
    assert top["p4"] == "p5" and top["p5"] == "p4"  # garden + green + category=garden
    assert {r.method for r in sim} == {"tfidf"}
    assert all(0 < r.score <= 1.0 + 1e-9 for r in sim)


def test_frequent_terms_are_left_out_of_the_join(spark):
    rows = [(f"p{i}", "common word", None, None, None) for i in range(4)] + [("p4", "other", None, None, None)]
    products = spark.createDataFrame(rows, PRODUCTS)  # a term in every product has IDF 0: p4 keeps it above
    vectors = C.item_vectors(products, min_df=2)
    assert C.content_similarity(vectors, max_items_per_term=3).count() == 0
    assert C.content_similarity(vectors, max_items_per_term=4).count() == 12  # 4 x 3 neighbours


AS_OF = date(2026, 11, 23)


def _ts(days_ago: float) -> datetime:
    return datetime(2026, 11, 24, tzinfo=timezone.utc) - timedelta(days=days_ago)


def test_a_new_item_reaches_users_through_content(spark):
    from tailor.config import load_config
    from tailor.wiring import TrainData, content_source

    products = spark.createDataFrame([
        ("old", "Zanzibar clove teapot", "zanzibar clove", "kitchen", "Acme"),
        ("new", "Zanzibar clove mug", "zanzibar clove", "kitchen", "Acme"),
        ("far", "Garden hose", "green hose", "garden", "Other"),
        ("far2", "Garden trowel", "green trowel", "garden", "Other"),
    ], PRODUCTS)
    events = spark.createDataFrame(
        [("u", "old", "purchase", _ts(3), None)], "user_id string, item_id string, event_type string, ts timestamp, "
        "rating double")
    cfg = load_config([], [])
    got = content_source(TrainData(cfg, AS_OF, events, products)).collect()
    assert [(r.user_id, r.item_id, r.anchor) for r in got] == [("u", "new", "old")]  # nobody touched "new"
