"""The one CSV reader: RFC 4180 quoting, multi-line fields, CRLF, a bare CR, a BOM, ragged rows; and the
csv source taking a messy file end to end with nothing lost."""

from __future__ import annotations

from datetime import date

import pytest

from conftest import make_cfg
from tailor import csvfile
from tailor.config import warehouse
from tailor.errors import SourceError
from tailor.jobs import ingest

RUN = date(2026, 11, 23)


def _rows(spark, path, **kw):
    df = csvfile.read(spark, str(path), what="test file", **kw)
    return df.columns, [tuple(r) for r in df.collect()]


def test_doubled_quotes_quoted_newlines_crlf_and_a_bare_cr_are_one_field_each(spark, tmp_path):
    f = tmp_path / "t.csv"
    f.write_bytes(b'a,b,c\r\n'
                  b'1,"A ""B"", C",x\r\n'        # a doubled quote and a comma inside quotes
                  b'2,"line1\nline2",y\r\n'      # a quoted newline
                  b'3,"cr\rinside",z\r\n')       # a bare CR inside a quoted field
    cols, rows = _rows(spark, f)
    assert cols == ["a", "b", "c", csvfile.CORRUPT]
    assert sorted(rows) == [("1", 'A "B", C', "x", None), ("2", "line1\nline2", "y", None),
                            ("3", "cr\rinside", "z", None)]


def test_a_byte_order_mark_is_not_part_of_the_first_column_name(spark, tmp_path):
    f = tmp_path / "bom.csv"
    f.write_bytes(b"\xef\xbb\xbfid,name\n1,ann\n")
    cols, rows = _rows(spark, f)
    assert cols == ["id", "name", csvfile.CORRUPT] and rows == [("1", "ann", None)]


def test_ragged_rows_keep_their_raw_text_in_the_corrupt_column(spark, tmp_path):
    f = tmp_path / "ragged.csv"
    f.write_text("a,b,c\n1,2,3\n4,5\n6,7,8,9\n")
    _, rows = _rows(spark, f)
    corrupt = {r[0]: r[3] for r in rows}
    assert corrupt == {"1": None, "4": "4,5", "6": "6,7,8,9"}


def test_latin1_is_decoded_when_declared(spark, tmp_path):
    f = tmp_path / "latin1.csv"
    f.write_bytes("id,name\n1,Zoë\n".encode("latin-1"))
    _, rows = _rows(spark, f, encoding="ISO-8859-1")
    assert rows == [("1", "Zoë", None)]


def test_a_missing_file_is_a_one_line_source_error(spark, tmp_path):
    with pytest.raises(SourceError) as e:
        csvfile.read(spark, str(tmp_path / "nope.csv"), what="sends file")
    assert "sends file" in str(e.value) and "\n" not in str(e.value)


def test_the_writer_round_trips_quotes_and_newlines(spark, tmp_path):
    df = spark.createDataFrame([("1", 'say "hi", ok'), ("2", "two\nlines")], "id string, v string")
    csvfile.write(df, str(tmp_path / "out"))
    _, rows = _rows(spark, tmp_path / "out")
    assert sorted(rows) == [("1", 'say "hi", ok', None), ("2", "two\nlines", None)]


MESSY = (
    "user,sku,when,kind,qty,unit,note\r\n"
    'U1,P1,2026-11-20 10:00:00,view,,,"a ""quoted"", note"\r\n'
    'U1 ,P1,2026-11-20 10:00:00,View,,,"a ""quoted"", note"\r\n'   # the same event, padded and in another case
    'U2,P2,2026-11-20 11:00:00,purchase,1,NaN,"two\nlines"\r\n'      # NaN price, a quoted newline
    "U3,P3,2026-11-20 11:00:00,purchase,1,Infinity,x\r\n"
    "U4,P4,2026-11-20 11:00:00,purchase,2,1e308,x\r\n"
    "U5,P\u00005,2026-11-20 11:00:00,view,,,x\r\n"                    # NUL in an id
    "U\ufffd6,P6,2026-11-20 11:00:00,view,,,x\r\n"                    # a mis-decoded byte
    f"{'U' * 300},P7,2026-11-20 11:00:00,view,,,x\r\n"                # a 300-character id
    "U8,P8\r\n"                                                       # too few columns
    "U9,P9,2026-11-20 11:00:00,view,,,x,extra\r\n"                    # too many
    "U10,P10,2026-11-20 12:00:00,purchase,1,2.5,ok\r\n"
)


def test_a_messy_file_through_the_csv_source_loses_nothing_and_names_each_reason(spark, tmp_path):
    f = tmp_path / "messy.csv"
    f.write_text(MESSY, encoding="utf-8")
    cfg = make_cfg(tmp_path / "wh", "ingest.source=csv", "ingest.max_reject_ratio=1",
                   f"sources.csv.events={{path: '{f}', mapping: {{user_id: user, item_id: sku, ts: when, "
                   "event_type: kind, quantity: qty, price: unit}}")
    s = ingest.run(spark, cfg, RUN)
    m = s.metrics
    q = {k.split(".")[-1]: v for k, v in m.items() if k.startswith("quarantined.events.")}
    assert q == {"duplicate": 1, "bad_number": 3, "bad_text": 2, "too_long": 1, "wrong_column_count": 2}
    assert m["input.events"] == 11 and m["accepted.events"] == 2  # U1 (once) and U10: 2 + 9 = 11
    got = sorted((r.user_id, r.item_id, r.event_type, r.price) for r in warehouse(spark, cfg).read("events").collect())
    assert got == [("U1", "P1", "view", None), ("U10", "P10", "purchase", 2.5)]
    assert m["unmapped_columns.events"] == 1  # "note" is in the file and in no mapping
    for r in warehouse(spark, cfg).read("orders").collect():
        assert r.amount == 2.5  # no NaN or infinite amount reaches silver
