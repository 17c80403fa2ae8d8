"""The command line's edges: run dates out of range, and mistakes caught before Spark starts, each one line."""

from __future__ import annotations

import pytest

from tailor.cli import main


def _one_line_error(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1969-12-31", "2101-01-01", "2026-02-30"])
def test_a_run_date_out_of_range_or_invalid_is_a_one_line_usage_error(day, capsys):
    with pytest.raises(SystemExit) as e:
        main(["features", "--run-date", day])
    assert e.value.code == 2
    assert "--run-date" in _one_line_error(capsys)


def test_a_missing_key_exits_2_before_spark_or_any_table(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TAILOR_PSEUDONYM_KEY", raising=False)
    code = main(["ingest", "--set", f"warehouse={tmp_path / 'w'}", "--run-date", "2026-11-23"])
    assert code == 2 and "TAILOR_PSEUDONYM_KEY" in _one_line_error(capsys)
    assert not (tmp_path / "w").exists()  # no runs row, no table: nothing was started


@pytest.mark.parametrize(("args", "said"), [
    (["--source", "online_retail", "--path", "/nowhere/online_retail.csv"], "source not found: /nowhere"),
    (["--set", "ingest.source=csv", "--set", "sources.csv.events={path: /tmp, mapping: {user_id: u}}"], "must map"),
    (["--set", "ingest.source=movielens"], "no path configured for movielens"),
])
def test_source_mistakes_exit_2_before_spark(tmp_path, capsys, args, said):
    code = main(["ingest", "--set", f"warehouse={tmp_path / 'w'}", *args])
    assert code == 2 and said in _one_line_error(capsys)
    assert not (tmp_path / "w").exists()


def test_a_pipeline_that_does_not_ingest_needs_no_key(tmp_path, monkeypatch):
    from tailor import cli

    monkeypatch.delenv("TAILOR_PSEUDONYM_KEY", raising=False)
    cli._preflight(["similarity", "cf"], cli.load_config([], [f"warehouse={tmp_path}"]))  # no error
