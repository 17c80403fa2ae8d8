"""``tailor record-sends``: what was sent -> ``contact_history`` (MERGE on campaign, customer and day).

Without ``--file`` (``campaigns.sends_file``) it records the run date's ``campaign_audiences``: treatment
rows as contacts, control rows as held back. With a file, it records a provider's export (see
:mod:`tailor.campaigns.sends`); rows that break a rule go to ``quarantine`` (source ``sends``) with their
reason. A replay of the same sends changes nothing: the MERGE inserts only keys not yet recorded, and
keeps the first recording of a key (``recorded_on`` included).
"""

from __future__ import annotations

from datetime import date

from pyspark import StorageLevel
from pyspark.errors import AnalysisException
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor import tables
from tailor.campaigns import sends
from tailor.config import Config
from tailor.errors import SourceError
from tailor.ingest.validate import REASON, rejected
from tailor.jobs.base import JobSummary

QUARANTINE_SOURCE = "sends"


def run(spark: SparkSession, cfg: Config, run_date: date) -> JobSummary:
    cs = cfg.campaigns
    summary = JobSummary(tables=["contact_history"])
    if cs.sends_file is None:
        # an empty partition is a day on which every customer was capped: nothing to record, not an error
        audiences = tables.read(spark, cfg, "campaign_audiences").where(F.col(S.RUN_DATE) == F.lit(run_date))
        channels = {d.name: d.channel for d in cs.definitions if d.channel}
        summary.rows_in = audiences.count()
        _merge(sends.from_audiences(audiences, channels, cs.channel, run_date), cfg, summary)
        return summary
    try:
        raw = spark.read.option("header", True).csv(cs.sends_file)
    except AnalysisException as e:
        raise SourceError(f"sends file {cs.sends_file}: {str(e).splitlines()[0]}") from None
    flagged = sends.flagged_export(raw, cs.channel, run_date).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        by_reason = {r[REASON]: r["count"] for r in flagged.groupBy(REASON).count().collect()}  # a few rows
        summary.rows_in = sum(by_reason.values())
        summary.metrics.update({f"quarantined.{k}": v for k, v in by_reason.items() if k is not None})
        bad = rejected(flagged, QUARANTINE_SOURCE, "contact_history")
        summary.metrics["quarantined"] = tables.replace_partition(
            bad, cfg, "quarantine", run_date, extra_keys={S.SOURCE: QUARANTINE_SOURCE})
        good = (flagged.where(F.col(REASON).isNull()).withColumn("recorded_on", F.lit(run_date))
                .select(*S.CONTACT_HISTORY.fieldNames()))
        _merge(good, cfg, summary)
    finally:
        flagged.unpersist()
    summary.tables.append("quarantine")
    return summary


def _merge(rows, cfg: Config, summary: JobSummary) -> None:
    merged = tables.merge_upsert(rows, cfg, "contact_history", sends.KEY, update=False)
    summary.rows_out = merged["inserted"]
    summary.metrics["inserted"] = merged["inserted"]
