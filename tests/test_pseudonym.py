"""Pseudonyms (tailor.privacy.pseudonym): keyed HMAC, linear e-mail detection, redaction by contract, the missing
key."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
from datetime import date

import pytest
from pyspark.sql import functions as F

from conftest import make_cfg
from tailor.cli import main
from tailor.config import warehouse
from tailor.errors import ConfigError
from tailor.jobs import JOBS
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


