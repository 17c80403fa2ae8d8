"""What every job shares: the summary it returns and the wrapper that runs it, logs it and records it."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from types import ModuleType

from pyspark.errors import (
    ArithmeticException,
    ArrayIndexOutOfBoundsException,
    DateTimeException,
    IllegalArgumentException,
    PySparkException,
)
from pyspark.sql import SparkSession

from tailor import log as tlog
from tailor import schemas as S
from tailor import tables
from tailor.config import Config, warehouse
from tailor.errors import ConfigError, DataValueError, NotApplicable, SparkInputError, first_line

logger = logging.getLogger(__name__)


@dataclass
class JobSummary:
    """What a job reports: rows read and written, metrics, and the tables it wrote."""

    rows_in: int | None = None
    rows_out: int | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    tables: list[str] = field(default_factory=list)
    status: str = "succeeded"
    """``succeeded``, or ``not_applicable`` when the job found the shop's data of a shape it cannot use."""
    reason: str | None = None
    """Why the job was not applicable (one line)."""


JobFn = Callable[..., JobSummary]
"""``run(spark, cfg, run_date)``, or ``run(spark, cfg, run_date, args)`` for a job with typed arguments."""


@dataclass(frozen=True)
class Job:
    """A job and what it declares. Each ``tailor.jobs.<job>`` module holds ``run`` and these sets:

    - ``READS``: tables it cannot run without (hard: when every job of the pipeline run that writes one of
      them failed, the job is skipped);
    - ``SOFT_READS``: table -> the fallback the job uses when the table (or the run date's rows) is missing;
    - ``HISTORY``: tables it reads only for earlier dates (contact history for frequency caps): no edge
      in the pipeline graph, since today's writer runs later;
    - ``WRITES``: the tables it writes; a job may read its own writes back.

    :mod:`tailor.pipeline` derives the daily graph from these, and :func:`execute` binds them, so reading or
    writing an undeclared table raises :class:`tailor.errors.UndeclaredTableError`.
    """

    name: str
    run: JobFn
    reads: frozenset[str]
    writes: frozenset[str]
    soft_reads: Mapping[str, str] = field(default_factory=dict)
    history: frozenset[str] = frozenset()
    args: type | None = None
    daily: bool = True
    summary: str = ""

    @property
    def all_reads(self) -> frozenset[str]:
        return self.reads | frozenset(self.soft_reads) | self.history

    def call(self, spark: SparkSession, cfg: Config, run_date: date, args: object | None = None) -> JobSummary:
        """Run the job with its declarations bound; ``args`` defaults to the job's ``Args()``."""
        with tables.declared(self.name, self.all_reads, self.writes):
            if self.args is None:
                if args is not None:
                    raise TypeError(f"job {self.name} takes no arguments, got {args!r}")
                return self.run(spark, cfg, run_date)
            return self.run(spark, cfg, run_date, args if args is not None else self.args())


def job_of(name: str, module: ModuleType, daily: bool = True) -> Job:
    """The :class:`Job` a job module declares (``run``, ``READS``, ``WRITES``, optional ``SOFT_READS``,
    ``HISTORY`` and ``Args``)."""
    doc = (module.__doc__ or "").strip().split("\n\n")[0]
    return Job(name=name, run=module.run, reads=frozenset(module.READS), writes=frozenset(module.WRITES),
               soft_reads=dict(getattr(module, "SOFT_READS", {})), history=frozenset(getattr(module, "HISTORY", ())),
               args=getattr(module, "Args", None), daily=daily, summary=" ".join(doc.split()))


PROGRESS_EVERY_S = 30.0


class _Progress:
    """While a job runs, a log line every ``PROGRESS_EVERY_S`` seconds with what Spark is doing: each active
    stage's name and tasks done of total (from the status tracker, so nothing is added to the job's work)."""

    def __init__(self, spark: SparkSession, every_s: float = PROGRESS_EVERY_S, group: str | None = None):
        self.spark, self.every_s, self.group = spark, every_s, group
        self._stop = threading.Event()
        self._context = tlog.current()
        self._thread = threading.Thread(target=self._run, name="tailor-progress", daemon=True)

    def __enter__(self) -> _Progress:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        t0 = time.perf_counter()
        token = tlog.bind(**self._context) if self._context else None
        try:
            while not self._stop.wait(self.every_s):
                logger.info("job running for %.0fs: %s", time.perf_counter() - t0, self.stages() or "no Spark stage")
        except Exception as e:  # progress is best effort: never fail a job for it
            logger.debug("progress reporting stopped: %s", e)
        finally:
            if token is not None:
                tlog.reset(token)

    def stages(self) -> str:
        sc = self.spark.sparkContext
        tracker = sc.statusTracker()
        active = tracker.getActiveStageIds()
        if self.group is not None:  # only this job's stages: another thread may run other jobs in this driver
            # the group's active Spark jobs only: listing every job of the group (hundreds in a long job, each
            # a few py4j calls) made each line cost more the longer the job had run
            jobs = [jid for jid in tracker.getActiveJobsIds() if _job_group(sc, jid) in (self.group, _UNKNOWN)]
            mine = {sid for jid in jobs if (job := tracker.getJobInfo(jid)) is not None for sid in job.stageIds}
            active = [sid for sid in active if sid in mine]
        out = []
        for sid in active:
            info = tracker.getStageInfo(sid)
            if info is not None:
                rows = _rows_read(sc, sid)
                out.append(f"stage {sid} ({info.name.split(' at ')[0]}) {info.numCompletedTasks}/{info.numTasks} "
                           f"tasks{f', {rows:,} rows read' if rows is not None else ''}")
        return "; ".join(out)


_UNKNOWN = object()


def _job_group(sc, job_id: int) -> object:
    """The job group of Spark job ``job_id`` (None without one), from the driver's status store; ``_UNKNOWN``
    where the JVM does not say (a remote session, or a job the store has already dropped)."""
    try:
        group = sc._jsc.sc().statusStore().job(job_id).jobGroup()
        return group.get() if group.isDefined() else None
    except Exception:
        return _UNKNOWN


def _rows_read(sc, stage_id: int) -> int | None:
    """Rows the stage's finished tasks have read (input plus shuffle), from the driver's status store, which
    Spark keeps whether or not the UI is on; None where the JVM does not say (a remote session)."""
    try:
        d = sc._jsc.sc().statusStore().lastStageAttempt(stage_id)
        return int(d.inputRecords()) + int(d.shuffleReadRecords())
    except Exception:
        return None


def _record(spark: SparkSession, cfg: Config, row: dict) -> None:
    wh = warehouse(spark, cfg)
    df = spark.createDataFrame([row], schema=S.RUNS)
    wh.append(df, "runs")  # one row per attempt, each with a new run_id


def _bind(name: str, run_id: str, run_date: date, pipeline_run_id: str | None):
    context = {"job": name, "run_id": run_id, "run_date": run_date.isoformat()}
    if pipeline_run_id:
        context["pipeline_run_id"] = pipeline_run_id
    return tlog.bind(**context)


def _row(run_id: str, name: str, run_date: date, status: str, started: datetime, duration: float,
         summary: JobSummary, error: str | None, exit_code: int | None, pipeline_run_id: str | None) -> dict:
    """One ``runs`` row."""
    return {
        "run_id": run_id, "job": name, S.RUN_DATE: run_date, "status": status,
        "started_at": started, "ended_at": datetime.now(timezone.utc),
        "duration_s": round(duration, 3), "rows_in": summary.rows_in, "rows_out": summary.rows_out,
        "metrics": {**{k: float(v) for k, v in summary.metrics.items()},
                    **({f"wrote.{t}": 1.0 for t in summary.tables} if status == "succeeded" else {})},
        "error": error,
        "exit_code": exit_code, "pipeline_run_id": pipeline_run_id,
    }


def _spark_ml_sentence(job: str, e: BaseException) -> str:
    return (f"{job}: Spark ML refused its input ({first_line(e, 200)}); this comes from data of a degenerate shape "
            "(one item, one class, no text, fewer rows than a setting needs): `tailor check-source` shows the "
            "shape, and the job's settings bound what it needs")


_TRY = {"CAST": "try_cast", "DIVIDE": "try_divide", "ARITHMETIC": "try_add, try_multiply",
        "INDEX": "try_element_at", "DATETIME": "try_to_timestamp", "PARSE": "try_to_timestamp"}


def _data_value_sentence(job: str, e: PySparkException) -> str:
    condition = e.getCondition() or ""
    tolerant = next((f for k, f in _TRY.items() if k in condition), "the try_ variant of the function")
    return (f"{job}: a query failed on a value in the data ({first_line(e, 200)}); when it comes from a campaign "
            f"rule or a csv mapping expression, {tolerant} gives null for such a value instead")


def exit_code_of(error: BaseException) -> int:
    """The CLI's exit code for an error: 2 for a configuration error, 1 for anything else."""
    return 2 if isinstance(error, ConfigError) else 1


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


def execute(name: str, job: Job, spark: SparkSession, cfg: Config, run_date: date,
            pipeline_run_id: str | None = None, args: object | None = None) -> JobSummary:
    """Run one job (with its typed ``args``, if it takes any): bind the log context and the job's declared
    tables, time it, log one summary line, and append to the ``runs`` table whatever the outcome (with the
    exit code the CLI will return). Exceptions propagate after being recorded."""
    run_id = new_run_id()
    token = _bind(name, run_id, run_date, pipeline_run_id)
    started = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    summary, error, code = None, None, 0
    logger.info("job started")
    sc = spark.sparkContext
    group = f"tailor-{name}-{run_id}"
    sc.setJobGroup(group, f"tailor {name} {run_date}")  # this thread's Spark jobs: the UI, the progress line
    try:
        with _Progress(spark, group=group):
            summary = job.call(spark, cfg, run_date, args)
        return summary
    except NotApplicable as e:
        summary = JobSummary(status="not_applicable", reason=first_line(e, 2000))
        return summary
    except (IllegalArgumentException, ArithmeticException, ArrayIndexOutOfBoundsException, DateTimeException) as e:
        # Spark ML's require() ("requirement failed") has no error condition; a value the data broke a query
        # with under ANSI (CAST_INVALID_INPUT is a NumberFormatException, an IllegalArgumentException) has one
        kind = SparkInputError if isinstance(e, IllegalArgumentException) and not e.getCondition() \
            else DataValueError
        sentence = _spark_ml_sentence(name, e) if kind is SparkInputError else _data_value_sentence(name, e)
        error, code = first_line(f"{kind.__name__}: {sentence}", 2000), 1
        raise kind(sentence) from None
    except BaseException as e:
        error = first_line(f"{type(e).__name__}: {e}", 2000)
        code = exit_code_of(e)
        raise
    finally:
        s = summary or JobSummary()
        row = _row(run_id, name, run_date, s.status if error is None else "failed", started,
                   time.perf_counter() - t0, s, error or s.reason, code, pipeline_run_id)
        fields = {k: row[k] for k in ("status", "duration_s", "rows_in", "rows_out", "metrics", "error",
                                      "exit_code")}
        fields["tables"] = s.tables
        logger.log(logging.INFO if error is None else logging.ERROR, "job %s%s", row["status"],
                   f": {s.reason}" if s.reason else "", extra={"fields": fields})
        try:
            _record(spark, cfg, row)
        except Exception as rec_err:
            logger.warning("could not record the run in the runs table: %s", rec_err)
        for key in ("spark.jobGroup.id", "spark.job.description"):
            sc.setLocalProperty(key, None)  # type: ignore[arg-type]  # None removes it
        tlog.reset(token)


def record_skipped(spark: SparkSession, cfg: Config, name: str, run_date: date, pipeline_run_id: str,
                   because: list[str], status: str = "skipped") -> None:
    """Log and record a pipeline job that did not run because the tables it cannot do without were not
    written (``because``: one reason per table, from :func:`tailor.pipeline.blocked_by`): ``skipped`` when a
    writer failed, ``not_applicable`` when the writers were not applicable to this shop's data."""
    row = _row(new_run_id(), name, run_date, status, datetime.now(timezone.utc), 0.0, JobSummary(),
               f"not run: it reads {'; '.join(because)}", None, pipeline_run_id)
    token = _bind(name, row["run_id"], run_date, pipeline_run_id)
    try:
        logger.log(logging.WARNING if status == "skipped" else logging.INFO, "job %s: %s", status, row["error"],
                   extra={"fields": {"status": status, "error": row["error"]}})
        _record(spark, cfg, row)
    finally:
        tlog.reset(token)
