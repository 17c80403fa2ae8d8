"""One SparkSession for the whole run (local[2], 2 shuffle partitions, UI off, Delta on), built by the
project's own session factory; each test that writes tables gets a fresh warehouse folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from tailor.config import Config, load_config

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"


def make_cfg(warehouse: Path, *overrides: str) -> Config:
    return load_config(
        [str(ROOT / "conf" / "local.yaml")],
        [f"warehouse={warehouse}", "spark.shuffle_partitions=2", f"spark.jars_dir={ROOT / '.jars'}",
         *overrides],
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
