"""The record-sends job: bad export rows quarantined, replays counted once, arm conflicts, e-mail keys
pseudonymised."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

from conftest import contract, make_cfg
from tailor import schemas as S
from tailor.config import warehouse
from tailor.jobs import JOBS
from tailor.jobs.base import execute
from tailor.jobs.record_sends import Args as SendsArgs

DAY = date(2026, 11, 1)


def test_record_sends_from_an_export_quarantines_bad_rows_and_counts_a_replay_once(spark, tmp_path):
    export = tmp_path / "sends.csv"
    export.write_text("\n".join([
        "campaign,customer_id,sent_at,arm,channel",
        "spring,U1,2026-10-01,treatment,email",
        "spring,U2,2026-10-01 09:30:00,control,",
        "spring,U3,2026-10-01,,push",
        "spring,U3,2026-10-01,,push",  # the same row twice
        "spring,,2026-10-01,treatment,email",
        "spring,U4,yesterday,treatment,email",
        "spring,U5,2027-01-01,treatment,email",
        "spring,U6,2026-10-01,variant-b,email",
        ",U7,2026-10-01,treatment,email",
    ]) + "\n")
    cfg = make_cfg(tmp_path / "w", 'campaigns.external=["spring"]')
    sent = SendsArgs(file=str(export))
    run = date(2026, 11, 1)
    s = execute("record-sends", JOBS["record-sends"], spark, cfg, run, args=sent)
    assert s.rows_in == 9 and s.rows_out == 3
    reasons = sorted(r.reason for r in warehouse(spark, cfg).read("quarantine").collect())
    assert reasons == ["bad_sent_at", "duplicate", "future_sent_at", "missing_campaign", "missing_user_id",
                       "unknown_arm"]
    hist = {r.user_id: r for r in warehouse(spark, cfg).read("contact_history").collect()}
    assert (hist["U2"].arm, hist["U2"].channel, hist["U2"].sent_date) == ("control", "email", date(2026, 10, 1))
    assert (hist["U3"].arm, hist["U3"].channel) == ("treatment", "push")
    again = execute("record-sends", JOBS["record-sends"], spark, cfg, run + timedelta(days=1), args=sent)
    assert again.rows_out == 0 and warehouse(spark, cfg).read("contact_history").count() == 3


def test_record_sends_quarantines_arm_conflicts_unknown_ids_and_placeholder_dates(spark, tmp_path):
    export = tmp_path / "sends.csv"
    export.write_text("\n".join([
        "campaign,user_id,sent_at,arm",
        "spring,U1,2026-10-01,treatment",
        "spring,U1,2026-10-01 18:00,control",  # both arms on one day: neither is kept
        "spring,U2,2026-10-01,control",
        "spring,U2,2026-10-01 08:00,control",  # one arm twice on one day (other times): the same contact, kept once
        "spring,NOBODY,2026-10-01,treatment",
        "autumn,U3,2026-10-01,treatment",
        "spring,U4,0001-01-01,treatment",
        'spring,"U5,extra",2026-10-01,treatment,surplus',  # a quoted comma is one field; the surplus is not
    ]) + "\n")
    cfg = make_cfg(tmp_path / "w", 'campaigns.external=["spring"]')
    sent = SendsArgs(file=str(export))
    customers = [{S.CUSTOMER_ID: f"U{i}", S.SIGNUP_DATE: DAY, S.COUNTRY: None, S.MARKETING_OPT_IN: True,
                  S.EMAIL_PSEUDONYM: None, S.SOURCE: "t", S.INGEST_DATE: DAY} for i in range(1, 6)]
    warehouse(spark, cfg).merge_upsert(contract(spark, S.CUSTOMERS, customers), "customers", [S.CUSTOMER_ID])
    first = {S.EVENT_ID: "e", S.USER_ID: "U1", S.ITEM_ID: "i", S.EVENT_TYPE: "view", S.TS: datetime(2026, 9, 1),
             S.SESSION_ID: None, S.ORDER_ID: None, S.QUANTITY: None, S.PRICE: None, S.RATING: None,
             S.SOURCE: "t", S.INGEST_DATE: DAY}
    warehouse(spark, cfg).merge_upsert(contract(spark, S.EVENTS, [first]), "events", [S.EVENT_ID])
    s = execute("record-sends", JOBS["record-sends"], spark, cfg, date(2026, 11, 1), args=sent)
    reasons = sorted(r.reason for r in warehouse(spark, cfg).read("quarantine").collect())
    assert reasons == ["arm_conflict", "arm_conflict", "before_first_event", "duplicate", "unknown_campaign",
                       "unknown_customer", "wrong_column_count"]
    hist = [(r.user_id, r.arm) for r in warehouse(spark, cfg).read("contact_history").collect()]
    assert hist == [("U2", "control")] and s.rows_in == 8


def test_an_export_keyed_by_email_is_matched_by_pseudonym_and_never_stored_raw(spark, tmp_path):
    from tailor.privacy.pseudonym import pseudonym

    key = b"tests-only-pseudonym-key"
    export = tmp_path / "sends.csv"
    export.write_text("campaign,email,sent_at,first_name\n"
                      "spring,Ann@Example.com ,2026-10-01,Ann\n"   # case and padding: the same address
                      "spring,bob@example.com,2026-10-01,Bob\n")   # nobody's address here
    cfg = make_cfg(tmp_path / "w", 'campaigns.external=["spring"]')
    sent = SendsArgs(file=str(export))
    row = {S.CUSTOMER_ID: "U1", S.SIGNUP_DATE: DAY, S.COUNTRY: None, S.MARKETING_OPT_IN: True,
           S.EMAIL_PSEUDONYM: pseudonym(key, "ann@example.com"), S.SOURCE: "t", S.INGEST_DATE: DAY}
    warehouse(spark, cfg).merge_upsert(contract(spark, S.CUSTOMERS, [row]), "customers", [S.CUSTOMER_ID])
    execute("record-sends", JOBS["record-sends"], spark, cfg, date(2026, 11, 1), args=sent)
    assert [r.user_id for r in warehouse(spark, cfg).read("contact_history").collect()] == ["U1"]
    (q,) = warehouse(spark, cfg).read("quarantine").collect()
    assert q.reason == "unknown_customer"
    assert json.loads(q.record) == {"campaign": "spring", "email": pseudonym(key, "bob@example.com"),
                                    "sent_at": "2026-10-01", "first_name": pseudonym(key, "Bob")}
