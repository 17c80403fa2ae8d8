"""The uplift job on a synthetic shop whose planted offer works on some customers and not others: the learners
beat random targeting out of sample, the scores rank the persuadable first, and campaigns can use them."""

from __future__ import annotations

from datetime import date

from pyspark.sql import functions as F

from conftest import make_cfg
from tailor import csvfile
from tailor.config import warehouse
from tailor.ingest import synthetic
from tailor.jobs import JOBS
from tailor.jobs.base import execute
from tailor.jobs.record_sends import Args as SendsArgs
from tailor.wiring import shop_spec

RUN = date(2026, 11, 23)


def test_uplift_learns_who_the_offer_moves(spark, tmp_path):
    cfg = make_cfg(tmp_path / "w", "synthetic.users=6000", "synthetic.items=48", "synthetic.days=120",
                   "synthetic.dirty_fraction=0", "uplift.min_customers=100", "uplift.max_iter=20",
                   "campaigns.window_days=10")
    assert execute("ingest", JOBS["ingest"], spark, cfg, RUN).status == "succeeded"
    spec = shop_spec(cfg, RUN)
    export = str(tmp_path / "sends")
    csvfile.write(synthetic.campaign_sends(spark, spec), export)
    execute("record-sends", JOBS["record-sends"], spark, cfg, RUN,
            args=SendsArgs(file=export, external=synthetic.PLANTED_CAMPAIGNS))
    done = execute("uplift", JOBS["uplift"], spark, cfg, RUN)
    assert done.status == "succeeded", done.reason
    wh = warehouse(spark, cfg)
    metrics = {(r.metric, r.key): r.value for r in wh.read_run("model_metrics", RUN).where("model = 'uplift'")
               .collect()}
    # the planted campaign is the biggest experiment with a finished window (the A/A and the broken split
    # went to the same customers; ties go to the name, and the reactivation's send export is complete)
    assert ("campaign", synthetic.PLANTED_CAMPAIGN) in metrics or ("campaign", synthetic.PLANTED_AA) in metrics
    assert metrics[("qini_coefficient_t", "")] > 0, metrics  # the default learner beats random targeting
    assert ("qini_coefficient_x", "") in metrics and ("qini_coefficient_propensity", "") in metrics
    assert metrics[("auuc_random", "")] > 0  # the offer works on average
    scores = wh.read_run("uplift_scores", RUN)
    assert scores.count() == wh.read("customers").count()  # every customer known on the day
    # lapsed customers (whom the offer wins back) rank above loyal ones (whom it never moves)
    latent = synthetic._customers_base(spark, spec).select(
        "user_id", (F.col("end_day") <= spec.send_day).alias("lapsed"),
        ((F.col("end_day") > spec.send_day) & (F.col("activity") >= synthetic.LOYAL_ACTIVITY)).alias("loyal"))
    means = {r.g: r.u for r in scores.join(latent, "user_id").groupBy(
        F.when(F.col("lapsed"), "lapsed").when(F.col("loyal"), "loyal").otherwise("other").alias("g")).agg(
        F.avg("uplift").alias("u")).collect()}
    assert means["lapsed"] > means["loyal"], means
    assert scores.where("uplift_decile < 1 or uplift_decile > 10").count() == 0
