"""``tailor forget``: delete customers from every table that holds customer rows, record the request by
pseudonym in ``forget_requests``, optionally purge old file versions, and verify that nothing is left.

Input: ``--user-id ID`` (repeatable; ``privacy.forget_ids``) and/or ``--ids-file FILE``
(``privacy.forget_file``). The tables and their id columns: :mod:`tailor.privacy.forget`. With ``--purge``
(``privacy.purge``), each table touched is REORGed (where deletion vectors are on) and VACUUMed with
``privacy.vacuum_retain_hours``, so that time travel to a version before the request no longer finds the
customer. The job fails (exit 1) when the verification scan finds a row left. Not in the demo or the
pipeline: it runs on request.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone

from pyspark import StorageLevel
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from tailor import tables
from tailor.config import Config
from tailor.errors import TailorError
from tailor.jobs.base import JobSummary
from tailor.privacy import forget as FG
from tailor.privacy import pseudonym

log = logging.getLogger(__name__)


class ForgetIncompleteError(TailorError):
    """Rows of a forgotten customer were still found after the deletes."""


def run(spark: SparkSession, cfg: Config, run_date: date) -> JobSummary:
    p = cfg.privacy
    secret = pseudonym.key(cfg)
    summary = JobSummary(tables=["forget_requests"])
    ids = FG.read_ids(spark, p.forget_ids, p.forget_file).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        summary.rows_in = ids.count()
        found = FG.targets(spark, cfg)
        deleted: dict[str, int] = {}
        for t in found:
            deleted[t.table] = deleted.get(t.table, 0) + FG.delete(cfg, t, ids)
        touched = sorted(deleted)
        if p.purge:
            for name in touched:
                FG.purge(spark, cfg, name, p.vacuum_retain_hours)
        left: dict[str, int] = {}
        for t in found:
            left[t.table] = left.get(t.table, 0) + FG.remaining(spark, cfg, t, ids)
        for name in touched:
            summary.metrics[f"deleted.{name}"] = deleted[name]
            summary.metrics[f"remaining.{name}"] = left[name]
            log.info("forget: %s: %d rows deleted, %d left", name, deleted[name], left[name])
        summary.tables += touched
        total = sum(deleted.values())
        requests = ids.select(
            pseudonym.pseudonym_col(secret, F.col(FG.ID)).alias("user_pseudonym"),
            F.lit(datetime.now(timezone.utc)).alias("requested_at"),
            F.lit(total).cast("long").alias("rows_deleted"),
            F.lit(p.purge).alias("purged"),
            F.lit(sum(left.values()) == 0).alias("verified"),
            F.lit(run_date).alias("run_date"))
        tables.merge_upsert(requests, cfg, "forget_requests", ["user_pseudonym", "run_date"],
                            ignore_in_compare=("requested_at",))
        summary.rows_out = total
    finally:
        ids.unpersist()
    still = {k: v for k, v in left.items() if v}
    if still:
        raise ForgetIncompleteError(f"rows of forgotten customers remain in {still}; re-run tailor forget")
    return summary
