"""The ingest job end to end on a small synthetic shop: nothing lost, re-runs idempotent, failures clear."""

from datetime import date

import pytest
from pyspark.sql import functions as F

from conftest import make_cfg
from tailor.cli import EXIT_USAGE, main
from tailor.config import warehouse
from tailor.errors import RejectRatioExceededError
from tailor.jobs import JOBS
from tailor.jobs.base import execute

RUN = date(2026, 11, 23)
SMALL = ("synthetic.users=120", "synthetic.items=48", "synthetic.days=60", "synthetic.dirty_fraction=0.02",
         "ingest.max_reject_ratio=0.2")
WRITTEN = ["bronze_synthetic_events", "bronze_synthetic_products", "bronze_synthetic_customers", "quarantine",
           "events", "orders", "products", "customers"]


def _snapshot(spark, cfg):
    return {t: sorted(tuple(r) for r in warehouse(spark, cfg).read(t).collect()) for t in WRITTEN}


@pytest.fixture(scope="module")
def twice(spark, tmp_path_factory):
    cfg = make_cfg(tmp_path_factory.mktemp("ingest") / "warehouse", *SMALL)
    first_summary = execute("ingest", JOBS["ingest"], spark, cfg, RUN)
    first = _snapshot(spark, cfg)
    second_summary = execute("ingest", JOBS["ingest"], spark, cfg, RUN)
    return cfg, first_summary, first, second_summary, _snapshot(spark, cfg)


def test_nothing_is_lost(spark, twice):
    _cfg, s, snap, _, _ = twice
    m = s.metrics
    landed = m["landed.events"]
    quarantined = sum(v for k, v in m.items() if k.startswith("quarantined.events."))
    assert m["accepted.events"] + quarantined == landed == m["input.events"]
    assert len(snap["events"]) == m["accepted.events"]
    assert len(snap["quarantine"]) == m["quarantined"] == quarantined
    reasons = {k.split(".")[-1] for k in m if k.startswith("quarantined.events.")}
    assert reasons <= {"missing_user_id", "bad_timestamp", "unknown_event_type", "duplicate",
                       "non_positive_price", "future_timestamp"}
    assert len(reasons) >= 4


def test_orders_are_the_purchases_and_returns(spark, twice):
    cfg, _, snap, _, _ = twice
    ev = warehouse(spark, cfg).read("events")
    assert len(snap["orders"]) == ev.where(F.col("event_type").isin("purchase", "return")).count()


def test_rerun_for_the_same_date_leaves_tables_as_one_run(twice):
    _, _, first, s2, second = twice
    assert first == second
    assert s2.metrics["events.inserted"] == 0
    assert s2.metrics["customers.updated"] == 0


def test_runs_table_records_each_attempt(spark, twice):
    cfg = twice[0]
    runs = warehouse(spark, cfg).read("runs").collect()
    assert [(r.job, r.status, r.run_date) for r in runs] == [("ingest", "succeeded", RUN)] * 2
    assert all(r.rows_in and r.metrics["accepted.events"] > 0 for r in runs)


def test_too_many_rejects_fail_before_silver(spark, tmp_path):
    cfg = make_cfg(tmp_path / "wh", *SMALL[:-1], "synthetic.dirty_fraction=0.2", "ingest.max_reject_ratio=0.05")
    with pytest.raises(RejectRatioExceededError, match=r"events .*% > max_reject_ratio 5.0%"):
        execute("ingest", JOBS["ingest"], spark, cfg, RUN)
    assert warehouse(spark, cfg).read("quarantine").count() > 0
    assert not warehouse(spark, cfg).exists("events")
    failed = warehouse(spark, cfg).read("runs").collect()
    assert [(r.status, r.error.split(":")[0]) for r in failed] == [("failed", "RejectRatioExceededError")]


def test_cli_missing_source_is_one_line_and_a_config_error_before_spark(spark, tmp_path, capsys):
    code = main(["ingest", "--source", "online_retail", "--path", str(tmp_path / "absent.csv"),
                 "--set", f"warehouse={tmp_path / 'wh'}", "--run-date", "2026-11-23"])
    assert code == EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"tailor: config error: online_retail source not found: {tmp_path / 'absent.csv'}"]


def test_two_ingests_at_once_on_a_fresh_warehouse_both_succeed_without_duplicates(spark, tmp_path):
    from concurrent.futures import ThreadPoolExecutor
    from contextvars import copy_context

    cfg = make_cfg(tmp_path / "w", "synthetic.users=40", "synthetic.items=24", "synthetic.days=30",
                   "synthetic.dirty_fraction=0", "delta.retry_backoff_seconds=0.2")
    with ThreadPoolExecutor(2) as pool:  # each thread commits its own transactions: they race for every table
        runs = [pool.submit(copy_context().run, execute, "ingest", JOBS["ingest"], spark, cfg, RUN) for _ in range(2)]
        summaries = [r.result() for r in runs]
    assert all(s.metrics["accepted.events"] > 0 for s in summaries)
    events = warehouse(spark, cfg).read("events")
    assert events.count() == events.select("event_id").distinct().count() == summaries[0].metrics["accepted.events"]
    assert sum(s.metrics["events.inserted"] for s in summaries) == events.count()  # each event inserted once
