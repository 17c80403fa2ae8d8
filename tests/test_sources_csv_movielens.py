"""The generic CSV adapter (column mapping from conf) and the MovieLens adapter on real ml-100k."""

from datetime import date

import pytest

from conftest import SHARED_DATA, make_cfg
from tailor.config import warehouse
from tailor.errors import ConfigError
from tailor.jobs import ingest

RUN = date(2026, 11, 23)


def test_generic_csv_with_mapping_and_constants(spark, tmp_path):
    f = tmp_path / "sales.csv"
    f.write_text("cust;sku;when;qty;unit\n"
                 "c1;s1;20/11/2026 10:00;2;3.5\n"
                 "c2;s2;21/11/2026 11:30;1;10\n"
                 ";s3;21/11/2026 11:30;1;10\n")
    cfg = make_cfg(tmp_path / "wh", "ingest.source=csv", "ingest.max_reject_ratio=0.5",
                   f"sources.csv.events={{path: {f}, delimiter: ';', timestamp_format: 'dd/MM/yyyy HH:mm', "
                   "mapping: {user_id: cust, item_id: sku, ts: when, quantity: qty, price: unit}, "
                   "constants: {event_type: purchase, order_id: web}}")
    s = ingest.run(spark, cfg, RUN)
    assert (s.metrics["accepted.events"], s.metrics["quarantined.events.missing_user_id"]) == (2, 1)
    got = sorted((r.user_id, r.item_id, r.event_type, r.quantity, r.price, str(r.ts))
                 for r in warehouse(spark, cfg).read("events").collect())
    assert got == [("c1", "s1", "purchase", 2, 3.5, "2026-11-20 10:00:00"),
                   ("c2", "s2", "purchase", 1, 10.0, "2026-11-21 11:30:00")]


def test_csv_mapping_to_a_missing_column_is_a_clear_error(spark, tmp_path):
    f = tmp_path / "e.csv"
    f.write_text("a,b\n1,2\n")
    cfg = make_cfg(tmp_path / "wh", "ingest.source=csv",
                   f"sources.csv.events={{path: {f}, mapping: {{user_id: customer, item_id: a, ts: b}}, "
                   "constants: {event_type: view}}")
    with pytest.raises(ConfigError, match=r"mapping.user_id: 'customer' is not a column of .*e.csv \(columns: a, b\)"):
        ingest.run(spark, cfg, RUN)


def test_a_csv_source_without_a_mapping_is_a_config_error_not_a_full_quarantine(spark, tmp_path):
    f = tmp_path / "e.csv"
    f.write_text("user_id,item_id\n1,2\n")
    cfg = make_cfg(tmp_path / "wh", "ingest.source=csv", f"sources.csv.events={{path: {f}}}")
    with pytest.raises(ConfigError, match=r"must map \['user_id', 'item_id', 'event_type', 'ts'\]"):
        ingest.run(spark, cfg, RUN)
    assert not warehouse(spark, cfg).exists("bronze_csv_events")  # stopped before landing anything


ML = SHARED_DATA / "ml-100k"


@pytest.mark.slow
@pytest.mark.realdata
@pytest.mark.skipif(not (ML / "u.data").exists(), reason="../shared/data/ml-100k is absent")
def test_movielens_100k(spark, tmp_path):
    cfg = make_cfg(tmp_path / "wh", "ingest.source=movielens", f"sources.movielens.path={ML}")
    s = ingest.run(spark, cfg, RUN)
    assert s.metrics["accepted.events"] == 100_000
    assert s.metrics["products.inserted"] == 1_682 and s.metrics["customers.inserted"] == 943
    toy = warehouse(spark, cfg).read("products").where("product_id = '1'").first()
    assert toy.title == "Toy Story (1995)" and toy.category == "Animation"
    assert set(toy.description.split()) == {"Animation", "Children's", "Comedy"}
