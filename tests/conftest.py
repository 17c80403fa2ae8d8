"""One SparkSession for the whole run (local[2], 2 shuffle partitions, UI off, Delta on), built by the
project's own session factory; each test that writes tables gets a fresh warehouse folder."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import pytest
from pyspark.sql.types import StructType

from tailor.config import Config, load_config, warehouse
from tailor.spark import SMALL_DATA_CONF  # the tests' tables are small: interpreted expressions

ROOT = Path(__file__).resolve().parents[1]
# ingest pseudonymises with a key from the environment; the tests (and the spark-submit runs they start)
# use this one. test_pseudonym removes it to check the error.
os.environ.setdefault("TAILOR_PSEUDONYM_KEY", "tests-only-pseudonym-key")
SHARED_DATA = ROOT.parent / "shared" / "data"
# The files with the longest tests (minutes each, measured with --durations) are handed out first, so that
# with two xdist workers (--dist loadfile) they do not start last and leave one worker idle at the end.
SLOW_FIRST = ("test_pipeline_shapes.py", "test_pipeline_baskets.py", "test_forget_job.py",
              "test_train_propensity_job.py", "test_recommend_job.py", "test_campaign_job.py", "test_stream_job.py",
              "test_cf_job.py", "test_record_sends_job.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOW_FIRST)))  # stable: the rest keep their order


def make_cfg(warehouse: Path, *overrides: str) -> Config:
    return load_config(
        [str(ROOT / "conf" / "local.yaml")],
        [f"warehouse={warehouse}", "spark.shuffle_partitions=2", f"spark.jars_dir={ROOT / '.jars'}",
         f"spark.conf={json.dumps(SMALL_DATA_CONF)}", *overrides],
    )


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    from tailor.spark import get_spark

    cfg = make_cfg(tmp_path_factory.mktemp("session-warehouse"))
    session = get_spark(cfg)
    yield session
    session.stop()


@pytest.fixture
def cfg(tmp_path) -> Config:
    return make_cfg(tmp_path / "warehouse")


SHOP_RUN_DATE = "2026-11-23"
SHOP = ("synthetic.users=150", "synthetic.items=48", "synthetic.days=90", "synthetic.dirty_fraction=0")


@pytest.fixture(scope="session")
def shop(spark, tmp_path_factory):
    """A warehouse holding one ingest of a small clean synthetic shop (150 customers, 48 items, 90 days),
    shared by the end-to-end tests of the jobs after ingest. Returns ``make(*overrides) -> Config`` for
    that warehouse; tests write only gold tables there, and only for SHOP_RUN_DATE."""
    from datetime import date

    from tailor.jobs import JOBS
    from tailor.jobs.base import execute

    warehouse = tmp_path_factory.mktemp("shop") / "warehouse"

    def make(*overrides: str) -> Config:
        return make_cfg(warehouse, *SHOP, *overrides)

    execute("ingest", JOBS["ingest"], spark, make(), date.fromisoformat(SHOP_RUN_DATE))
    return make


def snapshot(spark, cfg: Config, names: list[str]) -> dict[str, list[str]]:
    """Every row of each table, as sorted strings: equal snapshots mean equal tables."""

    return {t: sorted(str(tuple(r)) for r in warehouse(spark, cfg).read(t).collect()) for t in names}


def run_twice(spark, cfg: Config, jobs: list[str], written: list[str]):
    """Run ``jobs`` in order for SHOP_RUN_DATE, snapshot ``written``, run them again and snapshot again.

    Every table of ``written`` must hold rows after the first run, so that equal snapshots mean something.

    Returns:
        (summaries of the first run, first snapshot, second snapshot).
    """
    from datetime import date

    from tailor.jobs import JOBS
    from tailor.jobs.base import execute

    run = date.fromisoformat(SHOP_RUN_DATE)
    summaries = [execute(j, JOBS[j], spark, cfg, run) for j in jobs]
    first = snapshot(spark, cfg, written)
    empty = [t for t, rows in first.items() if not rows]
    assert not empty, f"the first run wrote nothing to {empty}: equal snapshots would prove nothing"
    for j in jobs:
        execute(j, JOBS[j], spark, cfg, run)
    return summaries, first, snapshot(spark, cfg, written)


CONTRACT_DAY = date(2026, 11, 1)


def contract(spark, schema: StructType, rows: list[dict]):
    """A frame in ``schema`` from rows giving only some columns: the rest are null when nullable, else 0,
    an empty string or ``CONTRACT_DAY``."""
    def default(f):
        if f.nullable:
            return None
        name = f.dataType.typeName()
        return {"string": "", "date": CONTRACT_DAY, "boolean": False, "array": [], "double": 0.0}.get(name, 0)

    full = [{f.name: r.get(f.name, default(f)) for f in schema.fields} for r in rows]
    return spark.createDataFrame(full, schema)
