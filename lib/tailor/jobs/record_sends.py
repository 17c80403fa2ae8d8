"""``tailor record-sends``: what was sent -> ``contact_history`` (MERGE on campaign, customer and day).

Without ``--file`` (:class:`Args`) it records the run date's ``campaign_audiences``: treatment
rows (every arm but control) as contacts, control rows as held back. With a file, it records a provider's export (see
:mod:`tailor.campaigns.sends`); rows that break a rule go to ``quarantine`` (source ``sends``) with their
reason. A replay of the same sends changes nothing: the MERGE inserts only keys not yet recorded, and
keeps the first recording of a key (``recorded_on`` included).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from pyspark import StorageLevel
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from tailor import csvfile
from tailor import schemas as S
from tailor.campaigns import sends
from tailor.config import Config, warehouse
from tailor.jobs.base import JobSummary
from tailor.privacy import pseudonym
from tailor.quarantine import REASON, WRONG_COLUMN_COUNT, rejected

READS: frozenset[str] = frozenset({"campaign_audiences"})
SOFT_READS: dict[str, str] = {"customers": "an export's customers are not checked against silver customers",
                 "events": "an export's sends are not checked against the first day of events"}
WRITES: frozenset[str] = frozenset({"contact_history", "quarantine"})


QUARANTINE_SOURCE = "sends"


@dataclass(frozen=True)
class Args:
    file: str | None = None
    """A provider's export of what was sent (``--file``: CSV with a header: campaign, user_id or email,
    sent_at, and optionally arm and channel). None: record the run date's ``campaign_audiences``."""
    external: tuple[str, ...] = ()
    """Campaigns of this export sent outside Tailor, besides those in ``campaigns.external``."""


def run(spark: SparkSession, cfg: Config, run_date: date, args: Args) -> JobSummary:
    wh = warehouse(spark, cfg)
    cs = cfg.campaigns
    summary = JobSummary(tables=["contact_history"])
    if args.file is None:
        # an empty partition is a day on which every customer was capped: nothing to record, not an error
        audiences = wh.read("campaign_audiences").where(F.col(S.RUN_DATE) == F.lit(run_date))
        channels = {d.name: d.channel for d in cs.definitions if d.channel}
        summary.rows_in = audiences.count()
        _merge(sends.from_audiences(audiences, channels, cs.channel, run_date), cfg, summary)
        return summary
    secret = pseudonym.key(cfg.privacy.key_env)  # quarantined rows are redacted; an export may name customers by e-mail
    raw = csvfile.read(spark, args.file, what="sends file")
    flagged = sends.flagged_export(raw, cs.channel, run_date, secret=secret,
                                   **_known(spark, cfg, args.external)).persist(
        StorageLevel.MEMORY_AND_DISK)
    try:
        by_reason = {r[REASON]: r["count"] for r in flagged.groupBy(REASON).count().collect()}  # a few rows
        summary.rows_in = sum(by_reason.values())
        summary.metrics.update({f"quarantined.{k}": v for k, v in by_reason.items() if k is not None})
        bad = rejected(flagged, QUARANTINE_SOURCE, "contact_history").withColumn(
            "record", pseudonym.redact_record(secret, F.col("record"), sends.CLEAR,
                                              F.col("reason") != WRONG_COLUMN_COUNT))
        summary.metrics["quarantined"] = wh.replace_partition(
            bad, "quarantine", run_date, extra_keys={S.SOURCE: QUARANTINE_SOURCE})
        good = (flagged.where(F.col(REASON).isNull()).withColumn("recorded_on", F.lit(run_date))
                .select(*S.CONTACT_HISTORY.fieldNames()))
        _merge(good, cfg, summary)
    finally:
        flagged.unpersist()
    summary.tables.append("quarantine")
    return summary


def _known(spark: SparkSession, cfg: Config, external: tuple[str, ...]) -> dict:
    """What a provider's export is checked against: the campaigns Tailor knows (configured, built on some
    day, or declared external), silver customers, and the day of the shop's first event."""
    wh = warehouse(spark, cfg)
    cs = cfg.campaigns
    names = {d.name for d in cs.definitions} | set(cs.external) | set(external)
    if wh.exists("campaign_audiences"):  # one row per campaign name: a handful
        names |= {r[0] for r in wh.read("campaign_audiences").select(S.CAMPAIGN).distinct().collect()}
    customers = wh.read("customers") if wh.exists("customers") else None
    first = None
    if wh.exists("events"):
        first = wh.read("events").agg(F.min(F.to_date(S.TS))).first()[0]
    return {"campaigns": sorted(names), "prefixes": [f"{d.name}-" for d in cs.definitions if d.per_segment],
            "arms": sorted({a for d in cs.definitions for a in (d.arms or {})}),
            "customers": customers, "first_day": first}


def _merge(rows, cfg: Config, summary: JobSummary) -> None:
    wh = warehouse(rows.sparkSession, cfg)
    merged = wh.merge_upsert(rows, "contact_history", sends.KEY, update=False)
    summary.rows_out = merged["inserted"]
    summary.metrics["inserted"] = merged["inserted"]
