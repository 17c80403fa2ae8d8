"""The forget job after a pipeline run: the customer is gone from every table, old versions and files purged."""

from __future__ import annotations

import json
from datetime import date

import pytest
from benchmarks.hostile import on_disk
from pyspark.errors import AnalysisException
from pyspark.sql import functions as F

from conftest import make_cfg
from tailor import schemas as S
from tailor import tables
from tailor.config import warehouse
from tailor.jobs import JOBS, TOOLS
from tailor.jobs.base import execute
from tailor.privacy import pseudonym as P

RUN = date(2026, 11, 23)


def _rows_with(spark, cfg, name: str, needle: str, version: int | None = None) -> int:
    df = warehouse(spark, cfg).read(name, version)
    # ids are fixed width (U0000012), so a plain substring test cannot hit another id; it also finds the id
    # inside quarantine's JSON record, where its quotes are escaped
    return df.where(F.to_json(F.struct(*[F.col(f"`{c}`") for c in df.columns])).contains(needle)).count()


def test_a_forgotten_customer_is_gone_from_every_table_and_from_old_versions(spark, tmp_path):
    cfg = make_cfg(tmp_path / "w", "synthetic.users=80", "synthetic.items=36", "synthetic.days=60",
                   "synthetic.dirty_fraction=0.03", 'hybrid.sources=["popular", "trending"]',
                   'campaigns.definitions=[{"name": "all", "rule": "true"}]', "campaigns.holdout_fraction=0")
    for job in ("ingest", "features", "similarity", "popularity", "recommend", "campaign", "record-sends", "stream"):
        execute(job, JOBS[job], spark, cfg, RUN)
    # the victim: in an audience, and with a quarantined event, so every kind of table holds them
    audience = {r.user_id for r in warehouse(spark, cfg).read("campaign_audiences").collect()}
    quarantined = {json.loads(r.record).get("user_id") for r in warehouse(spark, cfg).read("quarantine").collect()}
    victim = sorted(audience & quarantined)[0]
    names = [n for n in tables.REGISTRY if warehouse(spark, cfg).exists(n)] + [
        tables.bronze_name("synthetic", e) for e in ("events", "products", "customers")]
    holding = ["events", "orders", "customers", "quarantine", "user_features", "user_similarity", "candidate_recs",
               "recommendations", "campaign_audiences", "contact_history", "bronze_synthetic_events",
               "bronze_synthetic_customers", "realtime_state"]
    email = warehouse(spark, cfg).read("bronze_synthetic_customers").where(F.col("customer_id") == victim).first().email
    # before: the raw address is in bronze's files (forget_requests, the proof table, keeps pseudonyms by design)
    assert email and on_disk(tmp_path / "w", email, skip="forget_requests")
    old = {n: warehouse(spark, cfg).version(n) for n in ("events", "bronze_synthetic_customers")}
    other = warehouse(spark, cfg).read("events").where(F.col(S.USER_ID) != victim).count()

    forgot = execute("forget", TOOLS["forget"], spark, cfg, RUN,
                     args=TOOLS["forget"].args(user_ids=(victim,), purge=True))
    assert forgot.rows_out > 0 and all(v == 0 for k, v in forgot.metrics.items() if k.startswith("remaining."))
    assert all(forgot.metrics[f"deleted.{n}"] > 0 for n in holding)  # each kind of table held the victim
    assert {n for n in names if _rows_with(spark, cfg, n, victim)} == set()  # scanned independently
    assert warehouse(spark, cfg).read("events").count() == other  # nobody else lost a row
    for n, v in old.items():  # time travel to before the request: the history now starts at the purge
        with pytest.raises(AnalysisException, match="DELTA_VERSION_NOT_FOUND"):
            warehouse(spark, cfg).read(n, version=v).count()
    # what the history keeps after the purge: the checkpointed retention change and its undoing, no VACUUM
    # START / END commits (the purge turns VACUUM's logging off: two commits a table fewer)
    log = tmp_path / "w" / "silver" / "events" / "_delta_log"
    ops = [json.loads(line)["commitInfo"]["operation"] for f in sorted(log.glob("*.json"))
           for line in f.read_text().splitlines() if '"commitInfo"' in line]
    assert ops == ["SET TBLPROPERTIES", "UNSET TBLPROPERTIES"]
    key = b"tests-only-pseudonym-key"
    # data files, logs, checkpoints: no id, no pseudonym, no address
    assert on_disk(tmp_path / "w", victim, P.pseudonym(key, victim), email, P.pseudonym(key, email.lower()),
                   skip="forget_requests") == {}
    req = warehouse(spark, cfg).read("forget_requests").collect()
    assert [(r.user_pseudonym, r.verified, r.purged) for r in req] == [
        (P.pseudonym(b"tests-only-pseudonym-key", victim), True, True)]


def test_a_quarantined_record_without_an_id_field_has_no_id_and_does_not_stop_forget(spark):
    """A provider export keyed by e-mail lands in quarantine without any id field (record-sends' unknown
    customers); its record has no id to match, and reading one must not fail under ANSI (it did: element_at on
    an empty list)."""
    from tailor.privacy.forget import _record_id

    records = [('{"customer_id": " U1 ", "campaign": "c"}',), ('{"campaign": "c", "email": "0af3"}',),
               ("not json at all",), ('{"User": "U2"}',)]
    got = [r[0] for r in spark.createDataFrame(records, "record string")
           .select(_record_id("", frozenset())).collect()]
    assert got == ["U1", None, None, "U2"]
