"""What every benchmark shares: machine facts, a timer that also reads the JVM's peak memory, result files."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(os.environ.get("TAILOR_BENCH_RESULTS") or Path(__file__).resolve().parent / "results")
"""Where result files go (``TAILOR_BENCH_RESULTS`` moves them, as the benchmarks' own tests do)."""


@contextmanager
def scratch(prefix: str) -> Iterator[Path]:
    """A temporary folder for a benchmark's warehouses and files, removed when the block ends, failed or not."""
    import shutil
    import tempfile

    work = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield work
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _children(pid: int) -> list[int]:
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    out = [int(k) for k in kids]
    for k in list(out):
        out += _children(k)
    return out


def jvm_pid() -> int | None:
    """The pid of the Spark driver JVM started by this Python process (local mode), if any."""
    for pid in _children(os.getpid()):
        try:
            if b"java" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]:
                return pid
        except OSError:
            continue
    return None


def _status_kb(pid: int, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak(pid: int | None) -> None:
    """Reset the kernel's peak-RSS counter (VmHWM) of ``pid`` (Linux: write 5 to clear_refs)."""
    if pid is None:
        return
    with suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")


@dataclass
class Measure:
    name: str
    seconds: float = 0.0
    jvm_peak_mb: float | None = None
    extra: dict = field(default_factory=dict)


@contextmanager
def measure(name: str) -> Iterator[Measure]:
    """Time a block and read the driver JVM's peak RSS over it (executors share it in local mode)."""
    m = Measure(name)
    pid = jvm_pid()
    reset_peak(pid)
    t0 = time.perf_counter()
    try:
        yield m
    finally:
        m.seconds = round(time.perf_counter() - t0, 2)
        pid = pid or jvm_pid()
        hwm = _status_kb(pid, "VmHWM") if pid else None
        m.jvm_peak_mb = round(hwm / 1024, 1) if hwm else None


def machine_facts(spark) -> dict:
    from importlib.metadata import version

    import pyspark

    from tailor.spark import native_blas

    delta_version = version("delta-spark")
    mem_kb = _status_kb_meminfo()

    return {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1) if mem_kb else None,
        "python": platform.python_version(),
        "pyspark": pyspark.__version__,
        "delta_spark": delta_version,
        "java": os.environ.get("JAVA_VERSION") or _java_version(),
        "native_blas": native_blas(spark),
    }


def _status_kb_meminfo() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def _java_version() -> str | None:
    import subprocess

    try:
        out = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stderr.splitlines() or [""])[0]


def spark_jobs(spark) -> Iterator:
    """Every job the driver's status store keeps (JVM ``JobData``: ``jobGroup()``, ``numTasks()``,
    ``stageIds()``, ...), oldest first."""
    return scala_items(spark.sparkContext._jsc.sc().statusStore().jobsList(None))


def scala_items(seq) -> Iterator:
    """The elements of a Scala collection reached through py4j."""
    it = seq.iterator()
    while it.hasNext():
        yield it.next()


def write_results(suite: str, facts: dict, rows: list[dict], table_md: str) -> Path:
    """Write ``results/<suite>.json`` and ``results/<suite>.md``; returns the markdown path."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{suite}.json").write_text(json.dumps({"machine": facts, "results": rows}, indent=2))
    facts_md = ", ".join(f"{k}: {v}" for k, v in facts.items())
    md = RESULTS / f"{suite}.md"
    md.write_text(f"# {suite}\n\n{facts_md}\n\n{table_md}\n")
    return md


def as_rows(measures: list[Measure]) -> list[dict]:
    return [asdict(m) for m in measures]


@dataclass
class MovieLens:
    """A MovieLens edition ingested through Tailor's own ``ingest`` job (see :func:`movielens`)."""

    spark: object
    ratings: object  # the accepted rating events
    as_of: object  # the day after the last rating: the as-of date every later step uses
    label: str  # the edition, from the folder's name ("ml-100k", "ml-1m")
    count: int  # accepted ratings
    published: bool  # the recommenders project's published figures are for this edition (ml-100k)
    warehouse: Path  # the temporary warehouse ingest wrote


def movielens_label(data: str) -> str:
    """The name results are labelled with: the data folder's name (``ml-100k``, ``ml-1m``)."""
    return Path(data).resolve().name or "movielens"


@contextmanager
def movielens(data: str, prefix: str) -> Iterator[MovieLens]:
    """Ingest the MovieLens folder ``data`` (100k or 1M format) through Tailor's ``ingest`` job into a
    temporary warehouse, removed when the block ends. The run date is today, so no rating of any edition is
    in the future; ``as_of`` is the day after the last rating. Fails if ingest quarantined a rating.
    """
    from datetime import date, timedelta

    from pyspark.sql import functions as F

    from tailor import schemas as S
    from tailor.config import load_config, warehouse
    from tailor.jobs import JOBS
    from tailor.jobs.base import execute
    from tailor.spark import get_spark

    root = Path(__file__).resolve().parents[1]
    with scratch(prefix) as work:
        cfg = load_config([str(root / "conf" / "local.yaml")],
                          [f"warehouse={work}", "ingest.source=movielens", f"sources.movielens.path={data}",
                           f"spark.jars_dir={root / '.jars'}"])
        spark = get_spark(cfg)
        summary = execute("ingest", JOBS["ingest"], spark, cfg, date.today())
        lost = {k: v for k, v in summary.metrics.items() if k.startswith("quarantined.events") and v}
        if lost:  # a rating the benchmark would silently lack
            raise SystemExit(f"ingest of {data} quarantined ratings: {lost}")
        ratings = warehouse(spark, cfg).read("events").where(F.col(S.EVENT_TYPE) == S.RATING_EVENT)
        last, n = ratings.agg(F.max(F.to_date(S.TS)), F.count(F.lit(1))).first()
        yield MovieLens(spark, ratings, last + timedelta(days=1), movielens_label(data), n, n == 100_000, work)


def movielens_pairs(data: str):
    """(user, item) index arrays (0-based, dense) of a MovieLens folder's ratings, read with numpy: ``u.data``
    (100k, tab-separated), ``ratings.dat`` (1M/10M, ``::``) or ``ratings.csv`` (the ``latest`` editions)."""
    import io

    import numpy as np

    folder = Path(data)
    if (folder / "u.data").exists():
        raw = np.loadtxt(folder / "u.data", dtype=np.int64, usecols=(0, 1))
    elif (folder / "ratings.dat").exists():
        text = (folder / "ratings.dat").read_text(encoding="latin-1").replace("::", "\t")
        raw = np.loadtxt(io.StringIO(text), dtype=np.int64, usecols=(0, 1), delimiter="\t")
    elif (folder / "ratings.csv").exists():
        raw = np.loadtxt(folder / "ratings.csv", dtype=np.float64, usecols=(0, 1), delimiter=",",
                         skiprows=1).astype(np.int64)
    else:
        raise SystemExit(f"{data} holds no u.data, ratings.dat or ratings.csv")
    _, users = np.unique(raw[:, 0], return_inverse=True)
    _, items = np.unique(raw[:, 1], return_inverse=True)
    return users.astype(np.int64), items.astype(np.int64)
