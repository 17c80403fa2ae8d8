"""``tailor forget``: delete customers from every table that holds customer rows, record the request by
pseudonym in ``forget_requests``, optionally purge every older trace, and verify that nothing is left.

Input (:class:`Args`): ``--user-id ID`` (repeatable) and/or ``--ids-file FILE``. The tables and their id
columns: :mod:`tailor.privacy.forget`. Before deleting, each table holding customers gets the statistics
properties that keep ids out of its log (:meth:`tailor.tables.Warehouse.protect_stats`).

With ``--purge``, every table that holds customers is purged
(:func:`tailor.privacy.forget.purge`: files of older versions vacuumed with retention 0, the log cut at a
new checkpoint), Spark's leftover RDD checkpoints are deleted, and the verification covers every readable
version, every data file on disk, the tables' logs (no statistics on customer columns, no id, pseudonym or
raw address anywhere else) and the streaming checkpoints. Without it, only the current versions are
verified: time travel still reaches the rows until VACUUM. The job fails (exit 1) when anything is left.
Not in the demo or the pipeline: it runs on request, when no other job runs.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from contextvars import copy_context
from dataclasses import dataclass
from datetime import date, datetime, timezone

from pyspark import StorageLevel
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from tailor.config import Config, warehouse
from tailor.errors import TailorError
from tailor.jobs.base import JobSummary
from tailor.jobs.stream import checkpoint as stream_checkpoint
from tailor.privacy import forget as FG
from tailor.privacy import pseudonym
from tailor.tables import Warehouse, delete_paths

log = logging.getLogger(__name__)

READS: frozenset[str] = frozenset({*FG.HOLDERS, "bronze_*"})
WRITES: frozenset[str] = frozenset({*FG.HOLDERS, "bronze_*", "forget_requests"})


@dataclass(frozen=True)
class Args:
    """Whom to forget, and how thoroughly."""

    user_ids: tuple[str, ...] = ()
    """Customer ids (``--user-id``, repeatable)."""
    ids_file: str | None = None
    """A file of ids, one per line, or a CSV with a ``user_id``/``customer_id`` header (``--ids-file``)."""
    purge: bool = False
    """Also remove every older trace of the tables holding customers (``--purge``): their old file versions
    (VACUUM with retention 0), their history before the purge (the log is cut at a new checkpoint) and
    Spark's leftover checkpoint files. Time travel to before the purge is gone."""


class ForgetIncompleteError(TailorError):
    """Rows or traces of a forgotten customer were still found after the deletes."""


def _stream_checkpoints(cfg: Config) -> list[str]:
    return sorted({stream_checkpoint(cfg.model_copy(update={"stream": cfg.stream.model_copy(update={"source": s})}))
                   for s in ("events", "landing")})


def run(spark: SparkSession, cfg: Config, run_date: date, args: Args) -> JobSummary:
    wh = warehouse(spark, cfg)
    p = args
    secret = pseudonym.key(cfg.privacy.key_env)
    summary = JobSummary(tables=["forget_requests"])
    ids = FG.read_ids(spark, list(p.user_ids), p.ids_file).persist(StorageLevel.MEMORY_AND_DISK)
    marks = None
    try:
        summary.rows_in = ids.count()
        found = FG.targets(wh, FG.csv_id_columns(cfg.sources.csv))
        holding = sorted({t.table for t in found})
        if p.purge:  # what identifies them, read before the deletes remove it
            marks = FG.needles(wh, ids, secret).persist(StorageLevel.MEMORY_AND_DISK)
            summary.metrics["needles"] = marks.count()
        for name in holding:
            if wh.protect_stats(name):
                log.info("forget: %s now keeps customer columns out of its statistics", name)
        by_table = {name: [t for t in found if t.table == name] for name in holding}

        def forget_in(name: str) -> tuple[int, int]:  # one table's id columns one after another
            gone = sum(FG.delete(wh, t, ids) for t in by_table[name])
            return gone, sum(FG.remaining(wh, t, ids) for t in by_table[name])

        done = _each(forget_in, holding, 2 * spark.sparkContext.defaultParallelism)
        deleted = {name: d for name, (d, _) in zip(holding, done, strict=True)}
        left = {name: n for name, (_, n) in zip(holding, done, strict=True)}
        if p.purge:
            _purge_and_verify(wh, cfg, found, holding, ids, marks, summary, left)
        touched = sorted(k for k, v in deleted.items() if v)
        for name in holding:
            summary.metrics[f"deleted.{name}"] = deleted.get(name, 0)
        for name, n in sorted(left.items()):
            summary.metrics[f"remaining.{name}"] = n
        for name in touched:
            log.info("forget: %s: %d rows deleted, %d left", name, deleted[name], left.get(name, 0))
        summary.tables += touched
        total = sum(deleted.values())
        requests = ids.select(
            pseudonym.pseudonym_col(secret, F.col(FG.ID)).alias("user_pseudonym"),
            F.lit(datetime.now(timezone.utc)).alias("requested_at"),
            F.lit(total).cast("long").alias("rows_deleted"),
            F.lit(p.purge).alias("purged"),
            F.lit(sum(left.values()) == 0).alias("verified"),
            F.lit(run_date).alias("run_date"))
        wh.merge_upsert(requests, "forget_requests", ["user_pseudonym", "run_date"],
                            ignore_in_compare=("requested_at",))
        summary.rows_out = total
    finally:
        ids.unpersist()
        if marks is not None:
            marks.unpersist()
    still = {k: v for k, v in left.items() if v}
    if still:
        raise ForgetIncompleteError(f"traces of forgotten customers remain in {still}; re-run tailor forget"
                                    + ("" if p.purge else " --purge"))
    return summary


def _each(fn, items: list, workers: int) -> list:
    """``fn`` over ``items`` in a few driver threads (tables are independent: their Delta commits and Spark
    jobs overlap), results in ``items``' order. Each thread runs in a copy of the caller's context, so its
    log lines keep the run's ids."""
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items)))) as pool:
        return list(pool.map(lambda item: copy_context().run(fn, item), items))


def _purge_and_verify(wh: Warehouse, cfg: Config, found, holding, ids, marks, summary: JobSummary,
                      left: dict[str, int]) -> None:
    """Purge every table that holds customers, drop Spark's leftover RDD checkpoints, then look for the
    customers everywhere a trace could stay; what is found is added to ``left`` under a descriptive key."""
    spark = wh.spark
    workers = 2 * spark.sparkContext.defaultParallelism
    with FG.purging(spark):
        purged = _each(lambda name: FG.purge(wh, name), holding, workers)
    for name, counts in zip(holding, purged, strict=True):
        summary.metrics[f"purged.{name}.files"] = counts["vacuumed"]
        summary.metrics[f"purged.{name}.log_entries"] = counts["log_expired"]
        # a version from before the purge that time travel could still read
        left[f"{name}.versions_before_purge"] = sum(v < counts["cut"] for v in FG.versions(wh, name))
    streams = _stream_checkpoints(cfg)
    summary.metrics["purged.rdd_checkpoints"] = delete_paths(
        spark, FG.leftover_checkpoints(spark, cfg.checkpoint_path, streams))
    on_disk = _each(lambda t: FG.remaining_in_files(wh, t, ids), found, workers)
    for t, n in zip(found, on_disk, strict=True):
        key = f"{t.table}.files"
        left[key] = left.get(key, 0) + n
    logs = _each(lambda name: FG.traces_in_log(wh, name, marks), holding, workers)
    for name, traces in zip(holding, logs, strict=True):
        left[f"{name}.log_statistics"] = traces["statistics"]
        left[f"{name}.log"] = traces["needles"]
    for ck in streams:
        name = ck.rstrip('/').rsplit('/', 1)[-1]
        left[f"stream_checkpoint.{name}"] = FG.traces_in_stream_checkpoint(spark, ck, marks)
