"""Forgetting customers: every row that carries their id, in every table that holds customer rows.

Which tables hold customer rows, and in which columns, is declared once, in :data:`tailor.tables.REGISTRY`
(``customer_columns``). Two kinds of table are found at run time:

- bronze tables keep the landed columns of each source; their id columns are those named like a customer
  id (:data:`ID_FIELDS`, any case) or mapped to ``user_id``/``customer_id`` by ``sources.csv``;
- ``quarantine`` keeps each rejected row as JSON (``record``); the id is read from the same fields.

Landed ids are compared after trimming and dropping a trailing ``.0`` (Online Retail's CustomerID arrives
as ``17850.0``), the way ingest standardises them.

Each (table, id column) is one Delta MERGE with ``whenMatchedDelete`` against the distinct ids, an equi-join,
so a large request never becomes a nested loop. A scan afterwards counts, table by table, what is left.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import reduce

from delta.tables import DeltaTable
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from tailor import csvfile, tables
from tailor import schemas as S
from tailor.config import Config
from tailor.errors import SourceError

log = logging.getLogger(__name__)

ID_FIELDS = frozenset({"user_id", "customer_id", "customerid", "user", "userid", "customer"})
"""Lower-cased names of landed columns that hold a customer id."""
BRONZE_SOURCES = ("synthetic", "online_retail", "movielens", "csv")
BRONZE_ENTITIES = ("events", "products", "customers", "lines", "ratings", "movies", "users")
ID = "_forget_id"


def normalised(c: Column) -> Column:
    return F.regexp_replace(F.trim(c.cast("string")), r"\.0+$", "")


def read_ids(spark: SparkSession, ids: list[str], file: str | None) -> DataFrame:
    """The distinct, trimmed ids of the request: ``ids`` plus the file's (one per line, or a CSV whose
    header has ``user_id`` or ``customer_id``).

    Raises:
        SourceError: the file is missing or its CSV header names no id column; no id given at all.
    """
    frames = []
    if ids:
        frames.append(spark.createDataFrame([(i,) for i in ids], f"{ID} string"))
    if file:
        try:
            lines = spark.read.text(file)
            first = lines.first()
        except AnalysisException as e:
            raise SourceError(f"ids file {file}: {str(e).splitlines()[0]}") from None
        header = (first[0] if first else "").strip().lower()
        if "," in header or header in ("user_id", "customer_id"):
            csv = csvfile.read(spark, file, what="ids file")
            col = next((c for c in csv.columns if c.strip().lower() in ("user_id", "customer_id")), None)
            if col is None:
                raise SourceError(f"ids file {file} has a header without a user_id or customer_id column")
            frames.append(csv.select(F.col(f"`{col}`").alias(ID)))
        else:
            frames.append(lines.select(F.col("value").alias(ID)))
    if not frames:
        raise SourceError("nothing to forget: pass --user-id ID (repeatable) or --ids-file FILE")
    out = reduce(DataFrame.unionByName, frames).select(normalised(F.col(ID)).alias(ID))
    return out.where(F.col(ID).isNotNull() & (F.col(ID) != "")).distinct()


@dataclass(frozen=True)
class Target:
    """One id column of one table: ``id_of(prefix)`` gives the id column qualified by an alias."""

    table: str
    label: str
    id_of: object  # Callable[[str], Column]
    where: str | None = None


def _record_id(prefix: str, extra: frozenset[str]) -> Column:
    m = F.from_json(F.col(f"{prefix}record"), "map<string,string>")
    ids = F.map_filter(m, lambda k, v: F.lower(k).isin(*sorted(ID_FIELDS | extra)))
    return normalised(F.element_at(F.map_values(ids), 1))


def _csv_id_columns(cfg: Config) -> frozenset[str]:
    out = set()
    for entity in ("events", "customers"):
        e = getattr(cfg.sources.csv, entity)
        if e is not None:
            out |= {v.lower() for k, v in e.mapping.items() if k in (S.USER_ID, S.CUSTOMER_ID)}
    return frozenset(out)


def targets(spark: SparkSession, cfg: Config) -> list[Target]:
    """Every (table, id column) that exists in the warehouse and holds customer ids."""
    extra = _csv_id_columns(cfg)
    out: list[Target] = []
    for name, spec in tables.REGISTRY.items():
        if not spec.customer_columns or not tables.exists(spark, cfg, name):
            continue
        if name == "quarantine":
            out.append(Target(name, "record", lambda p, x=extra: _record_id(p, x)))
            continue
        out.extend(Target(name, c, lambda p, c=c: F.col(f"{p}{c}"), spec.customer_filter)
                   for c in spec.customer_columns)
    for source in BRONZE_SOURCES:
        for entity in BRONZE_ENTITIES:
            name = tables.bronze_name(source, entity)
            if not tables.exists(spark, cfg, name):
                continue
            cols = [c for c in tables.read(spark, cfg, name).columns if c.lower() in ID_FIELDS | extra]
            out.extend(Target(name, c, lambda p, c=c: normalised(F.col(f"{p}`{c}`"))) for c in cols)
    return out


def delete(cfg: Config, target: Target, ids: DataFrame) -> int:
    """Delete the target's rows whose id is in ``ids``; returns the number deleted."""
    cond = target.id_of("t.") == F.col(f"s.{ID}")
    if target.where:
        cond = cond & F.expr(target.where.replace(S.KIND, f"t.{S.KIND}"))
    return tables.merge_delete(ids, cfg, target.table, cond)


def remaining(spark: SparkSession, cfg: Config, target: Target, ids: DataFrame) -> int:
    """How many of the target's rows still carry one of ``ids``."""
    df = tables.read(spark, cfg, target.table).alias("t")
    if target.where:
        df = df.where(target.where)
    return df.join(ids.alias("s"), target.id_of("t.") == F.col(f"s.{ID}"), "left_semi").count()


def purge(spark: SparkSession, cfg: Config, table: str, retain_hours: int) -> None:
    """Physically remove the files older versions of ``table`` still read: REORG ... APPLY (PURGE) when
    deletion vectors are on (a DELETE then only marks rows), then VACUUM with ``retain_hours``."""
    p = tables.path(cfg, table)
    props = DeltaTable.forPath(spark, p).detail().select("properties").first()[0] or {}
    if str(props.get("delta.enableDeletionVectors", "false")).lower() == "true":
        spark.sql(f"REORG TABLE delta.`{p}` APPLY (PURGE)")
    check = "spark.databricks.delta.retentionDurationCheck.enabled"
    # VACUUM lists the table's folders in a job of spark.sql.sources.parallelPartitionDiscovery.parallelism
    # tasks, 10,000 by default: 20-45 s of empty tasks per small table on 2 cores. A few tasks per core do.
    listing = "spark.sql.sources.parallelPartitionDiscovery.parallelism"
    previous = {k: spark.conf.get(k, None) for k in (check, listing)}
    if retain_hours < 168:  # Delta refuses a short retention unless told; privacy.vacuum_retain_hours says so
        spark.conf.set(check, "false")
    spark.conf.set(listing, str(max(4, 4 * spark.sparkContext.defaultParallelism)))
    try:
        DeltaTable.forPath(spark, p).vacuum(float(retain_hours))
    finally:
        for k, v in previous.items():
            if v is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, v)
