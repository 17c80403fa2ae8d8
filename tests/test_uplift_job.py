"""The uplift job on a synthetic shop whose planted offer works on some customers and not others: the learners
beat random targeting out of sample, the scores rank the persuadable first, and campaigns can use them."""

from __future__ import annotations

from datetime import date

import pytest
from pyspark.sql import functions as F

from conftest import make_cfg
from tailor import csvfile
from tailor.config import warehouse
from tailor.errors import NotApplicable
from tailor.ingest import synthetic
from tailor.jobs import JOBS
from tailor.jobs.base import execute
from tailor.jobs.record_sends import Args as SendsArgs
from tailor.jobs.uplift import choose
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
    # the planted campaign and the A/A went to the same customers (the broken split lost some sends): of the
    # two, the one whose arms differ, not the A/A, which sorts first by name and has nothing to teach
    assert ("campaign", synthetic.PLANTED_CAMPAIGN) in metrics, metrics
    assert metrics[("qini_coefficient_t", "")] > 0, metrics  # the default learner beats random targeting
    # and targeting by the chance to buy, which picks the loyal customers the offer does not move
    assert metrics[("qini_coefficient_t", "")] > metrics[("qini_coefficient_propensity", "")], metrics
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


def test_the_default_experiment_is_the_biggest_and_among_equals_the_one_whose_arms_differ(spark):
    def campaign(name, treated, control, users=range(8)):
        """(campaign, user_id, arm, converted): ``treated`` and ``control`` are each arm's outcomes."""
        arms = [("treatment", y) for y in treated] + [("control", y) for y in control]
        return [(name, f"u{i}", arm, y) for i, (arm, y) in zip(users, arms, strict=True)]

    def pick(*campaigns, minimum=2, named=None):
        rows = [r for c in campaigns for r in c]
        return choose(spark.createDataFrame(rows, "campaign string, user_id string, arm string, converted int"),
                      RUN, 10, minimum, named)

    # the same 8 customers: an A/A (2 of 4 convert in each arm, z = 0) sorts first by name; the other's arms
    # differ (3 of 4 against 1 of 4: pooled rate 1/2, z = 0.5 / sqrt(1/4 * (1/4 + 1/4)) = 1.41)
    aa, real = campaign("a-aa", [1, 1, 0, 0], [1, 1, 0, 0]), campaign("b-real", [1, 1, 1, 0], [1, 0, 0, 0])
    assert pick(aa, real) == "b-real"
    # two with the same |z| (the lift of one is the other's drop): the first name
    drop = campaign("c-drop", [1, 0, 0, 0], [1, 1, 1, 0])
    assert pick(drop, real) == "b-real"
    # more customers comes first, even with no effect
    big = campaign("d-big", [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], users=range(10))
    assert pick(big, real) == "d-big"
    # an arm below uplift.min_customers does not qualify; a named campaign must qualify
    assert pick(big, real, minimum=5) == "d-big"
    with pytest.raises(NotApplicable, match="'b-real' has no finished window with 5 customers in each arm"):
        pick(big, real, minimum=5, named="b-real")
    with pytest.raises(NotApplicable, match="finished 10-day window with 6 customers"):
        pick(big, real, minimum=6)
