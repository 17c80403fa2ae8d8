"""The local session's process settings (tailor.spark)."""

import os
from pathlib import Path

import pytest

from conftest import make_cfg
from tailor.spark import CLASS_ARCHIVE, _local_builder, class_archive_option


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


def test_a_local_driver_maps_the_class_archive_make_cds_wrote(spark, tmp_path):
    """``make setup`` (``make cds``) writes .jars/driver.jsa; a local session's JVM is started with it and maps
    it (the dynamic archive sits in the JVM's memory map beside the JDK's own). No archive, no option."""
    assert class_archive_option(str(tmp_path)) == ""
    spaced = tmp_path / "a -XX:+PrintFlagsFinal"  # config names the folder: no flag may ride in on its name
    spaced.mkdir()
    (spaced / CLASS_ARCHIVE).write_bytes(b"")
    assert class_archive_option(str(spaced)) == ""
    archive = (Path(make_cfg(tmp_path / "warehouse").spark.jars_dir) / CLASS_ARCHIVE).resolve()
    if not archive.is_file():
        pytest.skip("no class archive: make cds could not write one here")
    jvm = spark.sparkContext._jvm
    args = list(jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
    assert f"-XX:SharedArchiveFile={archive}" in args
    maps = Path(f"/proc/{jvm.java.lang.ProcessHandle.current().pid()}/maps").read_text()
    assert any(line.endswith(str(archive)) for line in maps.splitlines())
