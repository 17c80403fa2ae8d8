"""The pipeline's one dependency definition, the runner's selection, and what a failed job does to the rest."""

from __future__ import annotations

from datetime import date

import pytest

from conftest import ROOT, make_cfg
from tailor import pipeline, tables
from tailor.cli import main
from tailor.errors import ConfigError
from tailor.jobs import JOBS

RUN = date(2026, 11, 23)


def test_every_job_runs_after_what_it_needs():
    done = pipeline.order()
    assert set(done) == set(pipeline.NEEDS)
    for job, needs in pipeline.NEEDS.items():
        assert all(done.index(n) < done.index(job) for n in needs), job
    # the demo runs JOBS in registry order: that order must be a valid run order too
    registry = [j for j in JOBS if j in pipeline.NEEDS]
    for job in registry:
        assert all(registry.index(n) < registry.index(job) for n in pipeline.NEEDS[job]), job


def test_the_pipeline_covers_every_scheduled_job():
    assert set(JOBS) - set(pipeline.NEEDS) == {"stream"}          # a long-running query, scheduled apart
    assert set(pipeline.NEEDS) <= set(JOBS)


def test_from_runs_the_job_and_everything_downstream():
    assert pipeline.select("similarity") == ["similarity", "cf", "recommend", "campaign", "record-sends",
                                             "analyze-experiment", "report"]
    assert pipeline.select("train-propensity") == ["train-propensity", "score-propensity", "campaign",
                                                   "record-sends", "analyze-experiment", "report"]
    assert pipeline.select(only=["rules", "ingest"]) == ["ingest", "rules"]
    assert pipeline.select(available=["ingest", "features", "cf"]) == ["ingest", "features", "cf"]
    assert pipeline.select()[0] == "ingest" and len(pipeline.select()) == len(pipeline.NEEDS)


def test_bad_selections_are_config_errors():
    with pytest.raises(ConfigError, match=r"unknown pipeline job\(s\) \['similarty'\]"):
        pipeline.select("similarty")
    with pytest.raises(ConfigError, match="not both"):
        pipeline.select("cf", only=["als"])


def test_order_rejects_cycles_and_unknown_needs():
    with pytest.raises(ValueError, match="cycle"):
        pipeline.order({"a": ("b",), "b": ("a",), "c": ()})
    with pytest.raises(ValueError, match="unknown"):
        pipeline.order({"a": ("z",)})
    assert pipeline.order({"c": ("a", "b"), "b": (), "a": ("b",)}) == ["b", "a", "c"]


def test_a_failed_job_stops_its_dependents_and_the_runs_table_keeps_the_exit_codes(spark, tmp_path, capsys):
    wh = tmp_path / "wh"
    common = ["--conf", str(ROOT / "conf" / "local.yaml"), "--set", f"warehouse={wh}",
              "--set", "spark.shuffle_partitions=2", "--run-date", RUN.isoformat()]
    # ingest without its pseudonym key is a configuration error (exit 2), found before Spark starts: no job
    # runs, and nothing is recorded
    code = main(["pipeline", "--only", "ingest,features", *common, "--set", "privacy.key_env=TAILOR_NO_SUCH_KEY"])
    assert code == 2 and "TAILOR_NO_SUCH_KEY" in capsys.readouterr().err
    assert not wh.exists()
    # on an empty warehouse features and similarity fail (exit 1); segments needs features and is skipped;
    # similarity does not need features, so it still ran
    code = main(["pipeline", "--only", "features", "--only", "segments,similarity", *common])
    assert code == 1
    out = capsys.readouterr().out
    assert "pipeline: features failed: MissingTableError" in out and "pipeline failed" in out

    runs = tables.read(spark, make_cfg(wh), "runs").orderBy("started_at")
    got = [(r.job, r.status, r.exit_code) for r in runs.collect()]
    assert got == [("features", "failed", 1), ("segments", "skipped", None), ("similarity", "failed", 1)]
    rows = runs.collect()
    assert rows[1].error == "not run: needs features, which did not succeed"
    assert rows[0].error.startswith("MissingTableError: ") and "\n" not in rows[0].error
    assert len({r.pipeline_run_id for r in rows}) == 1


def test_an_unknown_job_is_a_usage_error_before_anything_runs(tmp_path, capsys):
    wh = tmp_path / "wh"
    code = main(["pipeline", "--from", "similarty", "--set", f"warehouse={wh}", "--run-date", RUN.isoformat()])
    assert code == 2
    assert "unknown pipeline job(s) ['similarty']" in capsys.readouterr().err
    assert not wh.exists()
