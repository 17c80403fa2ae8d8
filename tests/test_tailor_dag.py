"""The Airflow DAG is wired from the pipeline's one definition. The Airflow half runs only where
``apache-airflow`` and its Spark provider are installed (``pip install -e '.[airflow]'``)."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from conftest import ROOT
from tailor import DELTA_ARTIFACT, pipeline
from tailor.jobs import JOBS

DAG_FILE = ROOT / "jobs" / "tailor_dag.py"


def _load():
    spec = importlib.util.spec_from_file_location("tailor_dag_under_test", DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_dag_has_one_task_per_pipeline_job_with_the_runner_edges():
    specs = _load().task_specs(ROOT, "conf/cluster.yaml,conf/shop.yaml")
    expected = pipeline.select(available=JOBS)
    assert [s.task_id for s in specs] == expected
    for s in specs:
        assert set(s.upstream) == set(pipeline.needs()[s.task_id]) & set(expected)
        assert s.application == str(ROOT / "jobs" / f"{s.task_id.replace('-', '_')}.py")
        assert (ROOT / "jobs" / f"{s.task_id.replace('-', '_')}.py").is_file()
        assert s.application_args == ("--conf", "conf/cluster.yaml", "--conf", "conf/shop.yaml",
                                      "--run-date", "{{ (data_interval_end or logical_date) | ds }}")


def test_every_job_has_a_spark_submit_entry_point():
    for job in [*JOBS, "pipeline", "forget"]:
        entry = ROOT / "jobs" / f"{job.replace('-', '_')}.py"
        assert entry.is_file(), job
        assert f'submit("{job}")' in entry.read_text(), job


def test_airflow_loads_the_dag_with_the_same_graph():
    pytest.importorskip("airflow")
    pytest.importorskip("airflow.providers.apache.spark")
    from datetime import datetime

    from airflow.models import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    dag = bag.dags["tailor_daily"]          # read the parsed DAG, not the metadata database
    expected = pipeline.select(available=JOBS)
    assert sorted(dag.task_ids) == sorted(expected)
    for job in expected:
        task = dag.get_task(job)
        assert task.upstream_task_ids == set(pipeline.needs()[job]) & set(expected)
        assert task.retries >= 1
        assert task.packages == DELTA_ARTIFACT
        assert task.py_files.endswith("dist/tailor.zip")
    # the run date: the end of the data interval, else (a manual run) the logical date
    render = dag.get_template_env().from_string(dag.get_task("cf").application_args[-1]).render
    assert render(data_interval_end=datetime(2026, 11, 23), logical_date=datetime(2026, 11, 22)) == "2026-11-23"
    assert render(data_interval_end=None, logical_date=datetime(2026, 11, 22)) == "2026-11-22"
