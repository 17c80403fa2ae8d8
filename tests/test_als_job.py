"""The als job end to end: ids, factors and unseen recommendations; idempotent with stable ids; tuning recorded."""

from datetime import date

import pytest
from pyspark.sql import functions as F

from conftest import SHOP_RUN_DATE
from tailor.config import warehouse
from tailor.jobs import JOBS
from tailor.jobs.base import execute

RUN = date.fromisoformat(SHOP_RUN_DATE)


@pytest.fixture(scope="module")
def twice(spark, shop):
    cfg = shop("als.rank=4", "als.max_iter=5", "als.top_n=5")
    execute("als", JOBS["als"], spark, cfg, RUN)
    first = {t: sorted(str(tuple(r)) for r in warehouse(spark, cfg).read(t).collect())
             for t in ("id_map", "als_user_factors", "als_item_factors")}
    first["recs"] = sorted(str(tuple(r)) for r in warehouse(spark, cfg).read_run("candidate_recs", RUN)
                           .where("source = 'als'").collect())
    execute("als", JOBS["als"], spark, cfg, RUN)
    return cfg, first


def test_job_writes_ids_factors_and_unseen_recs(spark, twice):
    cfg, _ = twice
    events = warehouse(spark, cfg).read("events")
    ids = warehouse(spark, cfg).read("id_map")
    assert ids.where("kind = 'user'").count() == events.select("user_id").distinct().count()
    assert ids.groupBy("kind", "idx").count().where("count > 1").count() == 0
    recs = warehouse(spark, cfg).read_run("candidate_recs", RUN).where("source = 'als'")
    assert recs.count() > 0
    assert recs.join(events.select("user_id", "item_id").distinct(), ["user_id", "item_id"]).count() == 0
    assert recs.where(F.isnan("score")).count() == 0
    factors = warehouse(spark, cfg).read_run("als_item_factors", RUN)
    assert {len(r.features) for r in factors.collect()} == {4}


def test_rerun_is_idempotent_and_ids_are_stable(spark, twice):
    cfg, first = twice
    again = {t: sorted(str(tuple(r)) for r in warehouse(spark, cfg).read(t).collect())
             for t in ("id_map", "als_user_factors", "als_item_factors")}
    again["recs"] = sorted(str(tuple(r)) for r in warehouse(spark, cfg).read_run("candidate_recs", RUN)
                           .where("source = 'als'").collect())
    assert again == first


def test_tuning_records_every_setting_and_marks_the_best(spark, shop):
    cfg = shop("als.max_iter=3", "als.tune=true", "als.grid.rank=[2, 4]", "als.grid.reg_param=[0.1]",
               "als.grid.alpha=[1.0]")
    summary = execute("als", JOBS["als"], spark, cfg, RUN)
    # the shared shop's tuning_results may hold other models' rows for RUN (train-propensity's tests)
    rows = warehouse(spark, cfg).read_run("tuning_results", RUN).where("model = 'als'").collect()
    assert sorted(r.params["rank"] for r in rows) == [2.0, 4.0]
    chosen = [r for r in rows if r.chosen]
    assert len(chosen) == 1
    assert chosen[0].metrics["ndcg"] == max(r.metrics["ndcg"] for r in rows)
    assert summary.metrics["param.rank"] == chosen[0].params["rank"]
