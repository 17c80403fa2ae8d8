"""The report job on an empty warehouse: a note per section saying which job to run."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from tailor.jobs import report
from test_page import SECTION_KEYS, parse

RUN = date(2026, 11, 23)


def test_an_empty_warehouse_gives_a_note_per_section(spark, cfg):
    summary = report.run(spark, cfg, RUN)
    assert summary.metrics["sections"] == 7 and summary.metrics["images"] == 0
    page = Path(report.output_path(cfg, RUN).removeprefix("file:")).read_text()
    got = parse(page)
    assert list(got.sections) == SECTION_KEYS
    notes = {k: " ".join(v["notes"]) for k, v in got.sections.items()}
    assert notes["quality"] == "no successful ingest rows for this run date: run `tailor ingest`"
    assert notes["propensity"] == "no model_metrics rows for this run date: run `tailor train-propensity`"
    assert notes["runs"] == "no runs rows for this run date: run `tailor pipeline`"


