"""One hand-made bad row for each quarantine rule, and the typing of accepted rows."""

import hashlib
import hmac
from datetime import date, datetime

import pytest
from pyspark.sql import functions as F

from tailor.ingest import validate as V
from tailor.ingest.sources import ENTITY_COLUMNS

RUN = date(2026, 11, 23)
EV_COLS = ENTITY_COLUMNS["events"]


def _events(spark, rows):
    """rows: dicts of landed string values; unspecified columns are null."""
    data = [(*[r.get(c) for c in EV_COLS], f"rec-{i}") for i, r in enumerate(rows)]
    schema = ", ".join(f"{c} string" for c in EV_COLS) + ", _record string"
    return spark.createDataFrame(data, schema)


def _ok(**kw):
    base = {"event_id": "e1", "user_id": "u1", "item_id": "i1", "event_type": "purchase",
            "ts": "2026-11-20 10:00:00", "order_id": "o1", "quantity": "2", "price": "3.5"}
    base.update(kw)
    return base


def _check(spark, rows, **kw):
    out = _events(spark, rows).transform(V.validate_events(RUN, 24, 1.0, 5.0, **kw))
    return {r.event_id: r for r in out.collect()}


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (_ok(user_id=None), "missing_user_id"),
        (_ok(user_id="   "), "missing_user_id"),
        (_ok(item_id=""), "missing_item_id"),
        (_ok(event_type="click"), "unknown_event_type"),
        (_ok(event_type=None), "unknown_event_type"),
        (_ok(ts="yesterday"), "bad_timestamp"),
        (_ok(ts=None), "bad_timestamp"),
        (_ok(ts="2026-11-25 00:00:01"), "future_timestamp"),  # past run_date end + 24 h
        (_ok(quantity="two"), "bad_number"),
        (_ok(quantity="0"), "non_positive_quantity"),
        (_ok(quantity="-2"), "non_positive_quantity"),  # negative, and not a return
        (_ok(price="0"), "non_positive_price"),
        (_ok(price=None), "non_positive_price"),
        (_ok(event_type="return", quantity="0"), "non_positive_quantity"),
        (_ok(event_type="rating", quantity=None, price=None, rating="6"), "invalid_rating"),
        (_ok(event_type="rating", quantity=None, price=None, rating=None), "invalid_rating"),
    ],
)
def test_each_rule_rejects_its_row(spark, row, reason):
    assert _check(spark, [row])["e1"].reason == reason


def test_free_items_accept_a_zero_price_but_never_a_negative_one(spark):
    rows = [_ok(event_id="free", price="0"), _ok(event_id="neg", price="-1"), _ok(event_id="none", price=None)]
    default = {k: r.reason for k, r in _check(spark, rows).items()}
    assert default == {"free": "non_positive_price", "neg": "non_positive_price", "none": "non_positive_price"}
    free = {k: (r.reason, r.price) for k, r in _check(spark, rows, free_items=True).items()}
    assert free == {"free": (None, 0.0), "neg": ("non_positive_price", -1.0), "none": ("non_positive_price", None)}


def test_first_broken_rule_wins(spark):
    assert _check(spark, [_ok(user_id=None, event_type="click", ts="x")])["e1"].reason == "missing_user_id"


def test_valid_rows_are_typed(spark):
    got = _check(spark, [
        _ok(event_type=" Purchase ", ts="2026-11-24 23:00:00"),  # within the 24 h tolerance
        _ok(event_id="e2", event_type="return", quantity="-3", price="2.0"),
        _ok(event_id="e3", event_type="view", quantity=None, price=None, order_id=None),
        _ok(event_id="e4", event_type="rating", quantity=None, price=None, rating="4.5"),
    ])
    assert all(r.reason is None for r in got.values())
    assert got["e1"].event_type == "purchase"
    assert got["e1"].ts == datetime(2026, 11, 24, 23, 0, 0)
    assert (got["e1"].quantity, got["e1"].price) == (2, 3.5)
    assert got["e2"].quantity == 3  # returns keep a positive quantity
    assert got["e3"].quantity is None
    assert got["e4"].rating == 4.5


def test_timestamp_format_is_honoured(spark):
    got = _check(spark, [_ok(ts="20/11/2026 10:00")], timestamp_format="dd/MM/yyyy HH:mm")
    assert got["e1"].ts == datetime(2026, 11, 20, 10, 0)


def test_duplicates_keep_one_and_quarantine_the_rest(spark):
    same = _ok()
    df = _events(spark, [same, same, same, _ok(quantity="9")])
    # identical landed records for the exact copies; the fourth row reuses the id with other content
    df = df.withColumn("_record", F.when(F.col("quantity") == "9", "other").otherwise("same"))
    reasons = sorted(
        (r.reason or "accepted") for r in df.transform(V.validate_events(RUN, 24, 1.0, 5.0)).collect()
    )
    assert reasons == ["accepted", "duplicate", "duplicate", "duplicate_id"]


def test_rejected_rows_do_not_count_as_duplicates(spark):
    df = _events(spark, [_ok(user_id=None), _ok()])
    reasons = sorted((r.reason or "accepted") for r in df.transform(V.validate_events(RUN, 24, 1.0, 5.0)).collect())
    assert reasons == ["accepted", "missing_user_id"]


def test_customers_rules(spark):
    cols = ENTITY_COLUMNS["customers"]
    rows = [
        ("c1", "2024-01-05", "UK", "yes", " A@Example.com "),
        (None, "2024-01-05", "UK", "yes", None),
        ("c3", "05.01.2024x", "UK", "no", None),
        ("c4", "2027-01-01", "UK", "no", None),
        ("c5", "2024-01-05", "UK", "perhaps", None),
        ("c6", None, None, None, None),
    ]
    df = spark.createDataFrame([(*r, f"r{i}") for i, r in enumerate(rows)],
                               ", ".join(f"{c} string" for c in cols) + ", _record string")
    got = {r.customer_id: r for r in df.transform(V.validate_customers(RUN, b"k")).collect()}
    assert got["c1"].reason is None
    assert got["c1"].signup_date == date(2024, 1, 5)
    assert got["c1"].marketing_opt_in is True
    # the address is trimmed and lower-cased, then only its keyed pseudonym is kept
    assert got["c1"].email_pseudonym == hmac.new(b"k", b"a@example.com", hashlib.sha256).hexdigest()
    assert "email" not in df.transform(V.validate_customers(RUN, b"k")).columns
    assert got[None].reason == "missing_customer_id"
    assert got["c3"].reason == "bad_date"
    assert got["c4"].reason == "bad_date"
    assert got["c5"].reason == "bad_boolean"
    assert got["c6"].reason is None and got["c6"].marketing_opt_in is None


def test_products_rules(spark):
    cols = ENTITY_COLUMNS["products"]
    rows = [("p1", "T", "D", "c", "b", "9.99"), ("", "T", None, None, None, "1"),
            ("p3", "T", None, None, None, "free"), ("p4", "T", None, None, None, "-1"),
            ("p1", "T2", None, None, None, "1")]
    df = spark.createDataFrame([(*r, f"r{i}") for i, r in enumerate(rows)],
                               ", ".join(f"{c} string" for c in cols) + ", _record string")
    got = sorted((r.product_id or "", r.reason or "") for r in df.transform(V.validate_products()).collect())
    assert got == [("", "missing_product_id"), ("p1", ""), ("p1", "duplicate_id"),
                   ("p3", "bad_number"), ("p4", "non_positive_price")]


def test_case_folding_merges_ids_only_when_configured(spark):
    rows = [_ok(event_id=None, user_id="Ann", event_type="view", order_id=None, quantity=None, price=None),
            _ok(event_id=None, user_id=" ann", event_type="VIEW", order_id=None, quantity=None, price=None)]
    plain = _events(spark, rows).transform(V.validate_events(RUN, 24, 1.0, 5.0)).collect()
    folded = _events(spark, rows).transform(
        V.validate_events(RUN, 24, 1.0, 5.0, limits=V.Limits(fold_case=("users",)))).collect()
    assert sorted((r.user_id, r.reason or "") for r in plain) == [("Ann", ""), ("ann", "")]
    assert sorted((r.user_id, r.reason or "") for r in folded) == [("ann", ""), ("ann", "duplicate")]
    assert len({r.event_id for r in folded}) == 1  # the id is hashed over the folded, trimmed values


@pytest.mark.parametrize(("row", "reason"), [
    (_ok(price="NaN"), "bad_number"),
    (_ok(price="-Infinity"), "bad_number"),
    (_ok(price="1e308"), "bad_number"),  # finite, but past ingest.max_abs_number: quantity x price overflows
    (_ok(user_id="u\u00001"), "bad_text"),
    (_ok(item_id="i\ufffd"), "bad_text"),
    (_ok(order_id="o" * 257), "too_long"),
])
def test_numbers_and_text_that_would_poison_silver_are_rejected(spark, row, reason):
    assert _check(spark, [row])["e1"].reason == reason
