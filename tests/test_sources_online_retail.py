"""The Online Retail adapter on a dozen hand-written lines that mirror the real file's quirks, written as
an ISO-8859-1 CSV like the original UCI export, through the whole ingest job."""

from datetime import date, datetime

import pytest

from conftest import make_cfg
from tailor.config import warehouse
from tailor.jobs import ingest

RUN = date(2011, 12, 10)
HEADER = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country"
LINES = [
    "536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom",  # ok
    "536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850.0,United Kingdom",  # ok, float id
    "C536379,85123A,WHITE HANGING HEART,-2,2010-12-01 09:41:00,2.55,17850,United Kingdom",  # ok, return
    "536414,22139,,56,2010-12-01 11:52:00,0,,United Kingdom",  # missing_user_id
    "536370,POST,POSTAGE,3,2010-12-01 08:45:00,18,12583,France",  # non_product_code
    "536381,22000,CAFÉ MUG,1,2010-12-01 09:41:00,0,15311,United Kingdom",  # non_positive_price
    "536382,22001,CRÈME JAR,-5,2010-12-01 09:45:00,1.25,15311,United Kingdom",  # non_positive_quantity
    "536365,85123A,WHITE HANGING HEART,6,2010-12-01 08:26:00,2.55,17850,United Kingdom",  # duplicate
    "536383,22002,OLD FORMAT DATE,2,12/1/2010 10:05,1.65,15311,United Kingdom",  # ok, M/d/yyyy H:mm
    "536384,22003,BAD DATE,2,notadate,1.65,15311,United Kingdom",  # bad_timestamp
    "536385,22004,FUTURE,2,2031-01-01 10:00:00,1.65,15311,United Kingdom",  # future_timestamp
    "536386,BANK CHARGES,Bank Charges,1,2010-12-01 10:10:00,15,15311,United Kingdom",  # non_product_code
    "A563185,B,Adjust bad debt,1,2011-08-12 14:50:00,11062.06,,United Kingdom",  # non_product_code first
]


@pytest.fixture(scope="module")
def ingested(spark, tmp_path_factory):
    d = tmp_path_factory.mktemp("or")
    f = d / "retail.csv"
    f.write_bytes(("\n".join([HEADER, *LINES]) + "\n").encode("iso-8859-1"))
    cfg = make_cfg(d / "warehouse", "ingest.source=online_retail", f"sources.online_retail.path={f}",
                   "sources.online_retail.encoding=ISO-8859-1", "ingest.max_reject_ratio=0.9")
    summary = ingest.run(spark, cfg, RUN)
    return cfg, summary


def test_every_line_is_accepted_or_quarantined(ingested):
    _, s = ingested
    m = s.metrics
    assert m["input.events"] == len(LINES) == 13
    assert m["accepted.events"] == 4
    assert {k.split(".")[-1]: v for k, v in m.items() if k.startswith("quarantined.events.")} == {
        "missing_user_id": 1, "non_product_code": 3, "non_positive_price": 1, "non_positive_quantity": 1,
        "duplicate": 1, "bad_timestamp": 1, "future_timestamp": 1}
    assert m["accepted.events"] + m["quarantined"] == m["input.events"]


def test_silver_events_and_orders(spark, ingested):
    cfg, _ = ingested
    ev = {(r.user_id, r.item_id, r.event_type, r.quantity, r.price, r.ts)
          for r in warehouse(spark, cfg).read("events").collect()}
    assert ev == {
        ("17850", "85123A", "purchase", 6, 2.55, datetime(2010, 12, 1, 8, 26)),
        ("17850", "71053", "purchase", 6, 3.39, datetime(2010, 12, 1, 8, 26)),
        ("17850", "85123A", "return", 2, 2.55, datetime(2010, 12, 1, 9, 41)),
        ("15311", "22002", "purchase", 2, 1.65, datetime(2010, 12, 1, 10, 5)),
    }
    amounts = sorted((r.order_id, r.amount, r.is_return) for r in warehouse(spark, cfg).read("orders").collect())
    assert amounts == [("536365", 15.3, False), ("536365", 20.34, False), ("536383", 3.3, False),
                       ("C536379", -5.1, True)]


def test_products_and_customers_are_derived_from_accepted_lines(spark, ingested):
    cfg, _ = ingested
    prods = {(r.product_id, r.title, r.price) for r in warehouse(spark, cfg).read("products").collect()}
    assert prods == {("85123A", "WHITE HANGING HEART", 2.55), ("71053", "WHITE METAL LANTERN", 3.39),
                     ("22002", "OLD FORMAT DATE", 1.65)}
    cust = {(r.customer_id, r.signup_date, r.country, r.marketing_opt_in)
            for r in warehouse(spark, cfg).read("customers").collect()}
    assert cust == {("17850", date(2010, 12, 1), "United Kingdom", None),
                    ("15311", date(2010, 12, 1), "United Kingdom", None)}


def test_quarantine_keeps_the_landed_line_decoded(spark, ingested):
    cfg, _ = ingested
    q = {r.reason: r.record for r in warehouse(spark, cfg).read("quarantine").collect()}
    assert "CAFÉ MUG" in q["non_positive_price"]
    assert '"StockCode":"POST"' in q["non_product_code"] or '"StockCode":"BANK CHARGES"' in q["non_product_code"]
