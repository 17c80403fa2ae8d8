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
import re
from contextlib import contextmanager
from dataclasses import dataclass
from functools import reduce

from delta.tables import DeltaTable
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from tailor import csvfile, tables
from tailor import schemas as S
from tailor.errors import SourceError
from tailor.privacy.pseudonym import is_personal, pseudonym_col
from tailor.settings import CsvSource
from tailor.tables import Warehouse

log = logging.getLogger(__name__)

ID_FIELDS = frozenset({"user_id", "customer_id", "customerid", "user", "userid", "customer"})
"""Lower-cased names of landed columns that hold a customer id."""
BRONZE_SOURCES = ("synthetic", "online_retail", "movielens", "csv")
BRONZE_ENTITIES = ("events", "products", "customers", "lines", "ratings", "movies", "users")
ID = "_forget_id"
HOLDERS = frozenset(name for name, spec in tables.REGISTRY.items() if spec.customer_columns)
"""The registered tables that hold customer rows (their bronze landings aside)."""
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


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
    # try_: a record with no id field (a sends export keyed by e-mail) has none, and element_at fails under ANSI
    return normalised(F.try_element_at(F.map_values(ids), F.lit(1)))


def csv_id_columns(csv: CsvSource) -> frozenset[str]:
    out = set()
    for entity in ("events", "customers"):
        e = getattr(csv, entity)
        if e is not None:
            out |= {v.lower() for k, v in e.mapping.items() if k in (S.USER_ID, S.CUSTOMER_ID)}
    return frozenset(out)


def targets(wh: Warehouse, extra: frozenset[str] = frozenset()) -> list[Target]:
    """Every (table, id column) that exists in the warehouse and holds customer ids; ``extra``: further
    landed column names holding ids (a csv source's mapped id columns, :func:`csv_id_columns`)."""
    out: list[Target] = []
    for name, spec in tables.REGISTRY.items():
        if not spec.customer_columns or not wh.exists(name):
            continue
        if name == "quarantine":
            out.append(Target(name, "record", lambda p, x=extra: _record_id(p, x)))
            continue
        out.extend(Target(name, c, lambda p, c=c: F.col(f"{p}{c}"), spec.customer_filter)
                   for c in spec.customer_columns)
    for source in BRONZE_SOURCES:
        for entity in BRONZE_ENTITIES:
            name = tables.bronze_name(source, entity)
            if not wh.exists(name):
                continue
            cols = [c for c in wh.read(name).columns if c.lower() in ID_FIELDS | extra]
            out.extend(Target(name, c, lambda p, c=c: normalised(F.col(f"{p}`{c}`"))) for c in cols)
    return out


def delete(wh: Warehouse, target: Target, ids: DataFrame) -> int:
    """Delete the target's rows whose id is in ``ids``; returns the number deleted."""
    cond = target.id_of("t.") == F.col(f"s.{ID}")
    if target.where:
        cond = cond & F.expr(target.where.replace(S.KIND, f"t.{S.KIND}"))
    return wh.merge_delete(ids, target.table, cond)


def remaining(wh: Warehouse, target: Target, ids: DataFrame) -> int:
    """How many of the target's rows (current version) still carry one of ``ids``."""
    return _matches(wh.read(target.table), target, ids)


RETENTION = "delta.deletedFileRetentionDuration"
_RETENTION_CHECK = "spark.databricks.delta.retentionDurationCheck.enabled"
_LISTING = "spark.sql.sources.parallelPartitionDiscovery.parallelism"
_VACUUM_LOGGING = "spark.databricks.delta.vacuum.logging.enabled"


@contextmanager
def purging(spark: SparkSession):
    """Session settings for a purge, restored afterwards: Delta's check against a VACUUM retention under 7
    days is lifted, VACUUM lists folders with a few tasks per core (by default
    ``parallelPartitionDiscovery.parallelism`` is 10,000 tasks: 20-45 s of empty tasks per small table), and
    VACUUM writes no VACUUM START / VACUUM END commits (two commits a table; the purge cuts the log after
    them anyway, and ``forget_requests`` is the purge's record)."""
    values = {_RETENTION_CHECK: "false", _LISTING: str(max(4, 4 * spark.sparkContext.defaultParallelism)),
              _VACUUM_LOGGING: "false"}
    previous = {k: spark.conf.get(k, None) for k in values}
    for k, v in values.items():
        spark.conf.set(k, v)
    try:
        yield
    finally:
        for k, v in previous.items():
            if v is None:
                spark.conf.unset(k)
            else:
                spark.conf.set(k, v)


def purge(wh: Warehouse, table: str) -> dict[str, int]:
    """Remove every trace older versions of ``table`` keep, so time travel can no longer reach a deleted row.
    Call it inside :func:`purging`.

    1. ``delta.deletedFileRetentionDuration`` is set to 0 hours, so the checkpoint below keeps no tombstone
       (the entries of removed files carry those files' statistics);
    2. REORG ... APPLY (PURGE) where deletion vectors are on, so the deletes rewrite the files rather than
       mark rows;
    3. VACUUM with retention 0: every file no longer in the current version is deleted;
    4. a checkpoint of the current version; the property is restored (one small commit after it), and
       every log entry before the checkpoint is deleted (:meth:`tailor.tables.Warehouse.expire_log`): the history, and
       with it the commits whose statistics or predicates named the customer, starts at the purge.

    The price: no time travel to before the purge, and a reader or writer still working on an older version
    of the table fails; run a purge when no other job runs. Returns counts (files vacuumed, log entries
    expired) and ``cut``, the checkpoint's version, the oldest one left.
    """
    spark = wh.spark
    props = wh.properties(table)
    wh.set_properties(table, {RETENTION: "interval 0 hours"})
    try:
        if str(props.get("delta.enableDeletionVectors", "false")).lower() == "true":
            spark.sql(f"REORG TABLE delta.`{wh.path(table)}` APPLY (PURGE)")
        data_before = len(wh.files(table))
        DeltaTable.forPath(spark, wh.path(table)).vacuum(0.0)
        vacuumed = data_before - len(wh.files(table))
        cut = wh.checkpoint(table)
    finally:
        wh.set_properties(table, {RETENTION: props.get(RETENTION)})
    return {"vacuumed": vacuumed, "log_expired": wh.expire_log(table, cut), "cut": cut}


def needles(wh: Warehouse, ids: DataFrame, secret: bytes) -> DataFrame:
    """Everything that identifies the request's customers, one string per row (``needle``): their ids, the
    keyed pseudonyms of their ids and e-mail addresses, and the raw personal values of their bronze customer
    rows (e-mail, name, phone). Read before the deletes; the purge verification looks for each of them."""
    parts = [ids.select(F.col(ID).alias("needle")),
             ids.select(pseudonym_col(secret, F.col(ID)).alias("needle"))]
    if wh.exists("customers"):
        parts.append(wh.read("customers").alias("c")
                     .join(ids, F.col(f"c.{S.CUSTOMER_ID}") == F.col(ID), "left_semi")
                     .select(F.col(S.EMAIL_PSEUDONYM).alias("needle")))
    for source in BRONZE_SOURCES:
        name = tables.bronze_name(source, "customers")
        if not wh.exists(name):
            continue
        bronze = wh.read(name)
        id_cols = [c for c in bronze.columns if c.lower() in ID_FIELDS]
        personal = [c for c in bronze.columns if is_personal(c)]
        if not id_cols or not personal:
            continue
        mine = bronze.join(ids, reduce(lambda a, b: a | b, [normalised(F.col(f"`{c}`")) == F.col(ID)
                                                                for c in id_cols]), "left_semi")
        for c in personal:
            parts.append(mine.select(F.trim(F.col(f"`{c}`")).alias("needle")))
            parts.append(mine.select(pseudonym_col(secret, F.lower(F.trim(F.col(f"`{c}`")))).alias("needle")))
    out = reduce(DataFrame.unionByName, parts)
    return out.where(F.col("needle").isNotNull() & (F.length("needle") >= 3)).distinct()


def versions(wh: Warehouse, table: str) -> list[int]:
    """The versions of ``table`` that time travel may still read: every commit from the newest checkpoint
    that has all commits before it on (a listing of ``_delta_log``, no Spark job)."""
    commits, checkpoints = set(), set()
    for f in wh.files(table, log=True):
        name = f.rsplit("/", 1)[-1]
        if name[:20].isdigit():
            (commits if name.endswith(".json") and name.count(".") == 1 else checkpoints).add(int(name[:20]))
    if not commits:
        return []
    floor = min(commits)
    reachable = [c for c in checkpoints if c >= floor - 1] or [floor]
    start = min(min(reachable), floor)
    return sorted(v for v in commits if v >= start)


def remaining_in_files(wh: Warehouse, target: Target, ids: DataFrame) -> int:
    """Rows carrying ``ids`` in any parquet file under the table's folder, referenced by a version or not.
    Every version time travel can read is made of such files, so this covers them all (and more strictly:
    a row that a deletion vector hides is still counted)."""
    spark = wh.spark
    found = [f for f in wh.files(target.table) if f.endswith(".parquet")]
    if not found:
        return 0
    df = (spark.read.option("basePath", wh.path(target.table)).option("mergeSchema", "true")
          .parquet(*found))
    return _matches(df, target, ids)


def _matches(df: DataFrame, target: Target, ids: DataFrame) -> int:
    df = df.alias("t")
    if target.where:
        df = df.where(target.where)
    return df.join(ids.alias("s"), target.id_of("t.") == F.col(f"s.{ID}"), "left_semi").count()


_TOKEN_SPLIT = r"[\s\"\\,:{}\[\]()=]+"
_STATS = r'"stats":"((?:[^"\\]|\\.)*)"'


def _log_texts(wh: Warehouse, table: str) -> DataFrame | None:
    """Every entry of the table's ``_delta_log`` as JSON text (``_text``), one row per action; checkpoints
    (Parquet) are turned into JSON."""
    spark = wh.spark
    entries = wh.files(table, log=True)
    texts = [f for f in entries if f.endswith((".json", ".crc"))]
    parquet = [f for f in entries if f.endswith(".parquet")]
    parts = []
    if texts:
        parts.append(spark.read.text(texts).select(F.col("value").alias("_text")))
    if parquet:
        cp = spark.read.parquet(*parquet)
        cols = []
        for c in cp.columns:  # stats_parsed repeats stats as a struct: the JSON string form is checked
            drop = [f for f in ("stats_parsed", "partitionValues_parsed")
                    if c in ("add", "remove") and f in cp.schema[c].dataType.fieldNames()]
            cols.append((F.col(c).dropFields(*drop) if drop else F.col(c)).alias(c))
        parts.append(cp.select(F.to_json(F.struct(*cols)).alias("_text")))
    return reduce(DataFrame.unionByName, parts) if parts else None


def traces_in_log(wh: Warehouse, table: str, needles: DataFrame) -> dict[str, int]:
    """What the table's ``_delta_log`` (commits, checksums, checkpoints) still tells of customers:

    - ``statistics``: file statistics with a min or max of a customer or personal column (of any column in
      bronze), each of which would carry someone's id or address;
    - ``needles``: how many of ``needles`` appear as whole tokens anywhere else (commit predicates, metadata,
      transaction ids).
    """
    texts = _log_texts(wh, table)
    if texts is None:
        return {"statistics": 0, "needles": 0}
    texts = texts.localCheckpoint()  # read once, scanned twice
    return {"statistics": _stats_on_customers(texts, table), "needles": _needles_in(texts, needles)}


def _stats_on_customers(texts: DataFrame, table: str) -> int:
    spec = tables.spec(table)
    stats = texts.select(F.explode(F.regexp_extract_all("_text", F.lit(_STATS), 1)).alias("s"))
    stats = stats.select(F.regexp_replace(F.regexp_replace("s", r'\\"', '"'), r"\\\\", r"\\").alias("s"))
    keys = stats.select(F.explode(F.array_union(
        F.coalesce(F.json_object_keys(F.get_json_object("s", "$.minValues")), F.array().cast("array<string>")),
        F.coalesce(F.json_object_keys(F.get_json_object("s", "$.maxValues")), F.array().cast("array<string>")),
    )).alias("column"))
    if spec.layer == "bronze":
        return keys.count()
    forbidden = [*(spec.customer_columns or ()), *[f.name for f in (spec.schema or []) if is_personal(f.name)]]
    return keys.where(F.col("column").isin(*forbidden)).count() if forbidden else 0


def _needles_in(texts: DataFrame, needles: DataFrame) -> int:
    bare = texts.select(F.regexp_replace("_text", _STATS, "").alias("_text"))
    tokens = bare.select(F.explode(F.split("_text", _TOKEN_SPLIT)).alias("needle"))
    return tokens.join(needles, "needle", "left_semi").select("needle").distinct().count()


def leftover_checkpoints(spark: SparkSession, checkpoint_root: str, streams: list[str]) -> list[str]:
    """Folders of Spark's RDD checkpoint directory that earlier runs left behind (the ``tailor`` command
    deletes its own when it ends, a killed driver or a caller of the jobs' functions does not): scratch
    copies of intermediate data, user ids included. The streams' checkpoints, and the folder of this
    session's own context, are kept."""
    root, fs = tables.hadoop_path(spark, checkpoint_root)
    if not fs.exists(root):
        return []
    keep = {s.rstrip("/") for s in streams}
    own = spark.sparkContext._jsc.sc().getCheckpointDir()
    if own.isDefined():
        keep.add(tables.hadoop_path(spark, own.get())[0].toString().rstrip("/"))
    return sorted(st.getPath().toString() for st in fs.listStatus(root)
                  if st.isDirectory() and _UUID.match(st.getPath().getName())
                  and st.getPath().toString().rstrip("/") not in keep)


def traces_in_stream_checkpoint(spark: SparkSession, checkpoint: str, needles: DataFrame) -> int:
    """How many of ``needles`` appear as tokens in a streaming query's checkpoint (offsets, commits, source
    logs, state files), read as text."""
    root, fs = tables.hadoop_path(spark, checkpoint)
    if not fs.exists(root):
        return 0
    text = (spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(checkpoint)
            .select(F.col("content").cast("string").alias("_text")))
    return _needles_in(text, needles)
