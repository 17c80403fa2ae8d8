"""``tailor ingest``: source -> bronze (as landed) -> silver (validated) + quarantine.

Reads: the configured source (``ingest.source``). Writes: ``bronze_<source>_<entity>`` (run_date
partition replaced), ``quarantine`` (the run_date/source partition replaced), and MERGEs into silver
``events`` and ``orders`` (insert-only on event_id: events are facts), ``products`` and ``customers``
(upsert on id). Re-running a date therefore leaves every table as one run would.

The job fails, after writing bronze and quarantine but before touching silver, when an entity's share of
quarantined rows exceeds ``ingest.max_reject_ratio``.

Personal data: silver ``customers`` keeps only the keyed pseudonym of the e-mail address, and the JSON of a
quarantined row has every personal field (e-mail, name, phone) replaced by its pseudonym. The key comes
from the environment (``privacy.key_env``); without it the job stops before reading anything. Raw rows
stay in bronze only, and ingest deletes bronze partitions older than ``privacy.bronze_retention_days``.
"""

from __future__ import annotations

import logging
from datetime import date

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from tailor import quarantine as Q
from tailor import schemas as S
from tailor import tables
from tailor import wiring as W
from tailor.config import Config, warehouse
from tailor.errors import RejectRatioExceededError
from tailor.ingest import validate as V
from tailor.ingest.sources import ADAPTERS, unmapped_columns
from tailor.jobs.base import JobSummary
from tailor.privacy import pseudonym

log = logging.getLogger(__name__)

READS: frozenset[str] = frozenset()
WRITES: frozenset[str] = frozenset({"bronze_*", "events", "orders", "products", "customers", "quarantine"})

_SCHEMAS = {"events": S.EVENTS, "products": S.PRODUCTS, "customers": S.CUSTOMERS}
_KEYS = {"events": S.EVENT_ID, "products": S.PRODUCT_ID, "customers": S.CUSTOMER_ID}


def orders_from_events(events: DataFrame) -> DataFrame:
    """Order lines from accepted events: purchases and returns that carry an order id.

    Returns have a negative ``amount``; ``quantity`` stays the positive number of units.
    """
    lines = events.where(F.col(S.EVENT_TYPE).isin(S.PURCHASE, S.RETURN) & F.col(S.ORDER_ID).isNotNull())
    is_return = F.col(S.EVENT_TYPE) == S.RETURN
    sign = F.when(is_return, F.lit(-1.0)).otherwise(F.lit(1.0))
    return lines.select(
        S.EVENT_ID, S.ORDER_ID, S.USER_ID, S.ITEM_ID, S.TS, S.QUANTITY, S.PRICE,
        F.round(sign * F.col(S.QUANTITY) * F.col(S.PRICE), 4).alias(S.AMOUNT),
        is_return.alias(S.IS_RETURN), S.SOURCE, S.INGEST_DATE,
    )


def _validator(entity: str, cfg: Config, run_date: date, secret: bytes):
    ing = cfg.ingest
    limits = V.Limits.of(ing)
    if entity == "events":
        return V.validate_events(run_date, ing.future_tolerance_hours, ing.rating_min, ing.rating_max,
                                 limits=limits, dedupe=ing.dedupe, free_items=ing.free_items)
    if entity == "customers":
        return V.validate_customers(run_date, secret, limits)
    return V.validate_products(limits)


def run(spark: SparkSession, cfg: Config, run_date: date) -> JobSummary:
    wh = warehouse(spark, cfg)
    source = cfg.ingest.source
    adapter = ADAPTERS[source]
    summary = JobSummary(metrics={})
    secret = pseudonym.key(cfg.privacy.key_env)  # before anything is read: no key, no run

    # 1. land: bronze keeps the rows as they arrived (as strings, so a source's type drift cannot break it)
    inputs = W.source_inputs(cfg, run_date)
    landed_raw = adapter.land(spark, inputs, run_date)
    landed: dict[str, DataFrame] = {}
    for entity, df in landed_raw.items():
        name = tables.bronze_name(source, entity)
        as_strings = df.select(*[F.col(f"`{c}`").cast("string").alias(c) for c in df.columns])
        n = wh.replace_partition(as_strings, name, run_date)
        summary.metrics[f"landed.{entity}"] = n
        unused = unmapped_columns(inputs, entity, df.columns)
        if unused:
            summary.metrics[f"unmapped_columns.{entity}"] = len(unused)
            log.warning("%s: %d column(s) of the file are in no mapping and are kept in bronze only: %s",
                        entity, len(unused), unused)
        summary.metrics[f"bronze_expired.{entity}"] = wh.delete_where(
            name, F.col(S.RUN_DATE) < F.date_sub(F.lit(run_date), cfg.privacy.bronze_retention_days))
        summary.tables.append(name)
        landed[entity] = (
            wh.read(name).where(F.col(S.RUN_DATE) == F.lit(run_date)).drop(S.RUN_DATE)
        )

    # 2. validate every standard entity; persist the flagged rows (they feed several writes)
    standard = adapter.standardize(landed, inputs)
    flagged = {
        e: df.transform(_validator(e, cfg, run_date, secret)).persist(StorageLevel.MEMORY_AND_DISK)
        for e, df in standard.items()
    }
    try:
        return _finish(spark, cfg, run_date, source, adapter, inputs, flagged, summary, secret)
    finally:
        for df in flagged.values():
            df.unpersist()


def _finish(spark, cfg, run_date, source, adapter, inputs, flagged, summary, secret: bytes) -> JobSummary:
    wh = warehouse(spark, cfg)
    quarantine = None
    over = []
    for entity, df in flagged.items():
        counts = {r["reason"]: r["count"] for r in df.groupBy(Q.REASON).count().collect()}
        total = sum(counts.values())
        rejected_n = total - counts.get(None, 0)
        summary.metrics[f"input.{entity}"] = total
        summary.metrics[f"accepted.{entity}"] = counts.get(None, 0)
        for reason, n in sorted((k, v) for k, v in counts.items() if k is not None):
            summary.metrics[f"quarantined.{entity}.{reason}"] = n
        ratio = rejected_n / total if total else 0.0
        log.info("%s: %d in, %d accepted, %d quarantined %s", entity, total, total - rejected_n, rejected_n,
                 {k: v for k, v in counts.items() if k is not None})
        if ratio > cfg.ingest.max_reject_ratio:
            over.append(f"{entity} {ratio:.1%}")
        # redacted by contract: only the landed columns the adapter maps to non-personal contract columns stay
        # readable, and none of a ragged row (its values may sit in the wrong columns)
        clear = adapter.clear(inputs, entity)
        q = (Q.rejected(df, source, entity)
             .withColumn("record", pseudonym.redact_record(secret, F.col("record"), clear,
                                                           F.col("reason") != Q.WRONG_COLUMN_COUNT)))
        quarantine = q if quarantine is None else quarantine.unionByName(q)
    summary.rows_in = int(sum(v for k, v in summary.metrics.items() if k.startswith("input.")))
    summary.metrics["quarantined"] = wh.replace_partition(
        quarantine, "quarantine", run_date, extra_keys={S.SOURCE: source}
    )
    summary.tables.append("quarantine")
    if over:
        raise RejectRatioExceededError(
            f"ingest of '{source}' quarantined too many rows ({', '.join(over)} > max_reject_ratio "
            f"{cfg.ingest.max_reject_ratio:.1%}); see the quarantine table for reasons, fix the source or "
            "raise ingest.max_reject_ratio"
        )

    # 3. silver
    events_ok = flagged["events"].where(F.col(Q.REASON).isNull())
    dims = {e: flagged[e] for e in ("products", "customers") if e in flagged}
    if adapter.derive is not None:
        derived = adapter.derive(events_ok, inputs)
        for e, df in derived.items():
            dims[e] = df.transform(_validator(e, cfg, run_date, secret))
    rows_out = 0
    ev = Q.accepted(flagged["events"], S.EVENTS, source, run_date)
    m = wh.merge_upsert(ev, "events", [S.EVENT_ID], update=False)
    summary.metrics["events.inserted"] = m["inserted"]
    rows_out += m["inserted"]
    m = wh.merge_upsert(orders_from_events(ev), "orders", [S.EVENT_ID], update=False)
    summary.metrics["orders.inserted"] = m["inserted"]
    summary.tables += ["events", "orders"]
    for entity, df in dims.items():
        acc = Q.accepted(df, _SCHEMAS[entity], source, run_date)
        m = wh.merge_upsert(acc, entity, [_KEYS[entity]], ignore_in_compare=(S.INGEST_DATE,))
        summary.metrics[f"{entity}.inserted"] = m["inserted"]
        summary.metrics[f"{entity}.updated"] = m["updated"]
        summary.tables.append(entity)
    summary.rows_out = rows_out
    return summary
