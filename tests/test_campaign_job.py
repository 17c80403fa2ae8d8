"""The campaign job over consecutive days: frequency cap, priority, suppression and idempotent re-runs."""

from __future__ import annotations

import json
from datetime import date, timedelta

from pyspark.sql import functions as F

from conftest import contract, make_cfg
from tailor import schemas as S
from tailor.config import warehouse
from tailor.jobs import JOBS
from tailor.jobs.base import execute

DAY = date(2026, 11, 1)


def _shop_tables(spark, cfg, days: list[date]):
    ids = [f"U{i}" for i in range(12)]
    # U0-U9 opted in; U10 opted out; U11 unknown. U9 is on the suppression list. U0-U3 buy often.
    customers = contract(spark, S.CUSTOMERS, [
        {S.CUSTOMER_ID: u, S.MARKETING_OPT_IN: (True if i < 10 else False if i == 10 else None),
         S.SOURCE: "t", S.INGEST_DATE: DAY} for i, u in enumerate(ids)])
    warehouse(customers.sparkSession, cfg).merge_upsert(customers, "customers", [S.CUSTOMER_ID])
    feats = contract(spark, S.USER_FEATURES, [  # every day's partition in one write
        {S.USER_ID: u, "frequency": 6 if i < 4 else 1, "monetary_total": 10.0 * i, S.RFM_SEGMENT: "x",
         S.RUN_DATE: d} for i, u in enumerate(ids) for d in days])
    warehouse(feats.sparkSession, cfg).merge_upsert(feats, "user_features", [S.USER_ID, S.RUN_DATE])
    recs = contract(spark, S.RECOMMENDATIONS, [
        {S.USER_ID: u, S.ITEM_ID: f"P{k}", S.SCORE: 1.0 / k, S.RANK: k, S.SOURCE: "als", S.REASON: "r",
         S.RUN_DATE: d} for u in ids for k in (1, 2, 3) for d in days])
    warehouse(recs.sparkSession, cfg).merge_upsert(recs, "recommendations", [S.USER_ID, S.ITEM_ID, S.RUN_DATE])


def test_cap_priority_suppression_and_idempotent_reruns_over_consecutive_days(spark, tmp_path):
    supp = tmp_path / "suppress.csv"
    supp.write_text("customer_id,reason\nU9,complaint\n")
    defs = [{"name": "loyal", "rule": "frequency >= 5", "priority": 1},
            {"name": "everyone", "rule": "true", "priority": 5, "offers": 2}]
    cfg = make_cfg(tmp_path / "w", f"campaigns.definitions={json.dumps(defs)}", "campaigns.treatment_share=1.0",
                   "campaigns.holdout_fraction=0.0", "campaigns.max_contacts=2", "campaigns.cap_days=3",
                   f"campaigns.suppression_files={json.dumps([str(supp)])}")
    days = [DAY + timedelta(days=i) for i in range(4)]
    _shop_tables(spark, cfg, days)
    for d in days:
        execute("campaign", JOBS["campaign"], spark, cfg, d)
        execute("record-sends", JOBS["record-sends"], spark, cfg, d)
    aud = warehouse(spark, cfg).read_run("campaign_audiences", days[0])
    first = {r.user_id: r for r in aud.collect()}
    assert set(first) == {f"U{i}" for i in range(9)}  # U9 suppressed, U10 opted out, U11 unknown
    assert {u for u, r in first.items() if r.campaign == "loyal"} == {"U0", "U1", "U2", "U3"}  # priority
    assert first["U5"].offers == ["P1", "P2"] and first["U0"].offers == ["P1", "P2", "P3"]
    # contacts allowed when fewer than 2 in the 2 days before: days 1, 2 and 4 (worked by hand)
    hist = warehouse(spark, cfg).read("contact_history").collect()
    got = sorted({(r.sent_date - DAY).days for r in hist if r.user_id == "U0"})
    assert got == [0, 1, 3]
    for u in {r.user_id for r in hist}:
        sent = [r.sent_date for r in hist if r.user_id == u and r.arm == S.TREATMENT]
        assert all(sum(1 for s in sent if d - timedelta(days=2) <= s <= d) <= 2 for d in days)
    everyone = warehouse(spark, cfg).read("campaign_audiences")
    assert everyone.where(F.col(S.RUN_DATE) == days[2]).count() == 0  # all capped on the third day
    # a re-run of a day after its sends were recorded, and a replay of record-sends, change nothing
    execute("campaign", JOBS["campaign"], spark, cfg, days[3])
    assert warehouse(spark, cfg).read_run("campaign_audiences", days[3]).count() == 9
    replay = execute("record-sends", JOBS["record-sends"], spark, cfg, days[3])
    assert replay.metrics["inserted"] == 0
    assert warehouse(spark, cfg).read("contact_history").count() == len(hist)
