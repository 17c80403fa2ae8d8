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
    sends = synthetic.campaign_sends(spark, spec).collect()
    customers = {r.customer_id: r for r in synthetic.customers(spark, spec).collect()}
    assert sends and all(customers[r.user_id].marketing_opt_in == "yes" for r in sends)
    assert all(assign.unit_py(spec.salt, assign.HOLDOUT_KEY, r.user_id) >= spec.holdout for r in sends)
    assert all(r.arm == (S.TREATMENT if assign.unit_py(spec.salt, synthetic.PLANTED_CAMPAIGN, r.user_id) < 0.5
                         else S.CONTROL) for r in sends)
    assert {r.sent_at for r in sends} == {"2026-10-24"}  # 30 days before the end
