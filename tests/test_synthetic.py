from datetime import date

import pytest
from pyspark.sql import functions as F

from tailor.ingest import synthetic

END = date(2026, 11, 23)


def _spec(seed=42, users=150, items=60, dirty=0.0):
    return synthetic.shop_spec("S", seed, END, 120, dirty, users=users, items=items)


def _same(a, b):
    return a.exceptAll(b).count() == 0 and b.exceptAll(a).count() == 0


def test_same_seed_same_data(spark):
    assert _same(synthetic.events(spark, _spec()), synthetic.events(spark, _spec()))
    assert _same(synthetic.customers(spark, _spec()), synthetic.customers(spark, _spec()))


def test_other_seed_other_data(spark):
    assert not _same(synthetic.events(spark, _spec(seed=1)), synthetic.events(spark, _spec(seed=2)))


def test_scale_knobs():
    assert (synthetic.shop_spec("S", 1, END, 365, 0).users, synthetic.shop_spec("S", 1, END, 365, 0).items) == (
        2_000, 300)
    m = synthetic.shop_spec("M", 1, END, 365, 0)
    big = synthetic.shop_spec("L", 1, END, 365, 0)
    assert (m.users, m.items, big.users, big.items) == (100_000, 5_000, 1_000_000, 20_000)
    assert synthetic.shop_spec("M", 1, END, 365, 0, users=10, items=24).users == 10


def test_sizes_follow_the_knobs(spark):
    spec = _spec(users=150, items=60)
    ev = synthetic.events(spark, spec)
    assert synthetic.products(spark, spec).count() == 60
    assert synthetic.customers(spark, spec).count() == 150
    users = ev.select("user_id").distinct().count()
    assert 140 <= users <= 150
    n = ev.count()
    assert 12 * 150 <= n <= 30 * 150  # about 20 events per customer
    bigger = synthetic.events(spark, _spec(users=600, items=60)).count()
    assert 3.2 < bigger / n < 4.8


def test_history_stays_inside_the_window(spark):
    spec = _spec()
    ts = synthetic.events(spark, spec).select(F.to_timestamp("event_time").alias("t"))
    lo, hi = ts.agg(F.min("t"), F.max("t")).first()
    assert lo.date() >= spec.start
    assert hi.date() < END


def test_sessions_run_view_cart_purchase_with_one_order_per_session(spark):
    ev = synthetic.events(spark, _spec(users=300))
    counts = {r.event_type: r["count"] for r in ev.groupBy("event_type").count().collect()}
    assert counts["view"] > counts["cart"] > counts["purchase"] > counts["return"] > 0
    assert counts["rating"] > 0
    orders = ev.where("event_type = 'purchase'").groupBy("order_id").agg(F.countDistinct("session_id").alias("s"))
    assert orders.where("s > 1").count() == 0


def test_planted_bundles_are_bought_together(spark):
    spec = _spec(users=2000, items=120)
    lines = synthetic.events(spark, spec).where("event_type = 'purchase'").select(
        "order_id", F.regexp_extract("product_id", r"(\d+)", 1).cast("int").alias("idx"))
    partners = spark.range(spec.items).select(
        F.col("id").cast("int").alias("anchor"),
        F.explode(synthetic._partners(spec, F.col("id").cast("int"))).alias("partner"))
    anchor_orders = lines.join(partners, lines.idx == partners.anchor).select("order_id", "partner")
    with_partner = anchor_orders.join(lines, (anchor_orders.order_id == lines.order_id)
                                      & (anchor_orders.partner == lines.idx), "left_semi")
    total = anchor_orders.count()
    assert total > 20
    assert with_partner.count() / total == pytest.approx(0.5, abs=0.15)  # planted at 0.5


def test_churners_stop_and_some_customers_opt_out(spark):
    spec = _spec(users=2000, items=60)
    cust = synthetic.customers(spark, spec)
    share = cust.where("marketing_opt_in = 'no'").count() / 2000
    assert share == pytest.approx(synthetic.OPT_OUT_SHARE, abs=0.03)
    base = synthetic._customers_base(spark, spec)
    churned = base.where("churner").count() / 2000
    assert churned == pytest.approx(synthetic.CHURN_SHARE, abs=0.04)


def test_dirt_adds_rows_and_leaves_clean_rows_alone(spark):
    clean = synthetic.events(spark, _spec(users=300, dirty=0.0))
    dirty = synthetic.events(spark, _spec(users=300, dirty=0.05))
    assert clean.exceptAll(dirty).count() == 0  # every clean row is still there, unchanged
    extra = dirty.exceptAll(clean).count()
    assert extra == pytest.approx(0.05 * clean.count(), rel=0.3)
