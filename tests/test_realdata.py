"""Real-data check on ../shared/data/online_retail (skipped when absent)."""

from datetime import date

import pytest

from conftest import SHARED_DATA, make_cfg
from tailor.config import warehouse
from tailor.jobs import ingest

RETAIL = SHARED_DATA / "online_retail" / "online_retail.csv.gz"

pytestmark = [pytest.mark.slow, pytest.mark.realdata,
              pytest.mark.skipif(not RETAIL.exists(), reason="../shared/data/online_retail is absent")]


def test_online_retail_counts_by_reason_and_nothing_lost(spark, tmp_path):
    cfg = make_cfg(tmp_path / "wh", "ingest.source=online_retail", f"sources.online_retail.path={RETAIL}",
                   "ingest.max_reject_ratio=0.5")
    s = ingest.run(spark, cfg, date(2011, 12, 10))
    m = s.metrics
    by_reason = {k.split(".")[-1]: int(v) for k, v in m.items() if k.startswith("quarantined.events.")}
    print("\nOnline Retail:", int(m["input.events"]), "lines,", int(m["accepted.events"]), "accepted,", by_reason)
    assert m["input.events"] == 541_909
    assert m["accepted.events"] + sum(by_reason.values()) == 541_909
    assert warehouse(spark, cfg).read("events").count() == m["accepted.events"]
    assert by_reason["missing_user_id"] > 130_000  # about 135k rows have no CustomerID
    assert by_reason["duplicate"] > 0 and by_reason["non_product_code"] > 0
    print("products", int(m["products.inserted"]), "customers", int(m["customers.inserted"]))
    assert 3_600 < m["products.inserted"] < 3_700  # distinct stock codes sold to known customers
    assert 4_300 < m["customers.inserted"] < 4_400  # 4,372 CustomerIDs in the file
