"""The one place a SparkSession is built.

Outside spark-submit (a laptop, CI, tests) the session takes its master and driver memory from conf, and
the Delta jars from ``spark.jars_dir`` (filled by ``make jars``) or, when that folder is empty, from Maven
through Spark's Ivy (``configure_spark_with_delta_pip``). Under spark-submit the master, memory and jars
are spark-submit's business and are left alone: pass ``--packages io.delta:delta-spark_4.2_2.13:4.4.0``
(or ``--jars``), or use a platform that ships Delta.

Either way the session gets the Delta SQL extension and catalog, a checkpoint directory, UTC as session time
zone, quiet logs and the configured shuffle partitions.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from pathlib import Path

from pyspark.sql import SparkSession

from tailor import DELTA_ARTIFACT
from tailor.config import Config
from tailor.errors import DeltaJarsMissingError

log = logging.getLogger(__name__)

__all__ = ["DELTA_ARTIFACT", "SMALL_DATA_CONF", "checkpoint_mark", "code_locations", "delta_jars",
           "drop_checkpoint_dirs", "get_spark", "native_blas", "under_spark_submit"]
_LOG4J = Path(__file__).with_name("log4j2.properties").resolve().as_uri()
SMALL_DATA_CONF = {"spark.sql.codegen.factoryMode": "NO_CODEGEN", "spark.sql.codegen.wholeStage": "false"}
"""Spark's interpreted expressions instead of generated code, for tables of tens to thousands of rows (the
tests, the one-row cost benchmark): there, writing and compiling Java for every projection of every task was a
third of the driver's CPU (JFR, the cluster test's light pipeline: 268 s with code generation, 227 s without).
The results are the same; the demo and every real run keep code generation on (``spark.conf`` to set it)."""
_JAR_VERSION = re.compile(r"-\d[\w.\-]*\.jar$")


def under_spark_submit() -> bool:
    """True when this Python process is the driver of a spark-submit (which owns master and jars)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def _artifact(jar: Path) -> str:
    return _JAR_VERSION.sub("", jar.name)


def delta_jars(jars_dir: str) -> list[str]:
    """The jars of ``jars_dir`` that Spark does not already ship.

    Delta's POM pins older versions of jars Spark itself carries (jackson, parquet, hadoop, log4j, scala);
    putting both on the class path invites conflicts, so only the artifacts Spark lacks are kept.
    """
    folder = Path(jars_dir)
    if not folder.is_dir():
        return []
    import pyspark

    shipped = {_artifact(j) for j in (Path(pyspark.__file__).parent / "jars").glob("*.jar")}
    return sorted(str(j.resolve()) for j in folder.glob("*.jar") if _artifact(j) not in shipped)


CLASS_ARCHIVE = "driver.jsa"
"""The class-data-sharing archive ``make cds`` writes into ``spark.jars_dir``."""


def class_archive_option(jars_dir: str) -> str:
    """`` -XX:SharedArchiveFile=<jars_dir>/driver.jsa`` when ``make cds`` wrote that archive, else "". A driver
    started with it maps the classes a Tailor driver loads instead of loading and verifying each (a short
    spark-submit job took about a quarter less time); a JVM other than the one that wrote it warns and starts
    without it."""
    archive = (Path(jars_dir) / CLASS_ARCHIVE).resolve()
    # Spark splits extraJavaOptions at white space: a path holding any would become other JVM flags
    if not archive.is_file() or any(c.isspace() for c in str(archive)):
        return ""
    return f" -XX:SharedArchiveFile={archive}"


def _local_builder(cfg: Config) -> SparkSession.Builder:
    s = cfg.spark
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # One OpenBLAS thread per task, as Spark gives a cluster's executors (it sets their OMP_NUM_THREADS to
    # spark.task.cpus, SPARK-41188): a local driver is its own executor and would otherwise let every ALS
    # task's solves start a thread per core. Read by the JVM and its Python workers at start; yours wins.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    builder = (
        SparkSession.builder.master(s.master)
        .config("spark.driver.memory", s.driver_memory)
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        # Spark's progress bar when a person watches (stderr is a terminal); logs and schedulers get the job's own
        # progress lines instead (tailor.jobs.base)
        .config("spark.ui.showConsoleProgress", "true" if sys.stderr.isatty() else "false")
        .config("spark.sql.warehouse.dir", f"{cfg.warehouse_uri}/_metastore")
        # the throughput collector: a local driver is a batch process, and with G1 the light pipeline took
        # 10-15 % longer on 2 cores (G1's concurrent threads and write barriers compete with the tasks)
        .config("spark.driver.extraJavaOptions", f"-Xss16m -XX:+UseParallelGC -Dlog4j2.configurationFile={_LOG4J}"
                f" -D{_trace_options()}{class_archive_option(s.jars_dir)}")
    )
    jars = delta_jars(s.jars_dir)
    if jars:
        return builder.config("spark.jars", ",".join(jars))
    log.info("no Delta jars in %s: Spark's Ivy will fetch %s", s.jars_dir, DELTA_ARTIFACT)
    from delta import configure_spark_with_delta_pip

    return configure_spark_with_delta_pip(builder)


def _trace_options() -> str:
    """log4j switches (see log4j2.properties): whole Java traces and Spark's task-failure logs only when
    Tailor logs at DEBUG; otherwise the one-line error Tailor prints says it all."""
    debug = logging.getLogger("tailor").isEnabledFor(logging.DEBUG)
    return f"tailor.trace={'full' if debug else 'short'} -Dtailor.tasklog={'warn' if debug else 'off'}"


def native_blas(spark: SparkSession) -> str:
    """The BLAS implementation Spark ML will use (e.g. ``NativeBLAS`` with OpenBLAS, else a Java one)."""
    try:
        jvm = spark.sparkContext._jvm
        return str(jvm.dev.ludovic.netlib.blas.BLAS.getInstance().getClass().getSimpleName())
    except Exception:
        return "unknown"


def get_spark(cfg: Config) -> SparkSession:
    """Build (or reuse) the SparkSession for ``cfg``.

    Raises:
        DeltaJarsMissingError: the JVM has no Delta classes (spark-submit without ``--packages``/``--jars``).
    """
    s = cfg.spark
    builder = SparkSession.builder if under_spark_submit() else _local_builder(cfg)
    builder = (
        builder.appName(s.app_name)
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", str(s.shuffle_partitions))
        .config("spark.databricks.delta.snapshotPartitions", str(max(1, min(s.shuffle_partitions, 50))))
        .config("spark.databricks.delta.schema.autoMerge.enabled", "false")
        # checkpointed frames (evaluate's candidates, ALS) are deleted once no longer referenced
        .config("spark.cleaner.referenceTracking.cleanCheckpoints", "true")
    )
    for k, v in s.conf.items():
        builder = builder.config(k, v)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(s.log_level)
    spark.sparkContext.setCheckpointDir(cfg.checkpoint_path)
    own = spark.sparkContext._jsc.sc().getCheckpointDir()
    if own.isDefined():
        _CHECKPOINT_DIRS.append(own.get())
    from py4j.java_gateway import JavaClass

    if not isinstance(spark.sparkContext._jvm.io.delta.tables.DeltaTable, JavaClass):
        raise DeltaJarsMissingError(
            "the Delta Lake jars are not on Spark's class path: run `make jars`, or pass "
            f"--packages {DELTA_ARTIFACT} to spark-submit"
        )
    log.info("spark %s, master %s, BLAS %s", spark.version, spark.sparkContext.master, native_blas(spark))
    return spark


_CHECKPOINT_DIRS: list[str] = []
"""The RDD checkpoint folders (``<checkpoint_dir>/<uuid>``) that :func:`get_spark` gave this process's Spark
context, one per call: Spark makes a folder each time and never deletes it."""


def checkpoint_mark() -> int:
    """A mark for :func:`drop_checkpoint_dirs`: the folders made after it are the caller's."""
    return len(_CHECKPOINT_DIRS)


def drop_checkpoint_dirs(spark: SparkSession, since: int = 0) -> int:
    """Delete the RDD checkpoint folders :func:`get_spark` made after the mark ``since``, with what is in them,
    and return how many existed. The ``tailor`` command calls it when a command ends. Spark deletes a
    checkpointed frame's files only when the JVM's garbage collector has freed the frame
    (``spark.cleaner.referenceTracking.cleanCheckpoints``), which may not happen before the run ends: one M
    pipeline left 80 MB of ALS and evaluate scratch data (user ids included), another none. A frame checkpointed in a
    deleted folder can no longer be read, so call it only when the caller's frames are done with."""
    from tailor import tables

    dropped = _CHECKPOINT_DIRS[since:]
    del _CHECKPOINT_DIRS[since:]
    return tables.delete_paths(spark, dropped)


def session_for_job(spark: SparkSession) -> SparkSession:
    """A session of its own for a job that runs beside others in this driver (``pipeline.parallelism``): the
    same SparkContext, tables and cached frames, with a copy of ``spark``'s SQL settings and its own
    temporary views, so that a setting one job makes for a while (``stream``'s Delta transaction ids, which
    would make Delta skip another job's commit as a duplicate) stays out of the other job's queries."""
    own = spark.newSession()
    for key, value in spark.conf.getAll.items():
        if own.conf.get(key, None) != value and spark.conf.isModifiable(key):
            own.conf.set(key, value)
    return own


def code_locations(spark: SparkSession) -> dict[str, str]:
    """Where the driver and an executor import ``tailor`` from: the installed package, or the zip or wheel
    that spark-submit shipped with ``--py-files``."""
    import tailor

    def where(_):
        import tailor as t

        yield t.__file__

    try:
        executor = spark.sparkContext.parallelize([0], 1).mapPartitions(where).first()
    except Exception as e:  # a diagnostic only: never fail a run over it
        executor = f"unknown ({type(e).__name__})"
    return {"driver": str(tailor.__file__), "executor": str(executor)}
