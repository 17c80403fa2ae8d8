"""The daily pipeline: which scheduled job needs which. ``tailor pipeline``, ``tailor demo`` and the Airflow DAG
(``jobs/tailor_dag.py``) all read :data:`NEEDS`, so the order is written once.

A job's needs are the jobs whose tables it reads for the same run date. ``evaluate`` comes before
``recommend`` because ``recommend`` blends with the weights ``evaluate`` learned. ``stream`` (a long-running
query) and ``forget`` (on request) are not part of the daily pipeline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from tailor.errors import ConfigError, first_line

NEEDS: Mapping[str, tuple[str, ...]] = {
    "ingest": (),
    "features": ("ingest",),
    "segments": ("features",),
    "similarity": ("ingest",),
    "cf": ("similarity",),
    "als": ("ingest",),
    "content": ("ingest",),
    "popularity": ("segments",),
    "rules": ("ingest",),
    "train-propensity": ("ingest",),
    "score-propensity": ("train-propensity",),
    "evaluate": ("ingest",),
    "recommend": ("cf", "als", "content", "popularity", "rules", "evaluate"),
    "campaign": ("recommend", "segments", "score-propensity"),
    "record-sends": ("campaign",),
    "analyze-experiment": ("record-sends",),
    "report": ("segments", "evaluate", "score-propensity", "rules", "analyze-experiment"),
}
"""Job -> the jobs it reads from, in an order that is itself a valid run order."""


def order(needs: Mapping[str, tuple[str, ...]] = NEEDS) -> list[str]:
    """The jobs in a run order: every job after all of its needs; ties keep the order of ``needs``.

    Raises:
        ValueError: a job needs an unknown job, or the needs have a cycle.
    """
    for job, deps in needs.items():
        unknown = [d for d in deps if d not in needs]
        if unknown:
            raise ValueError(f"{job} needs unknown jobs {unknown}")
    done: list[str] = []
    placed: set[str] = set()
    while len(done) < len(needs):
        ready = [j for j in needs if j not in placed and all(d in placed for d in needs[j])]
        if not ready:
            raise ValueError(f"the needs have a cycle among {sorted(set(needs) - placed)}")
        done.append(ready[0])
        placed.add(ready[0])
    return done


def downstream(jobs: Iterable[str], needs: Mapping[str, tuple[str, ...]] = NEEDS) -> set[str]:
    """``jobs`` and every job that needs one of them, directly or not."""
    out = set(jobs)
    changed = True
    while changed:
        changed = False
        for j, deps in needs.items():
            if j not in out and out.intersection(deps):
                out.add(j)
                changed = True
    return out


def select(start: str | None = None, only: Iterable[str] = (), available: Iterable[str] | None = None,
           needs: Mapping[str, tuple[str, ...]] = NEEDS) -> list[str]:
    """The jobs a pipeline run executes, in run order: all of them, those from ``start`` on (``start`` and its
    dependents), or exactly ``only``. ``available`` drops jobs this build does not have.

    Raises:
        ConfigError: an unknown job name, or both ``start`` and ``only``.
    """
    only = list(only)
    names = [*only, *([start] if start else [])]
    unknown = [n for n in names if n not in needs]
    if unknown:
        raise ConfigError(f"unknown pipeline job(s) {unknown}; the pipeline has: {', '.join(needs)}")
    if start and only:
        raise ConfigError("give --from or --only, not both")
    wanted = set(only) if only else downstream([start], needs) if start else set(needs)
    keep = set(available) if available is not None else set(needs)
    return [j for j in order(needs) if j in wanted and j in keep]


def blocked_by(job: str, failed: set[str], needs: Mapping[str, tuple[str, ...]] = NEEDS) -> list[str]:
    """The failed (or skipped) jobs among ``job``'s direct needs."""
    return [d for d in needs[job] if d in failed]


def run(spark, cfg, run_date, jobs: list[str]) -> int:
    """Run ``jobs`` (from :func:`select`) in order in this Spark session, each through
    :func:`tailor.jobs.base.execute`. A job whose needs failed or were skipped is recorded as skipped;
    independent jobs still run.

    Returns:
        0 when every job succeeded, else the largest failing exit code (2: a configuration error, 1: a job
        failed).
    """
    import logging

    from tailor import log as tlog
    from tailor.jobs import JOBS
    from tailor.jobs.base import execute, exit_code_of, new_run_id, record_skipped
    from tailor.spark import code_locations

    logger = logging.getLogger(__name__)
    pipeline_run_id = new_run_id()
    token = tlog.bind(pipeline_run_id=pipeline_run_id, run_date=run_date.isoformat())
    not_ok: set[str] = set()
    code = 0
    try:
        logger.info("pipeline started", extra={"fields": {"jobs": jobs, "master": spark.sparkContext.master,
                                                          "code": code_locations(spark)}})
        for job in jobs:
            because = blocked_by(job, not_ok)
            if because:
                record_skipped(spark, cfg, job, run_date, pipeline_run_id, because)
                not_ok.add(job)
                continue
            try:
                execute(job, JOBS[job], spark, cfg, run_date, pipeline_run_id=pipeline_run_id)
            except Exception as e:
                not_ok.add(job)
                code = max(code, exit_code_of(e))
                print(f"tailor: pipeline: {job} failed: {type(e).__name__}: {first_line(e)}", flush=True)
        logger.log(logging.INFO if code == 0 else logging.ERROR, "pipeline finished",
                   extra={"fields": {"exit_code": code, "not_succeeded": sorted(not_ok)}})
        return code
    finally:
        tlog.reset(token)
