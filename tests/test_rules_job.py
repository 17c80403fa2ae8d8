"""The rules job: idempotent, and recommends only unseen items."""

from datetime import date

from conftest import SHOP_RUN_DATE, run_twice
from tailor.config import warehouse


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
