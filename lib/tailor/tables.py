"""Every Delta read and write goes through a :class:`Warehouse`.

Tables are known by logical name. :data:`REGISTRY` maps each name to its layer, partitioning and contract;
its location is ``<warehouse>/<layer>/<name>``. Bronze tables are per source and entity
(``bronze_<source>_<entity>``) and keep the landed columns as they are. The application builds the
warehouse from its config (:func:`tailor.config.warehouse`); everything below it takes the object.

Write modes (methods of :class:`Warehouse`):

- ``replace_partition`` replaces one ``run_date`` (and optionally one value of further partition keys)
  with ``replaceWhere``, so a re-run for the same date leaves the table as one run would;
- ``merge_upsert`` MERGEs on a key: new keys are inserted, changed rows updated, identical rows untouched;
- ``append_idempotent`` appends with ``txnAppId``/``txnVersion``. Delta skips any version at or below
  the last one committed for that app id *even when the data differs*, so callers derive the version from
  what makes the batch unique (a run date, a batch id), never from a counter.

While a job runs, :func:`declared` binds the tables it declares; a read or write of any other raises.
"""

from __future__ import annotations

import fnmatch
import json
import logging
import os
import random
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date
from functools import reduce

from delta.exceptions import (
    ConcurrentAppendException,
    ConcurrentDeleteDeleteException,
    ConcurrentDeleteReadException,
    ConcurrentTransactionException,
    ConcurrentWriteException,
    DeltaConcurrentModificationException,
    MetadataChangedException,
    ProtocolChangedException,
)
from delta.tables import DeltaTable
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, NumericType, StringType, StructType, TimestampType

from tailor import schemas as S
from tailor.errors import (
    MissingColumnsError,
    MissingTableError,
    NotApplicable,
    SchemaMismatchError,
    UndeclaredTableError,
    first_line,
)

_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_\-]+$")
_COMMIT_FILE = re.compile(r"^(\d{20})\.json$")
_log = logging.getLogger(__name__)
_MAX_WAIT_S = 60.0
# Delta's Python conflict exceptions are siblings (each a PySparkException), not subclasses of
# DeltaConcurrentModificationException: catching that one alone misses ConcurrentAppendException
COMMIT_CONFLICTS = (DeltaConcurrentModificationException, ConcurrentAppendException, ConcurrentWriteException,
                    ConcurrentDeleteReadException, ConcurrentDeleteDeleteException, ConcurrentTransactionException,
                    MetadataChangedException, ProtocolChangedException)


NO_CUSTOMERS: tuple[str, ...] = ()


@dataclass(frozen=True)
class TableSpec:
    """What Tailor knows about one table.

    Attributes:
        name: logical name.
        layer: bronze, silver, gold or ops; also the folder under the warehouse.
        schema: the contract, or None for bronze tables that keep the landed columns.
        partition_by: partition columns.
        customer_columns: the columns holding customer ids (``tailor forget`` deletes a row when any of them
            holds a forgotten id); :data:`NO_CUSTOMERS` when the table holds no customer rows. None means
            undeclared, which a test forbids for every registered table.
        customer_filter: a SQL condition limiting which rows hold customer ids (``id_map`` also maps items).
    """

    name: str
    layer: str
    schema: StructType | None = None
    partition_by: tuple[str, ...] = ()
    customer_columns: tuple[str, ...] | None = None
    customer_filter: str | None = None


_USER = (S.USER_ID,)
REGISTRY: dict[str, TableSpec] = {
    t.name: t
    for t in (
        TableSpec("events", "silver", S.EVENTS, customer_columns=_USER),
        TableSpec("orders", "silver", S.ORDERS, customer_columns=_USER),
        TableSpec("products", "silver", S.PRODUCTS, customer_columns=NO_CUSTOMERS),
        TableSpec("customers", "silver", S.CUSTOMERS, customer_columns=(S.CUSTOMER_ID,)),
        # quarantined rows keep the landed row as JSON: tailor.privacy.forget reads the ids out of it
        TableSpec("quarantine", "silver", S.QUARANTINE, (S.RUN_DATE, S.SOURCE), customer_columns=("record",)),
        TableSpec("runs", "ops", S.RUNS, (S.RUN_DATE,), customer_columns=NO_CUSTOMERS),
        TableSpec("id_map", "ops", S.ID_MAP, (S.KIND,), customer_columns=(S.EXTERNAL_ID,),
                  customer_filter=f"{S.KIND} = 'user'"),
        TableSpec("user_features", "gold", S.USER_FEATURES, (S.RUN_DATE,), customer_columns=_USER),
        TableSpec("user_segments", "gold", S.USER_SEGMENTS, (S.RUN_DATE,), customer_columns=_USER),
        TableSpec("segment_profiles", "gold", S.SEGMENT_PROFILES, (S.RUN_DATE,), customer_columns=NO_CUSTOMERS),
        TableSpec("customer_value", "gold", S.CUSTOMER_VALUE, (S.RUN_DATE,), customer_columns=_USER),
        TableSpec("item_similarity", "gold", S.SIMILARITY, (S.RUN_DATE, S.METHOD), customer_columns=NO_CUSTOMERS),
        TableSpec("user_similarity", "gold", S.SIMILARITY, (S.RUN_DATE, S.METHOD),
                  customer_columns=(S.ENTITY, S.NEIGHBOUR)),
        TableSpec("candidate_recs", "gold", S.CANDIDATES, (S.RUN_DATE, S.SOURCE), customer_columns=_USER),
        TableSpec("als_user_factors", "gold", S.USER_FACTORS, (S.RUN_DATE,), customer_columns=_USER),
        TableSpec("als_item_factors", "gold", S.ITEM_FACTORS, (S.RUN_DATE,), customer_columns=NO_CUSTOMERS),
        TableSpec("tuning_results", "ops", S.TUNING_RESULTS, (S.RUN_DATE, "model"), customer_columns=NO_CUSTOMERS),
        TableSpec("popular_items", "gold", S.POPULAR_ITEMS, (S.RUN_DATE,), customer_columns=NO_CUSTOMERS),
        TableSpec("recommendations", "gold", S.RECOMMENDATIONS, (S.RUN_DATE,), customer_columns=_USER),
        TableSpec("evaluations", "ops", S.EVALUATIONS, (S.RUN_DATE, "split"), customer_columns=NO_CUSTOMERS),
        TableSpec("propensity_scores", "gold", S.PROPENSITY_SCORES, (S.RUN_DATE, "model"), customer_columns=_USER),
        TableSpec("model_metrics", "ops", S.MODEL_METRICS, (S.RUN_DATE, "model"), customer_columns=NO_CUSTOMERS),
        TableSpec("model_versions", "ops", S.MODEL_VERSIONS, (S.RUN_DATE, "model"), customer_columns=NO_CUSTOMERS),
        TableSpec("frequent_itemsets", "gold", S.FREQUENT_ITEMSETS, (S.RUN_DATE,), customer_columns=NO_CUSTOMERS),
        TableSpec("association_rules", "gold", S.ASSOCIATION_RULES, (S.RUN_DATE,), customer_columns=NO_CUSTOMERS),
        TableSpec("frequently_bought_together", "gold", S.FREQUENTLY_BOUGHT_TOGETHER, (S.RUN_DATE,),
                  customer_columns=NO_CUSTOMERS),
        TableSpec("campaign_audiences", "gold", S.CAMPAIGN_AUDIENCES, (S.RUN_DATE,), customer_columns=_USER),
        TableSpec("contact_history", "ops", S.CONTACT_HISTORY, (S.SENT_DATE,), customer_columns=_USER),
        TableSpec("experiment_results", "gold", S.EXPERIMENT_RESULTS, (S.RUN_DATE,), customer_columns=NO_CUSTOMERS),
        TableSpec("uplift_scores", "gold", S.UPLIFT_SCORES, (S.RUN_DATE,), customer_columns=_USER),
        TableSpec("experiment_plans", "gold", S.EXPERIMENT_PLANS, (S.RUN_DATE,), customer_columns=NO_CUSTOMERS),
        TableSpec("realtime_state", "gold", S.REALTIME_STATE, customer_columns=_USER),
        TableSpec("realtime_recs", "gold", S.REALTIME_RECS, customer_columns=_USER),
        TableSpec("stream_progress", "ops", S.STREAM_PROGRESS, customer_columns=NO_CUSTOMERS),
        # the pseudonym of each forgotten id, never the id: kept as the proof that the request was honoured
        TableSpec("forget_requests", "ops", S.FORGET_REQUESTS, (S.RUN_DATE,), customer_columns=NO_CUSTOMERS),
    )
}


def bronze_name(source: str, entity: str) -> str:
    return f"bronze_{source}_{entity}"


def spec(name: str) -> TableSpec:
    """The :class:`TableSpec` of a logical table name (bronze names are built by :func:`bronze_name`)."""
    if name in REGISTRY:
        return REGISTRY[name]
    if name.startswith("bronze_"):  # landed columns: tailor.privacy.forget finds the id columns
        return TableSpec(name, "bronze", None, (S.RUN_DATE,))
    raise KeyError(f"unknown table {name!r}; known: {', '.join(sorted(REGISTRY))}")


@dataclass(frozen=True)
class Declared:
    """The tables a running job may touch: names or ``fnmatch`` patterns (``bronze_*``). The job runner binds
    it (:func:`declared`); every read and write below checks it, so a job that reads a table it does not
    declare fails in every test that runs it."""

    job: str
    reads: frozenset[str]
    writes: frozenset[str]

    def allows(self, name: str, mode: str) -> bool:
        if name == "runs":  # the run log: written by the runner for every job, read by the report
            return True
        pool = self.reads if mode == "read" else self.writes if mode == "write" else self.reads | self.writes
        return any(fnmatch.fnmatchcase(name, p) for p in pool)


_DECLARED: ContextVar[Declared | None] = ContextVar("tailor_declared_tables", default=None)


@contextmanager
def declared(job: str, reads: Iterable[str], writes: Iterable[str]) -> Iterator[Declared]:
    """Within the block, reading a table outside ``reads`` (or its own ``writes``, read back) or writing one
    outside ``writes`` raises :class:`UndeclaredTableError`."""
    d = Declared(job, frozenset(reads) | frozenset(writes), frozenset(writes))
    token = _DECLARED.set(d)
    try:
        yield d
    finally:
        _DECLARED.reset(token)


def _touch(name: str, mode: str) -> None:
    d = _DECLARED.get()
    if d is not None and not d.allows(name, mode):
        verb = {"read": "reads", "write": "writes"}.get(mode, "uses")
        raise UndeclaredTableError(f"job {d.job} {verb} table '{name}' but does not declare it in its "
                                   f"{'WRITES' if mode == 'write' else 'READS'}")


def conform(df: DataFrame, schema: StructType, table: str) -> DataFrame:
    """Select ``df``'s columns in contract order, failing if any is missing, extra or of the wrong type.

    Raises:
        SchemaMismatchError: names or types differ from the contract.
    """
    have = {f.name: f.dataType for f in df.schema.fields}
    want = {f.name: f.dataType for f in schema.fields}
    missing = [c for c in want if c not in have]
    extra = [c for c in have if c not in want]
    def show(got, expected) -> tuple[str, str]:  # simpleString hides containsNull; then show the JSON form
        if got.simpleString() != expected.simpleString():
            return got.simpleString(), expected.simpleString()
        return str(got.jsonValue()), str(expected.jsonValue())

    wrong = ["{} is {}, expected {}".format(c, *show(have[c], t))
             for c, t in want.items() if c in have and have[c] != t]
    if missing or extra or wrong:
        problems = []
        if missing:
            problems.append(f"missing {missing}")
        if extra:
            problems.append(f"unexpected {extra}")
        problems.extend(wrong)
        raise SchemaMismatchError(f"table '{table}' contract violated: {'; '.join(problems)}")
    return df.select(*want)


STATS_COLUMNS = "delta.dataSkippingStatsColumns"
STATS_COUNT = "delta.dataSkippingNumIndexedCols"
_ATOMIC = (StringType, NumericType, DateType, TimestampType)  # Delta keeps no statistics on booleans


def stats_properties(t: TableSpec, schema: StructType) -> dict[str, str]:
    """Table properties that keep customer ids and personal data out of Delta's column statistics.

    Delta writes each file's min and max per column into ``_delta_log`` (``minValues``/``maxValues``), and
    log files outlive the data files they describe. So a table holding customers collects statistics only on
    its other (atomic, non-partition) columns; a bronze table, whose landed columns are anyone's guess, on
    none. Tables without customers keep Delta's default.
    """
    if t.layer == "bronze":
        return {STATS_COUNT: "0"}
    if not t.customer_columns:
        return {}

    keep = [f.name for f in schema.fields
            if f.name not in t.customer_columns and f.name not in t.partition_by and not S.is_personal(f.name)
            and isinstance(f.dataType, _ATOMIC)]
    return {STATS_COLUMNS: ",".join(keep)} if keep else {STATS_COUNT: "0"}


def _sql_literal(value: object) -> str:
    if isinstance(value, date):
        return f"DATE'{value.isoformat()}'"
    if isinstance(value, str) and _SAFE_VALUE.match(value):
        return f"'{value}'"
    raise ValueError(f"partition value {value!r} must be a date or match {_SAFE_VALUE.pattern}")


def _key_condition(keys: Iterable[str]) -> Column:
    return reduce(lambda a, b: a & b, [F.col(f"t.{k}") == F.col(f"s.{k}") for k in keys])


_LOG_ENTRY = re.compile(r"^(\d{20})\.(json|crc|checkpoint\..*parquet|\d{20}\.compacted\.json)$")


def hadoop_path(spark: SparkSession, where: str):
    """(Hadoop ``Path``, its ``FileSystem``) for a folder or file URI: listings and deletes without a Spark job."""
    jvm = spark.sparkContext._jvm
    p = jvm.org.apache.hadoop.fs.Path(where)
    return p, p.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())


def delete_paths(spark: SparkSession, paths: list[str]) -> int:
    """Delete each folder or file of ``paths`` with what is under it; return how many existed."""
    n = 0
    for where in paths:
        p, fs = hadoop_path(spark, where)
        n += bool(fs.delete(p, True))
    return n


@dataclass(frozen=True)
class Warehouse:
    """The one owner of storage: the root every table lives under, the metastore database tables are also
    registered in, the retry policy for lost commit races, and the registry of table contracts. Every read
    and write of a Delta table is one of its methods.

    Attributes:
        spark: the session reads and writes run in.
        root: the warehouse URI; a table lives at ``<root>/<layer>/<name>``.
        catalog: when set, tables are also registered in the metastore under this database.
        retries, backoff_s: a write that loses a commit race is retried this many times, waits doubling
            from ``backoff_s`` (with jitter seeded by ``seed``, the table, the process and the thread).
        registry: logical name -> :class:`TableSpec`.
    """

    spark: SparkSession
    root: str
    catalog: str | None = None
    retries: int = 5
    backoff_s: float = 1.0
    seed: int = 42
    registry: Mapping[str, TableSpec] = field(default_factory=lambda: REGISTRY)

    def spec(self, name: str) -> TableSpec:
        """What this warehouse's registry knows of ``name`` (bronze tables by their name's shape)."""
        return self.registry[name] if name in self.registry else spec(name)

    def on_conflict_retry(self, name: str, write: Callable[[], object]) -> object:
        """Call ``write`` (one idempotent write to table ``name``); when it loses a commit race to another writer
        (any ``delta.exceptions`` concurrent-modification error), wait and call it again, up to
        ``delta.conflict_retries`` times. Waits double from ``delta.retry_backoff_seconds``, with jitter from a
        generator seeded by the seed, the table, the process and the thread, so racing writers do not retry in
        step."""
        retries, first = self.retries, self.backoff_s
        jitter = random.Random(f"{self.seed}:{name}:{os.getpid()}:{threading.get_ident()}")
        for attempt in range(retries + 1):
            try:
                return write()
            except COMMIT_CONFLICTS as e:
                if attempt == retries:
                    raise
                wait = min(_MAX_WAIT_S, first * 2**attempt) * (0.5 + jitter.random())
                _log.warning("write to %s lost a commit race (%s); retry %d of %d in %.1fs", name,
                             type(e).__name__, attempt + 1, retries, wait)
                time.sleep(wait)
            except AnalysisException as e:  # Delta's refusals (schema, metadata, names) name no table
                if "DELTA_" not in str(e):
                    raise
                raise SchemaMismatchError(f"table '{name}' at {self.path(name)} refused the write: "
                                          f"{first_line(e, 400)}") from None
        raise AssertionError("unreachable")


    def path(self, name: str) -> str:
        _touch(name, "any")
        t = self.spec(name)
        return f"{self.root}/{t.layer}/{t.name}"


    def model_path(self, model: str, run_date: date) -> str:
        """Where a fitted model of ``run_date`` is saved: ``<warehouse>/models/<model>/run_date=<date>``."""
        return f"{self.root}/models/{model}/run_date={run_date.isoformat()}"


    def exists(self, name: str) -> bool:
        spark = self.spark
        _touch(name, "read")
        return DeltaTable.isDeltaTable(spark, self.path(name))


    def read(self, name: str, version: int | None = None) -> DataFrame:
        """Read a table (optionally an older version, by Delta time travel).

        Raises:
            MissingTableError: the table has not been written yet.
        """
        spark = self.spark
        _touch(name, "read")
        if not self.exists(name):
            raise MissingTableError(
                f"table '{name}' does not exist at {self.path(name)}; run the job that writes it first"
            )
        reader = spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", version)
        return reader.load(self.path(name))


    def read_run(self, name: str, run_date: date) -> DataFrame:
        """The ``run_date`` partition of a gold table.

        Raises:
            MissingTableError: the table, or that date's partition, has not been written yet.
            NotApplicable: the date's partition was written, with no rows (its job ran and found nothing).
        """
        df = self.read(name).where(F.col(S.RUN_DATE) == F.lit(run_date))
        if df.limit(1).count() == 0:
            if self._wrote_empty(name, run_date):
                raise NotApplicable(f"table '{name}' has no rows for run date {run_date}: the job that writes it "
                                    "ran for that date and found nothing to write")
            raise MissingTableError(
                f"table '{name}' has no rows for run date {run_date}; run the job that writes it for that date first"
            )
        return df


    def _wrote_empty(self, name: str, run_date: date) -> bool:
        """Whether a job that writes ``name`` succeeded for ``run_date`` (so the partition is empty by the
        writer's finding, not because the writer never ran for that date): the ``runs`` table's metrics hold
        ``wrote.<table>`` for every table a successful job wrote (:mod:`tailor.jobs.base`). Read directly: a
        job need not declare ``runs`` to be told why its input is empty."""
        if not DeltaTable.isDeltaTable(self.spark, self.path("runs")):
            return False
        runs = self.spark.read.format("delta").load(self.path("runs"))
        wrote = runs.where((F.col(S.RUN_DATE) == F.lit(run_date)) & (F.col("status") == "succeeded")
                           & F.col("metrics")[f"wrote.{name}"].isNotNull())
        return wrote.limit(1).count() > 0


    def properties(self, name: str) -> dict[str, str]:
        """The table's Delta properties, from its latest snapshot's metadata (no Spark job, where
        ``DESCRIBE DETAIL`` runs one)."""
        jvm = self.spark.sparkContext._jvm
        conf = self._snapshot(name).metadata().configuration()
        return dict(jvm.scala.jdk.javaapi.CollectionConverters.asJava(conf))


    def _snapshot(self, name: str):
        """The table's latest Delta snapshot (a JVM object), brought up to date with its log."""
        spark = self.spark
        jvm = spark.sparkContext._jvm
        delta_log = jvm.org.apache.spark.sql.delta.DeltaLog.forTable(spark._jsparkSession, self.path(name))
        return delta_log.update(False, jvm.scala.Option.empty(), jvm.scala.Option.empty())


    def set_properties(self, name: str, props: Mapping[str, str | None]) -> None:
        """Set (a value) or unset (None) table properties, in at most two commits."""
        spark = self.spark
        _touch(name, "write")
        target = f"delta.`{self.path(name)}`"
        given = {k: v for k, v in props.items() if v is not None}
        gone = [k for k, v in props.items() if v is None]
        if given:
            pairs = ", ".join(f"'{k}' = '{v}'" for k, v in given.items())
            self.on_conflict_retry(name, lambda: spark.sql(f"ALTER TABLE {target} SET TBLPROPERTIES ({pairs})"))
        if gone:
            keys = ", ".join(f"'{k}'" for k in gone)
            unset = f"ALTER TABLE {target} UNSET TBLPROPERTIES IF EXISTS ({keys})"
            self.on_conflict_retry(name, lambda: spark.sql(unset))


    def protect_stats(self, name: str) -> bool:
        """Give an existing table the :func:`stats_properties` it lacks (tables made before they existed);
        files written from then on carry no customer statistics. Returns whether anything was changed."""
        want = stats_properties(self.spec(name), self.read(name).schema)
        have = self.properties(name)
        missing = {k: v for k, v in want.items() if have.get(k) != v}
        if missing:
            self.set_properties(name, missing)
        return bool(missing)


    def _ensure_table(self, t: TableSpec, df: DataFrame) -> None:
        """Create the table with its contract (so Delta enforces NOT NULL columns) if it does not exist."""
        spark = self.spark
        if self.exists(t.name):
            return
        builder = DeltaTable.createIfNotExists(spark).location(self.path(t.name))
        if self.catalog:
            spark.sql(f"CREATE DATABASE IF NOT EXISTS {self.catalog}")
            builder = builder.tableName(f"{self.catalog}.{t.name}")
        schema = t.schema if t.schema is not None else df.schema
        builder.addColumns(schema)
        for k, v in stats_properties(t, schema).items():
            builder = builder.property(k, v)
        if t.partition_by:
            builder = builder.partitionedBy(*t.partition_by)

        def create() -> None:
            try:
                builder.execute()
            except AnalysisException as e:
                # two writers creating one table: the loser may see the winner's files before its log (Delta says
                # DELTA_CREATE_TABLE_WITH_NON_EMPTY_LOCATION), or the winner's _delta_log folder before its first
                # commit (DELTA_TABLE_NOT_FOUND); once the table is there, there is nothing to do
                text = str(e)
                if "NON_EMPTY_LOCATION" in text or "DELTA_TABLE_NOT_FOUND" in text or "already exists" in text.lower():
                    time.sleep(0.5)
                    if self.exists(t.name):
                        return
                    raise ConcurrentTransactionException(
                        f"creating table '{t.name}' raced another writer: {self.path(t.name)} holds files or a "
                        "_delta_log folder but no commit yet. If no other Tailor job is writing it, an earlier run "
                        "stopped while creating it: remove that folder and run again") from e
                raise

        # two writers creating the same table race for version 0; the loser retries and finds it there
        self.on_conflict_retry(t.name, create)


    def delta_table(self, name: str) -> DeltaTable:
        """The Delta table ``name`` (created empty with its contract first if needed), for a MERGE that needs
        more than :meth:`merge_upsert` (conditional deletes and updates, inside a caller's transaction)."""
        self.ensure(name)
        return DeltaTable.forPath(self.spark, self.path(name))

    def ensure(self, name: str) -> None:
        """Create the (contract) table ``name`` empty if it does not exist yet."""
        spark = self.spark
        _touch(name, "write")
        if not self.exists(name):
            t = self.spec(name)
            self._ensure_table(t, spark.createDataFrame([], t.schema))


    def _prepare(self, name: str, df: DataFrame) -> tuple[TableSpec, DataFrame]:
        _touch(name, "write")
        t = self.spec(name)
        if t.schema is not None:
            df = conform(df, t.schema, name)
        self._ensure_table(t, df)
        return t, df


    def _metrics_since(self, name: str, before: int, token: str | None = None) -> dict[str, int]:
        """The operation metrics of the commit made after version ``before``: the newest, or with ``token`` the
        one whose ``userMetadata`` is ``token`` (other writers may have committed since). Empty when the
        operation changed nothing and so committed nothing, as a MERGE with nothing to insert does."""
        last, info = self._last_commit(name, with_info=True)
        if token is not None:
            while last > before and (info or {}).get("userMetadata") != token:
                last -= 1
                info = self._commit_info(name, last) if last > before else None
        if last <= before:
            return {}
        metrics = (info or {}).get("operationMetrics") or {}
        return {k: int(v) for k, v in metrics.items() if str(v).lstrip("-").isdigit()}


    def _commit(self, name: str, write: Callable[[str | None], object], tagged: bool = False) -> dict[str, int]:
        """Run one write to ``name`` (retried on a lost commit race) and return its commit's operation metrics.
        The version is read at the start of each attempt: after a lost race, the winner's commit is not ours,
        and a retry that has nothing left to do commits nothing (empty metrics).

        A ``tagged`` write stores a token as its commit's ``userMetadata`` and reports the commit that carries
        it, which may not be the newest: jobs a scheduler runs at once (Airflow's ``cf``, ``als``, ``content``,
        ``popularity`` and ``rules``) replace their own partitions of ``candidate_recs`` and may commit between
        another's commit and its read of the log. An untagged one (MERGE, DELETE: Delta takes their metadata
        from a session setting) reports the newest commit; no two daily jobs merge into or delete from one
        table."""
        start: dict[str, int] = {}
        token = f"tailor:{(d.job if (d := _DECLARED.get()) else 'write')}:{uuid.uuid4().hex[:12]}" if tagged \
            else None

        def attempt() -> object:
            start["version"] = self.version(name)
            return write(token)

        self.on_conflict_retry(name, attempt)
        return self._metrics_since(name, start["version"], token)


    def replace_partition(self, df: DataFrame, name: str,
        run_date: date,
        extra_keys: Mapping[str, str] | None = None,
        among: Mapping[str, Sequence[str]] | None = None,
    ) -> int:
        """Replace the rows of ``run_date`` (and of ``extra_keys``' values) in ``name`` with ``df``.

        ``run_date`` (and each extra key) is set as a column on ``df`` before writing, so rows cannot land
        outside the partition they replace. ``among`` replaces several values of a column ``df`` carries at
        once (a job writing one table for several models in one commit): the rows of ``run_date`` whose
        column is one of the values are replaced, and Delta refuses a row of ``df`` outside them.

        Returns:
            The number of rows written.
        """
        keys: dict[str, object] = {S.RUN_DATE: run_date, **(extra_keys or {})}
        for k, v in keys.items():
            df = df.withColumn(k, F.lit(v))
        _, df = self._prepare(name, df)
        predicate = " AND ".join([f"{k} = {_sql_literal(v)}" for k, v in keys.items()] + [
            f"{k} IN ({', '.join(_sql_literal(v) for v in values)})" for k, values in (among or {}).items()])
        writer = df.write.format("delta").mode("overwrite").option("replaceWhere", predicate)
        # bronze keeps what landed: a column a source gains is added, not refused; a contract table gains the
        # (nullable) columns a newer contract added, as ``df`` is conformed to the contract exactly
        writer = writer.option("mergeSchema", "true")
        return self._commit(name, lambda token: writer.option("userMetadata", token).save(self.path(name)),
                            tagged=True).get("numOutputRows", 0)


    def merge_upsert(self, df: DataFrame, name: str,
        keys: list[str],
        update: bool = True,
        ignore_in_compare: tuple[str, ...] = (),
    ) -> dict[str, int]:
        """MERGE ``df`` into ``name`` on ``keys``.

        New keys are inserted. With ``update``, a matched row is rewritten only when a column other than those
        in ``ignore_in_compare`` differs (null-safe), so merging the same data twice changes nothing.

        Returns:
            Delta's counts of inserted and updated rows.

        Raises:
            MissingColumnsError: a key is not a column of ``df``.
        """
        missing = [k for k in keys if k not in df.columns]
        if missing:
            raise MissingColumnsError(f"merge keys {missing} are not columns of the data for '{name}'")
        spark = df.sparkSession
        _, df = self._prepare(name, df)
        compared = [c for c in df.columns if c not in keys and c not in ignore_in_compare] if update else []

        def merge() -> None:
            merger = DeltaTable.forPath(spark, self.path(name)).alias("t").merge(df.alias("s"), _key_condition(keys))
            if compared:
                changed = reduce(
                    lambda a, b: a | b, [~F.col(f"t.{c}").eqNullSafe(F.col(f"s.{c}")) for c in compared]
                )
                merger = merger.whenMatchedUpdateAll(condition=changed)
            merger.whenNotMatchedInsertAll().execute()

        m = self._commit(name, lambda _: merge())
        return {
            "inserted": m.get("numTargetRowsInserted", 0),
            "updated": m.get("numTargetRowsUpdated", 0),
        }


    def append(self, df: DataFrame, name: str) -> None:
        """Append ``df`` to ``name`` as a blind append: it reads nothing, so it needs no snapshot state (an
        idempotent append checks the table's transaction ids, which costs Delta a state reconstruction, three
        Spark jobs on a fresh version). A blind append conflicts only with a metadata or protocol change, and
        Delta raises that before the commit file exists, so the retry never appends twice. For rows that are a
        log of attempts (``runs``), each with its own id."""
        _, df = self._prepare(name, df)
        writer = df.write.format("delta").mode("append")
        self.on_conflict_retry(name, lambda: writer.save(self.path(name)))

    def append_idempotent(self, df: DataFrame, name: str, app_id: str, version: int) -> None:
        """Append ``df`` once for (``app_id``, ``version``); a replay of the same pair is skipped by Delta."""
        _, df = self._prepare(name, df)
        writer = df.write.format("delta").mode("append").option("txnAppId", app_id).option("txnVersion", version)
        self.on_conflict_retry(name, lambda: writer.save(self.path(name)))


    def delete_where(self, name: str, condition: Column) -> int:
        """Delete the rows of ``name`` matching ``condition``; returns how many (0 when the table is absent)."""
        spark = self.spark
        _touch(name, "write")
        if not self.exists(name):
            return 0
        return self._commit(name, lambda _: DeltaTable.forPath(spark, self.path(name)).delete(condition)).get(
            "numDeletedRows", 0)


    def merge_delete(self, df: DataFrame, name: str, condition: Column) -> int:
        """Delete the rows of ``name`` (alias ``t``) that match a row of ``df`` (alias ``s``) on ``condition``, by
        MERGE, so a large ``df`` is a join rather than a long predicate; returns how many were deleted."""
        _touch(name, "write")
        spark = df.sparkSession
        return self._commit(name, lambda _: DeltaTable.forPath(spark, self.path(name)).alias("t")
                       .merge(df.alias("s"), condition).whenMatchedDelete().execute()).get("numTargetRowsDeleted", 0)


    def version(self, name: str) -> int:
        """The table's current Delta version (-1 when it has no commit)."""
        return self._last_commit(name)[0]


    def _last_commit(self, name: str, with_info: bool = False) -> tuple[int, dict | None]:
        """(the newest commit's version, its ``commitInfo`` when ``with_info``), read from ``_delta_log`` with the
        Hadoop FileSystem: a listing and one small file, where ``DeltaTable.history(1)`` costs a Spark job.
        Commit files are never rewritten once written, so the newest one found is a committed version."""
        log_dir, fs = hadoop_path(self.spark, f"{self.path(name)}/_delta_log")
        if not fs.exists(log_dir):
            return -1, None
        versions = [int(m.group(1)) for st in fs.listStatus(log_dir)
                    if (m := _COMMIT_FILE.match(st.getPath().getName()))]
        if not versions:
            return -1, None
        last = max(versions)
        return last, self._commit_info(name, last) if with_info else None


    def _commit_info(self, name: str, version: int) -> dict | None:
        """The ``commitInfo`` action of the table's commit ``version``, read with the Hadoop FileSystem."""
        spark = self.spark
        jvm = spark.sparkContext._jvm
        log_dir, fs = hadoop_path(spark, f"{self.path(name)}/_delta_log")
        stream = fs.open(jvm.org.apache.hadoop.fs.Path(log_dir, f"{version:020d}.json"))
        try:
            reader = jvm.java.io.BufferedReader(jvm.java.io.InputStreamReader(stream, "UTF-8"))
            while (line := reader.readLine()) is not None:
                action = json.loads(line)
                if "commitInfo" in action:
                    return action["commitInfo"]
        finally:
            stream.close()
        return None


    def checkpoint(self, name: str) -> int:
        """Write a Delta checkpoint of the table's current version (its whole state in one file); returns the
        version. Delta drops from it the tombstones older than ``delta.deletedFileRetentionDuration``."""
        snapshot = self._snapshot(name)
        snapshot.deltaLog().checkpoint(snapshot, self.spark.sparkContext._jvm.scala.Option.empty())
        return int(snapshot.version())


    def expire_log(self, name: str, before: int) -> int:
        """Delete the table's log entries (commits, checksums, checkpoints) of versions below ``before``, which
        must have a checkpoint: the table then reads from that checkpoint on, and no older version is reachable.

        Delta's own clean-up (``delta.logRetentionDuration``) cuts at a day boundary, so it cannot remove the
        entries of a purge made today; ``tailor forget --purge`` needs them gone now. Returns how many went."""
        spark = self.spark
        log_dir, fs = hadoop_path(spark, f"{self.path(name)}/_delta_log")
        if not fs.exists(log_dir):
            return 0
        gone = 0
        for folder in (log_dir, spark.sparkContext._jvm.org.apache.hadoop.fs.Path(log_dir, "_staged_commits")):
            if not fs.exists(folder):
                continue
            for st in fs.listStatus(folder):
                m = _LOG_ENTRY.match(st.getPath().getName())
                if m and int(m.group(1)) < before:
                    gone += bool(fs.delete(st.getPath(), False))
        return gone


    def files(self, name: str, log: bool = False) -> list[str]:
        """Every file under the table's folder: the data files (of any version, referenced or not), or with
        ``log`` those of ``_delta_log``. Hidden files (``.crc`` sums, ``_`` folders other than the log) are left out."""
        spark = self.spark
        root, fs = hadoop_path(spark, self.path(name) + ("/_delta_log" if log else ""))
        if not fs.exists(root):
            return []
        out = []
        it = fs.listFiles(root, True)
        while it.hasNext():
            p = it.next().getPath()
            rel = p.toString()[len(root.toString()):]
            if p.getName().startswith(".") or (not log and "/_delta_log/" in rel + "/"):
                continue
            if not log and any(part.startswith("_") for part in rel.split("/")[:-1] if part):
                continue
            out.append(p.toString())
        return sorted(out)
