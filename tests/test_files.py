"""Reading a source's files (tailor.ingest.files): whitespace and regex delimiters, Parquet folders, JSON Lines,
globs, names Delta refuses, and lookups, each on a hand-made file."""

import pytest

from tailor.csvfile import CORRUPT
from tailor.errors import SourceError
from tailor.ingest.files import as_column, lookup_joined, read, sanitize
from tailor.settings import FileSettings, Lookup


def _rows(df):
    return sorted(tuple(r) for r in df.collect())


def test_names_delta_refuses_are_sanitised_uniquely():
    names, renames = sanitize(["Customer ID", "Price", "", "a,b", "a;b", "(x)"])
    assert names == ["Customer_ID", "Price", "_c2", "a_b", "a_b_2", "x"]
    assert renames == {"Customer ID": "Customer_ID", "": "_c2", "a,b": "a_b", "a;b": "a_b_2", "(x)": "x"}


def test_whitespace_separated_order_log_with_a_ragged_line(spark, tmp_path):
    # CDNOW's layout: id, id, yyyymmdd, CDs, dollars, runs of blanks between; no header
    p = tmp_path / "orders.txt"
    p.write_text("00001 00001 19970101 1  11.77\n"
                 "   00002   00002 19970112 2 20.76  \n"
                 "\n"
                 "00003\t00003 19970102 2 29.33\r\n"
                 "00004 00004 19970101\n", encoding="ISO-8859-1")
    df, renames = read(spark, FileSettings(path=str(p), delimiter="whitespace", header=False,
                                           encoding="ISO-8859-1"), "orders")
    assert renames == {}
    assert df.columns == ["_c0", "_c1", "_c2", "_c3", "_c4", CORRUPT]
    assert _rows(df.where(f"{CORRUPT} is null").drop(CORRUPT)) == [
        ("00001", "00001", "19970101", "1", "11.77"), ("00002", "00002", "19970112", "2", "20.76"),
        ("00003", "00003", "19970102", "2", "29.33")]
    assert [r[CORRUPT] for r in df.where(f"{CORRUPT} is not null").collect()] == ["00004 00004 19970101"]


def test_a_regex_delimiter_with_a_header_in_every_file_of_a_glob(spark, tmp_path):
    for i, body in enumerate(["1 | a\n2 |b\n", "3|  c\n"]):
        (tmp_path / f"part-{i}.txt").write_text("id | Item Name\n" + body)
    df, renames = read(spark, FileSettings(path=str(tmp_path / "part-*.txt"), delimiter=r"regex:\s*\|\s*"), "x")
    assert renames == {"Item Name": "Item_Name"}
    assert _rows(df.drop(CORRUPT)) == [("1", "a"), ("2", "b"), ("3", "c")]


def test_a_parquet_folder_and_json_lines_keep_every_row(spark, tmp_path):
    spark.createDataFrame([(1, "a b", 2.5), (2, None, 1.0)], "id int, `Product Name` string, price double") \
        .write.parquet(str(tmp_path / "pq"))
    df, renames = read(spark, FileSettings(path=str(tmp_path / "pq"), format="parquet"), "pq")
    assert renames == {"Product Name": "Product_Name"}
    assert _rows(df.drop(CORRUPT)) == [(1, "a b", 2.5), (2, None, 1.0)]
    (tmp_path / "e.jsonl").write_text('{"user": "u1", "item": "i1"}\n{"user": "u2", "item": "i2", "n": 3}\n'
                                      '{"user": broken\n')
    df, _ = read(spark, FileSettings(path=str(tmp_path / "e.jsonl"), format="json"), "json")
    rows = sorted((str(r.user), str(r.item), str(r.n), str(r[CORRUPT])) for r in df.collect())
    assert rows == [("None", "None", "None", '{"user": broken'), ("u1", "i1", "None", "None"),
                    ("u2", "i2", "3", "None")]


def test_nothing_at_the_path_is_a_source_error(spark, tmp_path):
    with pytest.raises(SourceError, match="pq"):
        read(spark, FileSettings(path=str(tmp_path / "none"), format="parquet"), "pq")


def test_lookups_join_by_key_keep_unmatched_rows_and_refuse_repeated_keys(spark, tmp_path):
    (tmp_path / "products.csv").write_text("product_id,product_name,aisle_id,department_id\n"
                                           "1,Milk,10,7\n2,Bread,11,3\n3,Mystery,99,3\n")
    (tmp_path / "aisles.csv").write_text("aisle_id,aisle\n10,dairy\n11,bakery\n")
    (tmp_path / "departments.csv").write_text("department_id,department,product_name\n7,chilled,x\n3,pantry,y\n")
    df, _ = read(spark, FileSettings(path=str(tmp_path / "products.csv")), "products")
    joined = lookup_joined(df, [Lookup(name="aisles", path=str(tmp_path / "aisles.csv"), column="aisle_id"),
                                Lookup(name="dept", path=str(tmp_path / "departments.csv"), column="department_id")],
                           "products")
    got = sorted((r.product_id, r.aisle, r.department, r.dept_product_name) for r in joined.collect())
    assert got == [("1", "dairy", "chilled", "x"), ("2", "bakery", "pantry", "y"), ("3", None, "pantry", "y")]
    (tmp_path / "twice.csv").write_text("aisle_id,aisle\n10,dairy\n10,milk\n")
    with pytest.raises(SourceError, match="key '10' appears 2 times"):
        lookup_joined(df, [Lookup(name="t", path=str(tmp_path / "twice.csv"), column="aisle_id")], "products")
    with pytest.raises(SourceError, match="column: 'aisle' is not a column"):
        lookup_joined(df, [Lookup(name="t", path=str(tmp_path / "aisles.csv"), column="aisle")], "products")


def test_a_mapping_value_is_a_column_by_either_name_or_a_checked_expression(spark):
    df = spark.createDataFrame([("3", "29.97", "20260101")], "`number of cds` string, dollars string, day string")
    df = df.toDF("number_of_cds", "dollars", "day")
    checked = []
    cols = [as_column("number of cds", df.columns, checked.append),
            as_column("try_divide(cast(dollars as double), cast(`number of cds` as int))", df.columns,
                      checked.append),
            as_column("to_timestamp(day, 'yyyyMMdd')", df.columns, checked.append)]
    got = df.select(*cols).first()
    assert (got[0], round(got[1], 2), str(got[2])) == ("3", 9.99, "2026-01-01 00:00:00")
    assert checked == ["try_divide(cast(dollars as double), cast(`number_of_cds` as int))",
                       "to_timestamp(day, 'yyyyMMdd')"]


def _workbook(path, sheets):
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)


def test_an_excel_workbook_is_read_sheet_by_sheet_with_its_dates_and_quotes(spark, tmp_path, monkeypatch):
    from datetime import datetime

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    head = ["Invoice", "Description", "InvoiceDate", "Price", "Customer ID", None]  # a formatted, empty last cell
    f = tmp_path / "retail.xlsx"
    _workbook(f, {"Year 2009-2010": [head, [489434, 'MUG "BIG", RED', datetime(2009, 12, 1, 7, 45), 6.95, 13085, None],
                                     [None] * 6],
                  "Year 2010-2011": [head, ["C489449", "LED\nLIGHT", datetime(2010, 1, 2, 10, 33), 2.5, None, None]]})
    df, renames = read(spark, FileSettings(path=str(f), format="excel"), "events")
    assert renames == {"Customer ID": "Customer_ID"}
    # the blank row is skipped; a quote, a comma and a newline inside a cell survive the staged CSV
    assert _rows(df.drop(CORRUPT)) == [
        ("489434", 'MUG "BIG", RED', "2009-12-01 07:45:00", "6.95", "13085"),
        ("C489449", "LED\nLIGHT", "2010-01-02 10:33:00", "2.5", None)]
    staged = list((tmp_path / "tmp" / "tailor-excel").iterdir())
    assert len(staged) == 1 and staged[0].name.startswith("retail-")
    read(spark, FileSettings(path=str(f), format="excel"), "events")  # a re-read reuses the staged CSV
    assert list((tmp_path / "tmp" / "tailor-excel").iterdir()) == staged


def test_an_excel_workbook_whose_sheets_disagree_or_that_is_no_workbook_is_refused(spark, tmp_path, monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    f = tmp_path / "two.xlsx"
    _workbook(f, {"a": [["id", "x"], [1, 2]], "b": [["id", "y"], [3, 4]]})
    with pytest.raises(SourceError, match=r"sheet 'b' has the header \['id', 'y'\]"):
        read(spark, FileSettings(path=str(f), format="excel"), "events")
    assert not list((tmp_path / "tailor-excel").iterdir())  # nothing half-written is left to be reused
    bad = tmp_path / "not.xlsx"
    bad.write_text("id,x\n1,2\n")
    with pytest.raises(SourceError, match="is not an Excel workbook"):
        read(spark, FileSettings(path=str(bad), format="excel"), "events")
