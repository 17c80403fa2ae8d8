"""The report job on an empty warehouse: a note per section saying which job to run."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from tailor.jobs import report
from test_page import SECTION_KEYS, parse

RUN = date(2026, 11, 23)


def test_an_empty_warehouse_gives_a_note_per_section(spark, cfg):
    summary = report.run(spark, cfg, RUN)
    assert summary.metrics["sections"] == 8 and summary.metrics["images"] == 0
    page = Path(report.output_path(cfg, RUN).removeprefix("file:")).read_text()
    got = parse(page)
    assert list(got.sections) == SECTION_KEYS
    notes = {k: " ".join(v["notes"]) for k, v in got.sections.items()}
    assert notes["quality"] == "no successful ingest rows for this run date: run `tailor ingest`"
    assert notes["propensity"] == "no model_metrics rows for this run date: run `tailor train-propensity`"
    assert notes["value"] == "no customer_value rows for this run date: run `tailor clv`"
    assert notes["runs"] == "no runs rows for this run date: run `tailor pipeline`"




def test_the_customer_value_section_draws_deciles_and_the_backtest(spark, shop):
    from conftest import SHOP_RUN_DATE
    from tailor.jobs import JOBS
    from tailor.jobs.base import execute

    cfg = shop("clv.holdout_days=30")
    run = date.fromisoformat(SHOP_RUN_DATE)
    assert execute("clv", JOBS["clv"], spark, cfg, run).status == "succeeded"
    section = report.value(spark, cfg, run)
    assert [name for name, _ in section.images] == ["CLV by decile", "P(alive) by decile", "holdout"]
    share, params, holdout = section.tables
    # the deciles' shares of total CLV add up to 1, the top decile holds the most, and every buyer is counted
    assert sum(row[4] for row in share.rows) == pytest.approx(1.0)
    assert share.rows[0][0] == 1 and share.rows[0][2] == max(row[2] for row in share.rows)
    assert {row[0] for row in params.rows} >= {"bgnbd r", "bgnbd alpha", "bgnbd a", "bgnbd b"}
    assert sum(row[1] for row in holdout.rows) > 0
