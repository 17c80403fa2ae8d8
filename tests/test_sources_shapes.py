"""The csv source on shops of other shapes (tailor.ingest.sources), through the ingest job: an order log with
no product ids, whitespace-separated, amounts per order; baskets with no timestamps and no users, names from
lookup files; per-entity date formats; returns and non-product codes declared; both editions of Online
Retail; a renamed column on re-ingest; duplicates kept on request. Accepted + quarantined = landed, always."""

from datetime import date

import pytest

from conftest import make_cfg
from tailor.config import warehouse
from tailor.errors import ConfigError
from tailor.jobs import ingest

RUN = date(2026, 11, 23)

# CDNOW's layout (id, id, yyyymmdd, CDs, dollars): one line per order, no product, no header.
# Customer 2 bought twice on 1997-01-12, the same CDs at the same price: two real orders.
CDNOW = ("00001 00001 19970101 1  11.77\n"
         "00002 00002 19970112 2  20.76\n"
         "00002 00002 19970112 2  20.76\n"
         "00003 00003 19970102 2  29.33\n"
         "00003 00003 19970330 0   0.00\n")


def _cdnow_cfg(tmp_path, *more):
    f = tmp_path / "CDNOW_sample.txt"
    f.write_text(CDNOW)
    return make_cfg(tmp_path / "wh", "ingest.source=csv", "ingest.max_reject_ratio=0.5",
                    f"sources.csv.events={{path: {f}, delimiter: whitespace, header: false, "
                    "timestamp_format: yyyyMMdd, mapping: {user_id: _c0, ts: _c2, quantity: _c3, "
                    "price: 'try_divide(cast(_c4 as double), cast(_c3 as double))', "
                    "order_id: \"concat(_c0, '-', _c2)\"}, constants: {item_id: cd, event_type: purchase}}", *more)


def _accounted(s, entity):
    quarantined = sum(v for k, v in s.metrics.items() if k.startswith(f"quarantined.{entity}."))
    return s.metrics[f"accepted.{entity}"] + quarantined == s.metrics[f"input.{entity}"]


def test_an_order_log_without_products_or_header_derives_products_and_customers(spark, tmp_path):
    cfg = _cdnow_cfg(tmp_path, "ingest.dedupe=off")
    s = ingest.run(spark, cfg, RUN)
    assert (s.metrics["input.events"], s.metrics["accepted.events"]) == (5, 4)
    assert s.metrics["quarantined.events.non_positive_quantity"] == 1  # 0 CDs for $0: not a purchase
    assert _accounted(s, "events")
    wh = warehouse(spark, cfg)
    got = sorted((r.user_id, r.item_id, str(r.ts), r.quantity, round(r.price, 3), r.order_id)
                 for r in wh.read("events").collect())
    assert got == [("00001", "cd", "1997-01-01 00:00:00", 1, 11.77, "00001-19970101"),
                   ("00002", "cd", "1997-01-12 00:00:00", 2, 10.38, "00002-19970112"),
                   ("00002", "cd", "1997-01-12 00:00:00", 2, 10.38, "00002-19970112"),
                   ("00003", "cd", "1997-01-02 00:00:00", 2, 14.665, "00003-19970102")]
    # derived: one product priced at the median of what it sold at (of 10.38, 10.38, 11.77 and 14.665 the
    # lower middle value, as percentile_approx takes it); customers signed up on their first day
    assert [(r.product_id, round(r.price, 2), r.category) for r in wh.read("products").collect()] == [
        ("cd", 10.38, None)]
    assert sorted((r.customer_id, str(r.signup_date)) for r in wh.read("customers").collect()) == [
        ("00001", "1997-01-01"), ("00002", "1997-01-12"), ("00003", "1997-01-02")]
    again = ingest.run(spark, cfg, RUN)  # the same ids: nothing new
    assert again.metrics["events.inserted"] == 0 and wh.read("events").count() == 4


def test_identical_rows_without_ids_are_duplicates_by_default(spark, tmp_path):
    s = ingest.run(spark, _cdnow_cfg(tmp_path), RUN)
    assert (s.metrics["accepted.events"], s.metrics["quarantined.events.duplicate"]) == (3, 1)
    assert _accounted(s, "events")


def test_baskets_without_time_or_users_with_names_from_lookups(spark, tmp_path):
    (tmp_path / "order_products.csv").write_text("order_id,product_id,add_to_cart_order\n"
                                                 "1,10,1\n1,11,2\n2,10,1\n2,12,2\n3,12,1\n")
    (tmp_path / "products.csv").write_text("product_id,product_name,aisle_id,department_id\n"
                                           '10,"Milk, whole",1,1\n11,Bread,2,2\n12,Butter,1,1\n')
    (tmp_path / "aisles.csv").write_text("aisle_id,aisle\n1,dairy\n2,bakery\n")
    (tmp_path / "departments.csv").write_text("department_id,department\n1,chilled\n2,pantry\n")
    d = tmp_path
    cfg = make_cfg(
        tmp_path / "wh", "ingest.source=csv",
        f"sources.csv.events={{path: {d / 'order_products.csv'}, mapping: {{user_id: order_id, "
        "item_id: product_id, order_id: order_id}, constants: {event_type: purchase, ts: '2026-11-22 12:00:00', "
        "quantity: '1', price: '1'}}",
        f"sources.csv.products={{path: {d / 'products.csv'}, mapping: {{product_id: product_id, "
        "title: product_name, category: \"concat(department, ' / ', aisle)\"}, lookups: ["
        f"{{name: aisles, path: {d / 'aisles.csv'}, column: aisle_id}}, "
        f"{{name: departments, path: {d / 'departments.csv'}, column: department_id}}]}}")
    s = ingest.run(spark, cfg, RUN)
    assert (s.metrics["accepted.events"], s.metrics["accepted.products"]) == (5, 3)
    wh = warehouse(spark, cfg)
    assert sorted((r.product_id, r.title, r.category) for r in wh.read("products").collect()) == [
        ("10", "Milk, whole", "chilled / dairy"), ("11", "Bread", "pantry / bakery"),
        ("12", "Butter", "chilled / dairy")]
    assert sorted(r.customer_id for r in wh.read("customers").collect()) == ["1", "2", "3"]  # derived
    assert wh.read("orders").select("order_id").distinct().count() == 3


def test_per_entity_date_formats_returns_and_non_product_codes(spark, tmp_path):
    # Online Retail II's header (a space in "Customer ID"), read through the csv source with its cleaning
    (tmp_path / "lines.csv").write_text(
        "Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
        "489434,85048,LED LIGHT,12,01/12/2009 07:45,6.95,13085,United Kingdom\n"
        "C489449,85048,LED LIGHT,-2,01/12/2009 10:33,6.95,13085,United Kingdom\n"
        "489435,POST,POSTAGE,1,01/12/2009 07:46,18.0,13085,United Kingdom\n")
    (tmp_path / "people.csv").write_text("id,joined\n13085,03.11.2009\n")
    cfg = make_cfg(
        tmp_path / "wh", "ingest.source=csv", "ingest.max_reject_ratio=0.5",
        f"sources.csv.events={{path: {tmp_path / 'lines.csv'}, timestamp_format: 'dd/MM/yyyy HH:mm', "
        "mapping: {user_id: Customer ID, item_id: StockCode, order_id: Invoice, ts: InvoiceDate, "
        "quantity: Quantity, price: Price, title: Description, country: Country}, "
        "constants: {event_type: purchase}, returns: \"startswith(Invoice, 'C')\", non_product_codes: [POST]}",
        f"sources.csv.customers={{path: {tmp_path / 'people.csv'}, date_format: dd.MM.yyyy, "
        "mapping: {customer_id: id, signup_date: joined}}")
    s = ingest.run(spark, cfg, RUN)
    assert (s.metrics["accepted.events"], s.metrics["quarantined.events.non_product_code"]) == (2, 1)
    wh = warehouse(spark, cfg)
    got = sorted((r.is_return, r.quantity, r.amount) for r in wh.read("orders").collect())
    assert got == [(False, 12, 83.4), (True, 2, -13.9)]
    assert [str(r.signup_date) for r in wh.read("customers").collect()] == ["2009-11-03"]
    assert [(r.product_id, r.title) for r in wh.read("products").collect()] == [("85048", "LED LIGHT")]


def test_online_retail_ii_is_read_by_the_online_retail_source(spark, tmp_path):
    f = tmp_path / "online_retail_II.csv"
    f.write_text("Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country\n"
                 "489434,85048,LED LIGHT,12,2009-12-01 07:45:00,6.95,13085.0,United Kingdom\n"
                 "C489449,85048,LED LIGHT,-2,2009-12-01 10:33:00,6.95,13085.0,United Kingdom\n")
    cfg = make_cfg(tmp_path / "wh", "ingest.source=online_retail", f"sources.online_retail.path={f}")
    s = ingest.run(spark, cfg, RUN)
    assert s.metrics["accepted.events"] == 2
    got = sorted((r.user_id, r.event_type) for r in warehouse(spark, cfg).read("events").collect())
    assert got == [("13085", "purchase"), ("13085", "return")]


def test_online_retail_ii_as_the_uci_workbook(spark, tmp_path, monkeypatch):
    from datetime import datetime

    from openpyxl import Workbook

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    book = Workbook()
    first = book.active
    first.title = "Year 2009-2010"
    head = ["Invoice", "StockCode", "Description", "Quantity", "InvoiceDate", "Price", "Customer ID", "Country"]
    first.append(head)
    first.append(["489434", "85048", "LED LIGHT", 12, datetime(2009, 12, 1, 7, 45), 6.95, 13085, "United Kingdom"])
    second = book.create_sheet("Year 2010-2011")
    second.append(head)
    second.append(["C489449", "85048", "LED LIGHT", -2, datetime(2010, 1, 5, 10, 33), 6.95, 13085, "United Kingdom"])
    second.append(["489435", "POST", "POSTAGE", 1, datetime(2010, 1, 5, 11, 0), 18.0, 13085, "United Kingdom"])
    f = tmp_path / "online_retail_II.xlsx"
    book.save(f)
    cfg = make_cfg(tmp_path / "wh", "ingest.source=online_retail", f"sources.online_retail.path={f}",
                   "ingest.max_reject_ratio=0.5")
    s = ingest.run(spark, cfg, RUN)
    assert (s.metrics["accepted.events"], s.metrics["quarantined.events.non_product_code"]) == (2, 1)
    got = sorted((r.user_id, r.event_type, str(r.ts)) for r in warehouse(spark, cfg).read("events").collect())
    assert got == [("13085", "purchase", "2009-12-01 07:45:00"), ("13085", "return", "2010-01-05 10:33:00")]


def test_a_renamed_column_on_re_ingest_evolves_bronze(spark, tmp_path):
    f = tmp_path / "e.csv"
    f.write_text("user,item,when\nu1,i1,2026-11-20 10:00:00\n")

    def cfg(user_col):
        return make_cfg(tmp_path / "wh", "ingest.source=csv",
                        f"sources.csv.events={{path: {f}, mapping: {{user_id: {user_col}, item_id: item, ts: when}}, "
                        "constants: {event_type: view}}")
    ingest.run(spark, cfg("user"), RUN)
    f.write_text("Customer Id,item,when\nu2,i1,2026-11-21 10:00:00\n")
    s = ingest.run(spark, cfg("Customer Id"), RUN)
    assert s.metrics["accepted.events"] == 1
    bronze = warehouse(spark, cfg("user")).read("bronze_csv_events")
    assert {"user", "Customer_Id"} <= set(bronze.columns)
    assert sorted(r.user_id for r in warehouse(spark, cfg("user")).read("events").collect()) == ["u1", "u2"]


@pytest.mark.parametrize(("value", "message"), [
    ("price_usd", r"mapping.price: 'price_usd' is not a column of .* \(columns: _c0, _c1, _c2, _c3, _c4\)"),
    ("_c4 / nope", r"mapping.price: '_c4 / nope' does not resolve over the columns"),
    ("reflect('java.lang.System', 'getenv', 'HOME')", r"uses the function reflect\(\), which source mappings"),
])
def test_mapping_mistakes_are_config_errors_naming_the_setting(spark, tmp_path, value, message):
    cfg = _cdnow_cfg(tmp_path, f'sources.csv.events.mapping.price="{value}"')
    with pytest.raises(ConfigError, match=message):
        ingest.run(spark, cfg, RUN)
