"""Airflow DAG ``tailor_daily``: one ``SparkSubmitOperator`` per pipeline job, wired from
``tailor.pipeline.needs()`` (the same graph ``tailor pipeline`` runs, derived from the tables each job declares
it reads and writes), so the order is written once.

Install: ``pip install 'tailor[airflow]'`` in the Airflow environment (or put this repository's ``lib/`` on
its path: the DAG imports only ``tailor.pipeline``, which reads the jobs' declarations from their source and
needs no Spark), copy or link this file into the
DAGs folder, build the artifact with ``make dist``, and set an Airflow connection (default ``spark_default``)
to the cluster's master. The environment variables below override the defaults.

- ``TAILOR_HOME``: the Tailor checkout on the workers (entry points in ``jobs/``, artifact in ``dist/``);
  default: the folder above this file.
- ``TAILOR_CONF``: comma-separated config files, default ``conf/cluster.yaml``.
- ``TAILOR_SPARK_CONN``: the Airflow connection to submit with (``spark_default``).
- ``TAILOR_PY_FILES``: the artifact shipped with ``--py-files`` (``dist/tailor.zip``).
- ``TAILOR_PACKAGES``: Maven coordinates for ``--packages`` (the Delta artifact); empty on a platform that
  ships Delta.
- ``TAILOR_SCHEDULE``: a cron expression or preset (``@daily``).

The run date is the end of the run's data interval: the daily run for the interval 2026-11-22 → 2026-11-23
runs with ``--run-date 2026-11-23``, when 2026-11-22 is complete (Tailor reads history up to the day before
its run date). A manual run with no interval uses its logical date. Each task retries with exponential
backoff; every job is idempotent for its run date, so a retry or a re-run leaves the tables as one run would.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

HOME = Path(os.environ.get("TAILOR_HOME", Path(__file__).resolve().parents[1]))
try:
    from tailor import DELTA_ARTIFACT
    from tailor.pipeline import needs, order
except ImportError:  # tailor is not installed in the Airflow environment: use the checkout's sources
    sys.path.insert(0, str(HOME / "lib"))
    from tailor import DELTA_ARTIFACT
    from tailor.pipeline import needs, order

RUN_DATE = "{{ (data_interval_end or logical_date) | ds }}"
"""The Jinja template of ``--run-date``."""


@dataclass(frozen=True)
class TaskSpec:
    """What one Airflow task submits: the job's entry point, its arguments, and the tasks it waits for."""

    task_id: str
    application: str
    application_args: tuple[str, ...]
    upstream: tuple[str, ...]


def task_specs(home: Path = HOME, conf_files: str | None = None) -> list[TaskSpec]:
    """One spec per pipeline job whose entry point exists under ``home/jobs``, in run order."""
    confs = (conf_files or os.environ.get("TAILOR_CONF") or str(home / "conf" / "cluster.yaml")).split(",")
    conf_args = tuple(a for c in confs if c.strip() for a in ("--conf", c.strip()))
    graph = needs()
    present = [j for j in order(graph) if (home / "jobs" / f"{j.replace('-', '_')}.py").is_file()]
    return [
        TaskSpec(task_id=job, application=str(home / "jobs" / f"{job.replace('-', '_')}.py"),
                 application_args=(*conf_args, "--run-date", RUN_DATE),
                 upstream=tuple(n for n in graph[job] if n in present))
        for job in present
    ]


try:
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    try:
        from airflow.sdk import DAG  # Airflow 3
    except ImportError:
        from airflow import DAG  # Airflow 2
except ImportError:  # no Airflow here: the module still imports, for task_specs() and its tests
    DAG = None

if DAG is not None:
    default_args = {
        "owner": "tailor",
        "retries": 2,
        "retry_delay": timedelta(minutes=5),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=30),
    }
    with DAG(
        dag_id="tailor_daily",
        description="Tailor's daily pipeline: ingest, profiles, recommenders, propensity, campaigns, report",
        schedule=os.environ.get("TAILOR_SCHEDULE", "@daily"),
        start_date=datetime(2026, 1, 1),
        catchup=False,
        max_active_runs=1,
        default_args=default_args,
        tags=["tailor"],
    ) as dag:
        packages = os.environ.get("TAILOR_PACKAGES", DELTA_ARTIFACT) or None
        tasks = {}
        for spec in task_specs():
            tasks[spec.task_id] = SparkSubmitOperator(
                task_id=spec.task_id,
                conn_id=os.environ.get("TAILOR_SPARK_CONN", "spark_default"),
                application=spec.application,
                application_args=list(spec.application_args),
                py_files=os.environ.get("TAILOR_PY_FILES", str(HOME / "dist" / "tailor.zip")),
                packages=packages,
                name=f"tailor-{spec.task_id}",
            )
            for up in spec.upstream:
                tasks[up] >> tasks[spec.task_id]
