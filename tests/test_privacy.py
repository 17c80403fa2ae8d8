"""Privacy: keyed pseudonyms, the missing key, no personal column past bronze, the table list, and a
customer forgotten everywhere after a pipeline run, old versions purged."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from datetime import date

import pytest
from pyspark.errors import AnalysisException
from pyspark.sql import functions as F

from conftest import make_cfg
from tailor import schemas as S
from tailor import tables
from tailor.cli import main
from tailor.config import warehouse
from tailor.errors import ConfigError
from tailor.jobs import JOBS, TOOLS
from tailor.jobs.base import execute
from tailor.privacy import pseudonym as P

RUN = date(2026, 11, 23)


def test_pseudonyms_are_hmac_sha256_stable_per_key_and_different_across_keys(spark):
    df = spark.createDataFrame([("ann@example.com",), ("bob@example.com",), (None,)], "v string")
    a = [r[0] for r in df.select(P.pseudonym_col(b"key-a", F.col("v"))).collect()]
    again = [r[0] for r in df.select(P.pseudonym_col(b"key-a", F.col("v"))).collect()]
    b = [r[0] for r in df.select(P.pseudonym_col(b"key-b", F.col("v"))).collect()]
    assert a == again and a[2] is None
    assert a[0] == hmac.new(b"key-a", b"ann@example.com", hashlib.sha256).hexdigest()
    assert a[0] != a[1] and a[0] != b[0] and a[1] != b[1]
    assert a[0] != hashlib.sha256(b"ann@example.com").hexdigest()  # not a plain, dictionary-attackable hash


def test_quarantined_records_are_redacted_by_contract_not_by_column_name(spark):
    pk = functools.partial(P.pseudonym, b"key-a")
    rec = json.dumps({"customer_id": "C1", "mail": "ann@example.com", "customer_name": "Ann Lee",
                      "street_address": "1 Main St", "country": "FR", "notes": "call ann@example.com"})
    rows = [(rec, True), (rec, False), ("U1,ann@example.com,not json", True)]
    df = spark.createDataFrame(rows, "r string, trusted boolean")
    # a mapping `email: mail` and `customer_id`/`country` mapped: only the non-personal contract columns are clear
    clear = frozenset({"customer_id", "country", "mail"})
    out = [r[0] for r in df.select(P.redact_record(b"key-a", F.col("r"), clear, F.col("trusted"))).collect()]
    assert json.loads(out[0]) == {"customer_id": "C1", "mail": pk("ann@example.com"), "customer_name": pk("Ann Lee"),
                                  "street_address": pk("1 Main St"), "country": "FR",
                                  "notes": pk("call ann@example.com")}
    # a ragged row trusts no column: its values may sit in the wrong ones
    assert json.loads(out[1]) == {k: pk(v) for k, v in json.loads(rec).items()}
    assert out[2] == pk("U1,ann@example.com,not json")  # a line that is not JSON is hashed whole


def test_email_detection_is_linear_on_huge_values():
    import time

    t0 = time.perf_counter()
    assert not P.looks_like_email("U" * 1_000_000)
    assert not P.looks_like_email("@" + "a" * 1_000_000)  # an '@' and no dot: still no backtracking blow-up
    assert P.looks_like_email("x" * 500_000 + " ann@example.com")
    assert time.perf_counter() - t0 < 5  # quadratic backtracking took minutes here


def test_a_missing_key_stops_ingest_with_a_clear_error_and_exit_code_2(spark, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TAILOR_PSEUDONYM_KEY")
    cfg = make_cfg(tmp_path / "w")
    with pytest.raises(ConfigError, match="TAILOR_PSEUDONYM_KEY"):
        execute("ingest", JOBS["ingest"], spark, cfg, RUN)
    assert not warehouse(spark, cfg).exists("bronze_synthetic_events")  # stopped before landing anything
    code = main(["ingest", "--set", f"warehouse={tmp_path / 'w2'}", "--run-date", "2026-11-23"])
    assert code == 2 and "TAILOR_PSEUDONYM_KEY" in capsys.readouterr().err


def test_no_table_past_bronze_has_a_personal_column_and_every_table_declares_its_customers():
    for name, spec in tables.REGISTRY.items():
        assert spec.customer_columns is not None, f"{name}: declare customer_columns (or NO_CUSTOMERS)"
        fields = spec.schema.fieldNames()
        assert not [f for f in fields if P.is_personal(f)], name
        ids = {f for f in fields if f in (S.USER_ID, S.CUSTOMER_ID)}
        assert ids <= set(spec.customer_columns) | {"record"}, f"{name}: {ids} not declared"
        assert set(spec.customer_columns) <= set(fields), name
    assert P.is_personal("E-Mail".replace("-", "_")) and P.is_personal("phone") and P.is_personal("surname")


def _rows_with(spark, cfg, name: str, needle: str, version: int | None = None) -> int:
    df = warehouse(spark, cfg).read(name, version)
    # ids are fixed width (U0000012), so a plain substring test cannot hit another id; it also finds the id
    # inside quarantine's JSON record, where its quotes are escaped
    return df.where(F.to_json(F.struct(*[F.col(f"`{c}`") for c in df.columns])).contains(needle)).count()


def _on_disk(root, *needles: str) -> dict[str, list[str]]:
    """For each needle, the files under ``root`` holding it: Parquet files by their decoded values (they are
    compressed), everything else (Delta logs, checksums, stream checkpoints) by its raw bytes. The proof
    table ``forget_requests`` holds the pseudonym of each forgotten id by design, and is left out."""
    import pyarrow.parquet as pq

    hits: dict[str, list[str]] = {n: [] for n in needles}
    for f in root.rglob("*"):
        if not f.is_file() or "forget_requests" in f.parts:
            continue
        if f.suffix == ".parquet":
            text = json.dumps(pq.read_table(f).to_pylist(), default=str, ensure_ascii=False).encode()
        else:
            text = f.read_bytes()
        for n in needles:
            if n.encode() in text:
                hits[n].append(str(f))
    return {n: h for n, h in hits.items() if h}


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
    assert email and _on_disk(tmp_path / "w", email)  # before: the raw address is in bronze's files
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
    key = b"tests-only-pseudonym-key"
    # data files, logs, checkpoints: no id, no pseudonym, no address
    assert _on_disk(tmp_path / "w", victim, P.pseudonym(key, victim), email, P.pseudonym(key, email.lower())) == {}
    req = warehouse(spark, cfg).read("forget_requests").collect()
    assert [(r.user_pseudonym, r.verified, r.purged) for r in req] == [
        (P.pseudonym(b"tests-only-pseudonym-key", victim), True, True)]
