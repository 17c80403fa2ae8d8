"""The local session's process settings (tailor.spark)."""

import os

from conftest import make_cfg
from tailor.spark import _local_builder


def test_a_local_driver_runs_openblas_one_thread_per_task_unless_told_otherwise(spark, monkeypatch, tmp_path):
    # the running JVM (and so its Python workers) got the setting at start
    jvm = spark.sparkContext._jvm.java.lang.System.getenv("OPENBLAS_NUM_THREADS")
    assert jvm == os.environ["OPENBLAS_NUM_THREADS"]
    cfg = make_cfg(tmp_path / "warehouse")
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    _local_builder(cfg)
    assert os.environ["OPENBLAS_NUM_THREADS"] == "1"
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")  # a user's own setting wins
    _local_builder(cfg)
    assert os.environ["OPENBLAS_NUM_THREADS"] == "4"
