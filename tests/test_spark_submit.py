"""A real spark-submit of a job entry point, in its own JVM, as a scheduler would launch it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from tailor.spark import DELTA_ARTIFACT, delta_jars

pytestmark = pytest.mark.slow


def test_spark_submit_ingest(tmp_path):
    submit = Path(sys.executable).with_name("spark-submit")
    jars = delta_jars(str(ROOT / ".jars"))
    deps = ["--jars", ",".join(jars)] if jars else ["--packages", DELTA_ARTIFACT]
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    cmd = [str(submit), "--master", "local[2]", "--conf", "spark.ui.enabled=false", *deps,
           str(ROOT / "jobs" / "ingest.py"), "--conf", str(ROOT / "conf" / "local.yaml"),
           "--set", f"warehouse={tmp_path / 'wh'}", "--set", "synthetic.users=60", "--set", "synthetic.items=24",
           "--set", "synthetic.days=40", "--run-date", "2026-11-23"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "ingest: " in done.stdout and "rows in" in done.stdout
    assert (tmp_path / "wh" / "silver" / "events" / "_delta_log").is_dir()

    bad = subprocess.run([*cmd[:-2], "--run-date", "2026-13-01"], capture_output=True, text=True, timeout=600,
                         cwd=tmp_path, env=env)
    assert bad.returncode == 2
