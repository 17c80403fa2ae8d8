"""The similarity and cf jobs end to end on the small shop: filters hold, seen items never come back,
re-runs are idempotent, no cartesian products."""

from datetime import date

import pytest
from pyspark.sql import functions as F

from conftest import SHOP_RUN_DATE, run_twice
from tailor.config import warehouse

RUN = date.fromisoformat(SHOP_RUN_DATE)
WRITTEN = ["item_similarity", "user_similarity", "candidate_recs"]


@pytest.fixture(scope="module")
def twice(spark, shop):
    cfg = shop("similarity.top_k=10", "cf.top_n=5")
    summaries, first, second = run_twice(spark, cfg, ["similarity", "cf"], WRITTEN)
    return cfg, summaries, first, second


def test_similarity_tables_respect_the_settings(spark, twice):
    cfg, (sim_summary, _), _, _ = twice
    items = warehouse(spark, cfg).read_run("item_similarity", RUN)
    # the content job (run by other tests on this shared warehouse, in any order under xdist) adds tfidf
    items = items.where(F.col("method") != "tfidf")
    assert {r.method for r in items.select("method").distinct().collect()} == {"cosine", "jaccard"}
    assert items.where(F.col("co_count") < 2).count() == 0
    assert items.groupBy("entity", "method").count().where("count > 10").count() == 0
    assert items.where("entity = neighbour").count() == 0
    users = warehouse(spark, cfg).read_run("user_similarity", RUN)
    assert users.count() > 0 and users.where(F.col("score") > 1.0 + 1e-9).count() == 0
    # the caps start at their settings and say what they left out
    m = sim_summary.metrics
    assert m["user_similarity.cap"] >= 100 and m["item_similarity.cap"] >= 200
    assert m["user_similarity.capped_out"] >= 0 and m["user_similarity.pairs_bound"] > 0
    # the synthetic shop has ratings, so nothing was skipped
    assert not any(k.endswith(".skipped") for k in sim_summary.metrics)


def test_seen_items_are_never_recommended(spark, twice):
    cfg, (_, cf_summary), _, _ = twice
    # other tests share the shop warehouse and add their own sources
    recs = warehouse(spark, cfg).read_run("candidate_recs", RUN).where(F.col("source").isin("item_cf", "user_cf"))
    assert {r.source for r in recs.select("source").distinct().collect()} == {"item_cf", "user_cf"}
    seen = warehouse(spark, cfg).read("events").select("user_id", "item_id").distinct()
    assert recs.join(seen, ["user_id", "item_id"]).count() == 0
    assert recs.groupBy("user_id", "source").agg(F.max("rank").alias("m")).where("m > 5").count() == 0
    assert recs.count() == cf_summary.metrics["item_cf.rows"] + cf_summary.metrics["user_cf.rows"]


def test_rerun_for_the_same_date_is_idempotent(twice):
    _, _, first, second = twice
    assert first == second


def test_cf_plans_have_no_cartesian_product(spark, twice):
    from tailor.config import warehouse
    from tailor.recommend.neighbourhood import item_cf, user_cf
    from tailor.similarity.interactions import interactions

    cfg, _, _, _ = twice
    inter = interactions(warehouse(spark, cfg).read("events"), cfg.interactions.weights, RUN, 30.0)
    isim = warehouse(spark, cfg).read_run("item_similarity", RUN)
    usim = warehouse(spark, cfg).read_run("user_similarity", RUN)
    # the joined plans (the local ones have no join over users or items at all)
    for df in (item_cf(inter, isim, 5, local_max_rows=0), user_cf(inter, usim, inter, 5, local_max_rows=0)):
        plan = df._jdf.queryExecution().executedPlan().toString()
        assert "CartesianProduct" not in plan and "NestedLoopJoin" not in plan
