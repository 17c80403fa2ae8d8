"""The clv job: every buyer valued, re-runs identical, the backtest in model_metrics, and a shop where no one
bought twice is not applicable rather than failed."""

from datetime import date, datetime

from pyspark.sql import functions as F

from conftest import SHOP_RUN_DATE, contract, run_twice
from tailor import schemas as S
from tailor.config import warehouse
from tailor.jobs import JOBS
from tailor.jobs.base import execute


def test_clv_values_every_buyer_and_is_idempotent(spark, shop):
    cfg = shop("clv.holdout_days=30")
    written = ["customer_value", "model_metrics"]
    summaries, first, second = run_twice(spark, cfg, ["clv"], written)
    assert first == second
    wh = warehouse(spark, cfg)
    run = date.fromisoformat(SHOP_RUN_DATE)
    value = wh.read_run("customer_value", run)
    buyers = wh.read("orders").where(~F.col(S.IS_RETURN) & (F.to_date(S.TS) <= F.lit(run))).select(
        S.USER_ID).distinct()
    assert value.count() == buyers.count() == summaries[0].rows_out
    assert value.join(buyers, S.USER_ID, "left_anti").count() == 0
    bad = value.where((F.col("p_alive") < 0) | (F.col("p_alive") > 1) | F.col("clv").isNull()
                      | ~F.col("clv_decile").between(1, 10) | (F.col("expected_purchases")[30] < 0)
                      | (F.col("expected_purchases")[30] > F.col("expected_purchases")[365]))
    assert bad.count() == 0
    # p_alive_change (clv.trend_days = 30): null for customers who first bought in the last 30 days; below 0
    # for repeat buyers with no purchase since (the same history, 30 days older); 0 for one-time buyers then
    days = F.col("tenure") * 7  # weeks to days, first purchase to the run date
    since_last = (F.col("tenure") - F.col("recency")) * 7
    new = value.where(days < 29.5)
    assert new.count() > 0 and new.where(F.col("p_alive_change").isNotNull()).count() == 0
    quiet = value.where((days > 29.5) & (since_last > 29.5))
    assert quiet.where("frequency > 0").count() > 0
    assert quiet.where("frequency > 0 and not p_alive_change < 0").count() == 0
    assert quiet.where("frequency = 0 and p_alive_change != 0").count() == 0
    metrics = {(r.metric, r.key): r.value for r in wh.read_run("model_metrics", run).where("model = 'clv'").collect()}
    assert {("bgnbd_param", k) for k in ("r", "alpha", "a", "b")} <= set(metrics)
    assert metrics[("holdout_days", "")] == 30 and metrics[("holdout_customers", "")] > 0
    assert metrics[("holdout_total_actual", "")] >= 0 and metrics[("holdout_total_predicted", "")] > 0


def test_the_synthetic_shops_churners_look_less_alive(spark, shop):
    # the generator's churners stop shopping on a churn day (ingest/synthetic.py); by the run date, the ones
    # who stopped at least 30 days earlier should be less alive by BG/NBD than the customers who never churn
    from tailor.ingest import synthetic
    from tailor.wiring import shop_spec

    cfg = shop("clv.holdout_days=0")
    run = date.fromisoformat(SHOP_RUN_DATE)
    assert execute("clv", JOBS["clv"], spark, cfg, run).status == "succeeded"
    spec = shop_spec(cfg, run)
    latent = synthetic._customers_base(spark, spec).select(
        "user_id", "churner", (F.lit(spec.days) - F.col("end_day")).alias("gone_days"))
    value = warehouse(spark, cfg).read_run("customer_value", run).where(F.col("frequency") > 0)
    means = {r.group: (r.n, r.p) for r in value.join(latent, "user_id").groupBy(
        F.when(~F.col("churner"), "stayed").when(F.col("gone_days") >= 30, "gone").otherwise("recent")
        .alias("group")).agg(F.count(F.lit(1)).alias("n"), F.avg("p_alive").alias("p")).collect()}
    assert means["gone"][0] >= 5 and means["stayed"][0] >= 20
    assert means["gone"][1] < means["stayed"][1] - 0.15, means


def test_a_shop_where_no_one_bought_twice_is_not_applicable(spark, cfg):
    wh = warehouse(spark, cfg)
    rows = [{S.EVENT_ID: f"e{i}", S.ORDER_ID: f"o{i}", S.USER_ID: f"u{i}", S.ITEM_ID: "i",
             S.TS: datetime(2026, 11, 20, 10), S.QUANTITY: 1, S.PRICE: 5.0, S.AMOUNT: 5.0, S.SOURCE: "test"}
            for i in range(5)]
    wh.merge_upsert(contract(spark, S.ORDERS, rows), "orders", [S.EVENT_ID])
    summary = execute("clv", JOBS["clv"], spark, cfg, date(2026, 11, 23))
    assert summary.status == "not_applicable"
    assert "no customer bought on two different days" in summary.reason
