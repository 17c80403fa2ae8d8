"""The recommend job end to end on the small shop after content, popularity and evaluate: filters, coverage,
idempotence."""

from datetime import date

import pytest
from pyspark.sql import functions as F

from conftest import SHOP_RUN_DATE, run_twice
from tailor.asof import cutoff
from tailor.config import warehouse

WRITTEN = ["recommendations", "popular_items", "evaluations"]
# evaluate refits every source twice: only the sources whose jobs run here (content, popularity), so that
# the weights it learns are over the candidates recommend finds (CF and ALS are tested in their own files)
SOURCES = ["content", "popular", "trending"]
FAST = (f"evaluation.sources={SOURCES}".replace("'", '"'), "hybrid.weight_grid=[0.0,1.0,2.0]", "evaluation.k=[10]",
        "hybrid.search_rounds=1")


@pytest.fixture(scope="module")
def twice(spark, shop):
    """evaluate once (it refits every source twice), then content, popularity and recommend twice."""
    from tailor.jobs import JOBS
    from tailor.jobs.base import execute

    cfg = shop(*FAST)
    execute("evaluate", JOBS["evaluate"], spark, cfg, date.fromisoformat(SHOP_RUN_DATE))
    summaries, first, second = run_twice(spark, cfg, ["content", "popularity", "recommend"], WRITTEN)
    return cfg, summaries, first, second


def test_recommendations_obey_the_filters(spark, twice):
    cfg, summaries, _first, _ = twice
    run = date.fromisoformat(SHOP_RUN_DATE)
    recs = warehouse(spark, cfg).read_run("recommendations", run).cache()
    events = warehouse(spark, cfg).read("events").where(F.col("ts") < F.lit(cutoff(run)))
    bought = events.where("event_type = 'purchase'").select("user_id", "item_id")
    assert recs.join(bought, ["user_id", "item_id"]).count() == 0
    products = warehouse(spark, cfg).read("products").select(F.col("product_id").alias("item_id"), "category")
    assert recs.join(products, "item_id", "left_anti").count() == 0
    per_cat = recs.join(products, "item_id").groupBy("user_id", "category").count().agg(F.max("count")).first()[0]
    assert per_cat <= cfg.hybrid.max_per_category
    ranks = recs.groupBy("user_id").agg(F.count(F.lit(1)).alias("n"), F.max("rank").alias("m"))
    assert ranks.where("n != m or n > 10").count() == 0  # ranks 1..n, at most top_n
    assert recs.where("reason is null").count() == 0
    assert summaries[2].metrics["weights_learned"] == 1.0  # evaluate ran first: its weights are used


def test_every_customer_and_visitor_gets_recommendations(spark, twice):
    cfg = twice[0]
    run = date.fromisoformat(SHOP_RUN_DATE)
    customers = warehouse(spark, cfg).read("customers").where(F.col("signup_date") <= F.lit(run))
    visitors = warehouse(spark, cfg).read("events").where(F.col("ts") < F.lit(cutoff(run))).select("user_id")
    everyone = customers.select(F.col("customer_id").alias("user_id")).unionByName(visitors).distinct()
    served = warehouse(spark, cfg).read_run("recommendations", run).select("user_id").distinct()
    assert everyone.join(served, "user_id", "left_anti").count() == 0


def test_evaluations_score_every_source_and_the_hybrid(spark, twice):
    cfg = twice[0]
    run = date.fromisoformat(SHOP_RUN_DATE)
    ev = warehouse(spark, cfg).read_run("evaluations", run).collect()
    recommenders = {r.recommender for r in ev}
    assert recommenders == {*SOURCES, "hybrid", "hybrid_seeds_rule"}
    metrics = {r.metric for r in ev}
    assert metrics == {"precision", "recall", "ndcg", "map", "hit_rate", "coverage", "novelty", "diversity", "users"}
    assert all(0.0 <= r.value <= 1.0 for r in ev if r.metric not in ("novelty", "users"))
    assert {r.split for r in ev} == {"time"} and {r.k for r in ev} == {10}
    tuning = warehouse(spark, cfg).read_run("tuning_results", run).where("model = 'hybrid'").collect()
    assert len(tuning) > 1 and sum(r.chosen for r in tuning) == 1
    # the chosen setting has the best validation nDCG among those covering as many items as the best source
    floor = tuning[0].metrics["coverage_floor"]
    assert floor > 0 and all(r.metrics["coverage_floor"] == floor for r in tuning)
    covering = [r for r in tuning if r.metrics["items_covered"] >= floor]
    assert covering  # each source alone is among the settings tried, and the best one reaches the floor
    best = max(covering, key=lambda r: r.metrics["ndcg"])
    assert best.chosen


def test_rerun_is_idempotent(twice):
    _, _, first, second = twice
    assert all(first[t] for t in WRITTEN)
    assert first == second
