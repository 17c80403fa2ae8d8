"""The synthetic shop's planted campaign follows Tailor's own assignment."""

from __future__ import annotations

from datetime import date

from tailor import assign
from tailor import schemas as S

# --- assignment and statistics -------------------------------------------------------------------------


# --- audiences on generated data -----------------------------------------------------------------------


# --- the jobs over consecutive days --------------------------------------------------------------------


def test_the_planted_campaign_follows_tailors_assignment(spark):
    from tailor.ingest import synthetic

    spec = synthetic.shop_spec("S", 42, date(2026, 11, 23), 120, 0.0, users=400, items=48)
    every = synthetic.campaign_sends(spark, spec).collect()
    sends = [r for r in every if r.campaign == synthetic.PLANTED_CAMPAIGN]
    customers = {r.customer_id: r for r in synthetic.customers(spark, spec).collect()}
    assert sends and all(customers[r.user_id].marketing_opt_in == "yes" for r in sends)
    assert all(assign.unit_py(spec.salt, assign.HOLDOUT_KEY, r.user_id) >= spec.holdout for r in sends)
    assert all(r.arm == (S.TREATMENT if assign.unit_py(spec.salt, synthetic.PLANTED_CAMPAIGN, r.user_id) < 0.5
                         else S.CONTROL) for r in sends)
    assert {r.sent_at for r in every} == {"2026-10-24"}  # 30 days before the end
    # the A/A test went to the same customers, split by its own key
    aa = [r for r in every if r.campaign == synthetic.PLANTED_AA]
    assert {r.user_id for r in aa} == {r.user_id for r in sends}
    assert all(r.arm == (S.TREATMENT if assign.unit_py(spec.salt, synthetic.PLANTED_AA, r.user_id) < 0.5
                         else S.CONTROL) for r in aa)
    # the broken split lost some of its treated sends, and none of its controls
    broken = [r for r in every if r.campaign == synthetic.PLANTED_BROKEN]
    assigned = {r.user_id: S.TREATMENT if assign.unit_py(spec.salt, synthetic.PLANTED_BROKEN, r.user_id) < 0.5
                else S.CONTROL for r in sends}
    assert all(r.arm == assigned[r.user_id] for r in broken)
    kept = {r.user_id for r in broken}
    lost = [u for u, a in assigned.items() if u not in kept]
    assert lost and all(assigned[u] == S.TREATMENT for u in lost)
    assert {u for u, a in assigned.items() if a == S.CONTROL} <= kept


def test_the_planted_effect_differs_by_customer(spark):
    # lapsed mid-activity customers are won back most; loyal ones never, and some of them are annoyed
    from pyspark.sql import functions as F

    from tailor.ingest import synthetic

    spec = synthetic.shop_spec("S", 42, date(2026, 11, 23), 120, 0.0, users=20_000, items=48)
    base = synthetic._customers_base(spark, spec).where(F.col("planted_arm") == S.TREATMENT)
    lapsed = F.col("end_day") <= spec.send_day
    mid = (F.col("activity") >= 0.5) & (F.col("activity") < 2.0)
    loyal = ~lapsed & (F.col("activity") >= synthetic.LOYAL_ACTIVITY)
    group = (F.when(lapsed & mid, "lapsed_mid").when(lapsed, "lapsed").when(loyal, "loyal").otherwise("active"))
    rates = {r.g: (r.n, r.back, r.annoyed) for r in base.groupBy(group.alias("g")).agg(
        F.count(F.lit(1)).alias("n"), F.avg(F.col("comes_back").cast("double")).alias("back"),
        F.avg(F.col("annoyed").cast("double")).alias("annoyed")).collect()}
    assert all(n >= 100 for n, _, _ in rates.values()), rates
    assert abs(rates["lapsed_mid"][1] - 0.5) < 0.08 and abs(rates["lapsed"][1] - 0.25) < 0.08
    assert rates["loyal"][1] == 0.0 and abs(rates["loyal"][2] - 0.3) < 0.06
    assert rates["active"][1] < 0.1 and rates["active"][2] == 0.0
    # an annoyed customer has no session in the 14 days after the send
    sessions = synthetic._sessions(base.where("annoyed"), spec)
    day = ((F.col("start_s") - F.lit(spec.start).cast("timestamp").cast("long")) / 86400).cast("int")
    assert sessions.where((day > spec.send_day) & (day <= spec.send_day + 14)).count() == 0
