"""The daily pipeline, derived from what the jobs declare. ``tailor pipeline``, ``tailor demo`` and the
Airflow DAG (``jobs/tailor_dag.py``) all read :func:`needs`, so the order is written once: in the jobs'
``READS``/``SOFT_READS``/``WRITES`` (:class:`tailor.jobs.base.Job`).

A job needs every other daily job that writes a table it reads (hard or soft); ``HISTORY`` reads (a table
read only for earlier dates) add no edge. ``evaluate`` comes before ``recommend`` because ``recommend``
blends with the weights ``evaluate`` learned (a soft read). ``stream`` (a long-running query) and
``forget`` (on request) are not part of the daily pipeline.

When jobs fail, a job is skipped only when a table it reads hard has writers in this run and every one of
them failed or was skipped; a job whose failed needs are soft runs on its documented fallback.

Up to ``pipeline.parallelism`` jobs run at once (:func:`run_steps`): a job starts once every job it needs
has finished (among those ready, the one with the longest chain of jobs waiting on it first), each in a
Spark session of its own.
"""

from __future__ import annotations

import ast
import contextvars
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
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
        out[name] = tuple(w for w, other in daily.items() if w != name and _inputs(job) & other.writes)
    return out


def _inputs(job, history: bool = False) -> frozenset[str]:
    """The tables a job reads, hard or soft, and with ``history`` those it reads for earlier dates."""
    return job.reads | frozenset(job.soft_reads) | (job.history if history else frozenset())


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


def step_needs(steps: Sequence[str], jobs: Mapping, history: bool = False) -> list[tuple[int, ...]]:
    """For jobs run in the order of ``steps`` (a job may appear more than once), the earlier steps each must
    wait for: those whose job writes a table it reads, hard or soft (and, with ``history``, a table it reads
    for earlier dates: the demo records its planted campaigns before ``uplift`` learns from them)."""
    out = []
    for i, name in enumerate(steps):
        read = _inputs(jobs[name], history)
        out.append(tuple(k for k in range(i) if read & jobs[steps[k]].writes))
    return out


def run_steps(needs: Sequence[tuple[int, ...]], do: Callable[[int], None], parallelism: int) -> None:
    """Call ``do(i)`` once for every step ``i`` (``needs[i]``: the earlier steps it waits for), each after the steps
    it needs have returned, up to ``parallelism`` at once in threads that start with this thread's log
    context. Among the steps ready, the one with the longest chain of steps waiting on it starts first (the
    first in order among equals), so that the chains that end the run start early; with 1, the steps run in
    order here.

    The first exception ``do`` raises stops the starting of steps; the running ones finish, then it is
    raised. An interrupt (Ctrl-C) cancels the running Spark jobs."""
    if parallelism <= 1:
        for i in range(len(needs)):
            do(i)
        return
    from pyspark import SparkContext

    chain = [1] * len(needs)  # the step and the longest chain of steps that wait on it
    for i in reversed(range(len(needs))):
        for k in needs[i]:
            chain[k] = max(chain[k], 1 + chain[i])
    done: set[int] = set()
    pending = sorted(range(len(needs)), key=lambda i: (-chain[i], i))
    running: dict[Future, int] = {}
    error: BaseException | None = None
    pool = ThreadPoolExecutor(parallelism, thread_name_prefix="tailor-job")
    try:
        while running or (pending and error is None):
            for i in list(pending):
                if error is None and len(running) < parallelism and all(k in done for k in needs[i]):
                    pending.remove(i)
                    running[pool.submit(contextvars.copy_context().run, do, i)] = i
            if not running:
                raise ValueError(f"steps {pending} wait for steps that never run")
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for f in finished:
                done.add(running.pop(f))
                if f.exception() is not None and error is None:
                    error = f.exception()
    except BaseException:
        sc = SparkContext._active_spark_context
        if sc is not None:
            sc.cancelAllJobs()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if error is not None:
        raise error


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
    """Run ``jobs`` (from :func:`select`) in this Spark session, each through
    :func:`tailor.jobs.base.execute` (with its typed arguments from ``job_args``), up to
    ``pipeline.parallelism`` at once, each after the jobs it needs (:func:`run_steps`). A job that reads a
    table whose writers all failed or were skipped is recorded as skipped (:func:`blocked_by`); one whose
    writers were not applicable to this shop's data is recorded not applicable; other jobs still run.

    Returns:
        0 when every job succeeded or was not applicable, else the largest failing exit code (2: a
        configuration error, 1: a job failed).
    """
    import logging

    from tailor import log as tlog
    from tailor.jobs import JOBS
    from tailor.jobs.base import execute, exit_code_of, new_run_id, record_skipped
    from tailor.spark import code_locations, session_for_job

    logger = logging.getLogger(__name__)
    pipeline_run_id = new_run_id()
    token = tlog.bind(pipeline_run_id=pipeline_run_id, run_date=run_date.isoformat())
    not_ok: set[str] = set()
    na: dict[str, str] = {}
    codes = [0]
    lock = threading.Lock()
    parallelism = cfg.pipeline.parallelism

    def one(i: int) -> None:
        job = jobs[i]
        with lock:
            because = blocked_by(job, jobs, not_ok, JOBS, na)
        if because:
            failed_upstream = any("did not succeed" in b for b in because)
            record_skipped(spark, cfg, job, run_date, pipeline_run_id, because,
                           "skipped" if failed_upstream else "not_applicable")
            with lock:
                if failed_upstream:
                    not_ok.add(job)
                else:
                    na[job] = f"it reads {'; '.join(because)}"
            return
        session = session_for_job(spark) if parallelism > 1 else spark
        try:
            summary = execute(job, JOBS[job], session, cfg, run_date, pipeline_run_id=pipeline_run_id,
                              args=(job_args or {}).get(job))
            if summary.status == "not_applicable":
                with lock:
                    na[job] = summary.reason or "not applicable"
                print(f"tailor: pipeline: {job} not applicable: {summary.reason}", flush=True)
        except Exception as e:
            with lock:
                not_ok.add(job)
                codes.append(exit_code_of(e))
            print(f"tailor: pipeline: {job} failed: {type(e).__name__}: {first_line(e)}", flush=True)

    try:
        logger.info("pipeline started", extra={"fields": {"jobs": jobs, "master": spark.sparkContext.master,
                                                          "parallelism": parallelism,
                                                          "code": code_locations(spark)}})
        run_steps(step_needs(jobs, JOBS), one, parallelism)  # in run order, every job's needs come before it
        code = max(codes)
        logger.log(logging.INFO if code == 0 else logging.ERROR, "pipeline finished",
                   extra={"fields": {"exit_code": code, "not_succeeded": sorted(not_ok),
                                     "not_applicable": sorted(na)}})
        return code
    finally:
        tlog.reset(token)
