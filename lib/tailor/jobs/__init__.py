"""One module per job: ``run(spark, cfg, run_date[, args]) -> JobSummary`` and the tables it declares
(``READS``, ``SOFT_READS``, ``HISTORY``, ``WRITES``; see :class:`tailor.jobs.base.Job`). :data:`JOBS` is the
registry the CLI, the demo, the pipeline and the Airflow DAG read."""

from __future__ import annotations

from importlib import import_module

from tailor.jobs.base import Job, job_of
from tailor.pipeline import JOB_ORDER, NOT_DAILY

JOBS: dict[str, Job] = {
    name: job_of(name, import_module(f"tailor.jobs.{name.replace('-', '_')}"), daily=name not in NOT_DAILY)
    for name in JOB_ORDER
}
"""Job name -> :class:`~tailor.jobs.base.Job`, in the order the demo runs them (a valid run order of the
graph :mod:`tailor.pipeline` derives from their declarations; ``stream`` is not part of it)."""

TOOLS: dict[str, Job] = {name: job_of(name, import_module(f"tailor.jobs.{name.replace('-', '_')}"), daily=False)
                         for name in ("forget", "plan-experiment")}
"""Jobs run on request, never by the demo or the pipeline."""
