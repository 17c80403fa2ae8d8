"""The daily pipeline, derived from what the jobs declare. ``tailor pipeline``, ``tailor demo`` and the
Airflow DAG (``jobs/tailor_dag.py``) all read :func:`needs`, so the order is written once: in the jobs'
``READS``/``SOFT_READS``/``WRITES`` (:class:`tailor.jobs.base.Job`).

A job needs every other daily job that writes a table it reads (hard or soft); ``HISTORY`` reads (a table
read only for earlier dates) add no edge. ``evaluate`` comes before ``recommend`` because ``recommend``
blends with the weights ``evaluate`` learned (a soft read). ``stream`` (a long-running query) and
``forget`` (on request) are not part of the daily pipeline.

When jobs fail, a job is skipped only when a table it reads hard has writers in this run and every one of
them failed or was skipped; a job whose failed needs are soft runs on its documented fallback.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from tailor.errors import ConfigError, first_line

JOB_ORDER: tuple[str, ...] = (
    "ingest", "features", "segments", "clv", "similarity", "content", "cf", "als", "popularity", "rules",
    "train-propensity", "score-propensity", "evaluate", "recommend", "stream", "uplift", "campaign", "record-sends",
    "analyze-experiment", "report",
)
"""Every scheduled job, in the order the demo runs them (a valid run order of :func:`needs`); each is the
module ``tailor.jobs.<name with _>``."""
NOT_DAILY = frozenset({"stream"})
"""Scheduled apart from the daily pipeline: ``stream`` is a long-running query."""
_DECLARED = ("READS", "SOFT_READS", "HISTORY", "WRITES")


@dataclass(frozen=True)
class Declaration:
    """What a job module declares, read from its source (:func:`declarations`)."""

    name: str
    reads: frozenset[str]
    writes: frozenset[str]
    soft_reads: Mapping[str, str] = field(default_factory=dict)
    history: frozenset[str] = frozenset()
    daily: bool = True


def _literal(node: ast.expr) -> object:
    """A declaration's value: a literal, or ``frozenset(<literal>)``."""
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "frozenset":
        return frozenset(ast.literal_eval(node.args[0])) if node.args else frozenset()
    return ast.literal_eval(node)


@lru_cache(maxsize=1)
def declarations() -> dict[str, Declaration]:
    """The daily jobs' declarations, read from their modules' source without importing them, so that the
    Airflow DAG needs neither Spark nor Delta (a test keeps them equal to the imported ones)."""
    folder = Path(__file__).resolve().parent / "jobs"
    out = {}
    for name in JOB_ORDER:
        values: dict[str, object] = {}
        for node in ast.parse((folder / f"{name.replace('-', '_')}.py").read_text()).body:
            target = node.target if isinstance(node, ast.AnnAssign) else (
                node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None)
            if isinstance(target, ast.Name) and target.id in _DECLARED and node.value is not None:
                values[target.id] = _literal(node.value)
        out[name] = Declaration(name, frozenset(values.get("READS", ())), frozenset(values.get("WRITES", ())),
                                dict(values.get("SOFT_READS", {})), frozenset(values.get("HISTORY", ())),
                                daily=name not in NOT_DAILY)
    return out


def _daily(jobs: Mapping | None):
    if jobs is None:
        try:
            jobs = declarations()
        except OSError:  # shipped as a zip (spark-submit --py-files): the modules import
            from tailor.jobs import JOBS

            jobs = JOBS
    return {name: job for name, job in jobs.items() if job.daily}


def writers(table: str, jobs: Mapping | None = None) -> list[str]:
    """The daily jobs that write ``table``, in registry order."""
    return [name for name, job in _daily(jobs).items() if table in job.writes]


def needs(jobs: Mapping | None = None) -> dict[str, tuple[str, ...]]:
    """Daily job -> the daily jobs it needs (writers of the tables it reads), in registry order."""
    daily = _daily(jobs)
    out: dict[str, tuple[str, ...]] = {}
    for name, job in daily.items():
        read = job.reads | frozenset(job.soft_reads)
        out[name] = tuple(w for w, other in daily.items() if w != name and read & other.writes)
    return out


def order(graph: Mapping[str, tuple[str, ...]] | None = None) -> list[str]:
    """The jobs in a run order: every job after all of its needs; ties keep the order of ``needs``.

    Raises:
        ValueError: a job needs an unknown job, or the needs have a cycle.
    """
    graph = needs() if graph is None else graph
    for job, deps in graph.items():
        unknown = [d for d in deps if d not in graph]
        if unknown:
            raise ValueError(f"{job} needs unknown jobs {unknown}")
    done: list[str] = []
    placed: set[str] = set()
    while len(done) < len(graph):
        ready = [j for j in graph if j not in placed and all(d in placed for d in graph[j])]
        if not ready:
            raise ValueError(f"the needs have a cycle among {sorted(set(graph) - placed)}")
        done.append(ready[0])
        placed.add(ready[0])
    return done


def downstream(jobs: Iterable[str], graph: Mapping[str, tuple[str, ...]] | None = None) -> set[str]:
    """``jobs`` and every job that needs one of them, directly or not."""
    graph = needs() if graph is None else graph
    out = set(jobs)
    changed = True
    while changed:
        changed = False
        for j, deps in graph.items():
            if j not in out and out.intersection(deps):
                out.add(j)
                changed = True
    return out


def select(start: str | None = None, only: Iterable[str] = (), available: Iterable[str] | None = None,
           graph: Mapping[str, tuple[str, ...]] | None = None) -> list[str]:
    """The jobs a pipeline run executes, in run order: all of them, those from ``start`` on (``start`` and its
    dependents), or exactly ``only``. ``available`` drops jobs this build does not have.

    Raises:
        ConfigError: an unknown job name, or both ``start`` and ``only``.
    """
    graph = needs() if graph is None else graph
    only = list(only)
    names = [*only, *([start] if start else [])]
    unknown = [n for n in names if n not in graph]
    if unknown:
        import difflib

        hints = [f"{n!r} (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(n, list(graph), n=1))
                 else repr(n) for n in unknown]
        raise ConfigError(f"unknown pipeline job(s) {', '.join(hints)}; the pipeline has: {', '.join(graph)}")
    if start and only:
        raise ConfigError("give --from or --only, not both")
    wanted = set(only) if only else downstream([start], graph) if start else set(graph)
    keep = set(available) if available is not None else set(graph)
    return [j for j in order(graph) if j in wanted and j in keep]


def blocked_by(job: str, selected: Iterable[str], failed: set[str], jobs: Mapping | None = None,
               not_applicable: Mapping[str, str] | None = None) -> list[str]:
    """Why ``job`` cannot run: for each table it reads hard whose writers among ``selected`` all failed
    (or were skipped) or were not applicable, ``"<table> (<writers> did not succeed)"`` or ``"<table>
    (<writer> was not applicable: <reason>)"``. Empty: it runs (soft reads fall back)."""
    daily = _daily(jobs)
    chosen = [j for j in selected if j != job]
    na = dict(not_applicable or {})
    out = []
    for table in sorted(daily[job].reads):
        by = [w for w in chosen if w in daily and table in daily[w].writes]
        if by and all(w in failed or w in na for w in by):
            if all(w in na for w in by):
                out.append(f"{table} ({'; '.join(f'{w} was not applicable: {na[w]}' for w in by)})")
            else:
                out.append(f"{table} ({', '.join(w for w in by if w in failed)} did not succeed)")
    return out


def run(spark, cfg, run_date, jobs: list[str], job_args: Mapping[str, object] | None = None) -> int:
    """Run ``jobs`` (from :func:`select`) in order in this Spark session, each through
    :func:`tailor.jobs.base.execute` (with its typed arguments from ``job_args``). A job that reads a table
    whose writers all failed or were skipped is recorded as skipped (:func:`blocked_by`); one whose writers
    were not applicable to this shop's data is recorded not applicable; other jobs still run.

    Returns:
        0 when every job succeeded or was not applicable, else the largest failing exit code (2: a
        configuration error, 1: a job failed).
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
    na: dict[str, str] = {}
    code = 0
    try:
        logger.info("pipeline started", extra={"fields": {"jobs": jobs, "master": spark.sparkContext.master,
                                                          "code": code_locations(spark)}})
        for job in jobs:
            because = blocked_by(job, jobs, not_ok, JOBS, na)
            if because:
                failed_upstream = any("did not succeed" in b for b in because)
                record_skipped(spark, cfg, job, run_date, pipeline_run_id, because,
                               "skipped" if failed_upstream else "not_applicable")
                if failed_upstream:
                    not_ok.add(job)
                else:
                    na[job] = f"it reads {'; '.join(because)}"
                continue
            try:
                summary = execute(job, JOBS[job], spark, cfg, run_date, pipeline_run_id=pipeline_run_id,
                                  args=(job_args or {}).get(job))
                if summary.status == "not_applicable":
                    na[job] = summary.reason or "not applicable"
                    print(f"tailor: pipeline: {job} not applicable: {summary.reason}", flush=True)
            except Exception as e:
                not_ok.add(job)
                code = max(code, exit_code_of(e))
                print(f"tailor: pipeline: {job} failed: {type(e).__name__}: {first_line(e)}", flush=True)
        logger.log(logging.INFO if code == 0 else logging.ERROR, "pipeline finished",
                   extra={"fields": {"exit_code": code, "not_succeeded": sorted(not_ok),
                                     "not_applicable": sorted(na)}})
        return code
    finally:
        tlog.reset(token)
