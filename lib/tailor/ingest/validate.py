"""Validation of landed rows: every row is either accepted (typed to its contract) or quarantined with the
first rule it broke. Nothing is dropped silently.

Adapters hand over *standard* frames: the contract's column names, values still as landed (mostly
strings), a ``_record`` column with the landed row as JSON, and optionally ``_reject`` with a
source-specific reason (a non-product code, say). Columns whose names start with ``_x_`` ride along
unvalidated, for adapters that derive dimensions from accepted rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.privacy.pseudonym import pseudonym_col
from tailor.quarantine import (
    CONTENT,
    EXTRA_PREFIX,
    RECORD,
    REJECT,
    blank,
    clean_str,
    content_hash,
    flag,
    flag_duplicates,
)

# Reasons, in the order rules are applied.
MISSING_USER_ID = "missing_user_id"
MISSING_ITEM_ID = "missing_item_id"
UNKNOWN_EVENT_TYPE = "unknown_event_type"
BAD_TIMESTAMP = "bad_timestamp"
FUTURE_TIMESTAMP = "future_timestamp"
BAD_NUMBER = "bad_number"
NON_POSITIVE_QUANTITY = "non_positive_quantity"
NON_POSITIVE_PRICE = "non_positive_price"
INVALID_RATING = "invalid_rating"
MISSING_CUSTOMER_ID = "missing_customer_id"
BAD_DATE = "bad_date"
BAD_BOOLEAN = "bad_boolean"
MISSING_PRODUCT_ID = "missing_product_id"
BAD_TEXT = "bad_text"
TOO_LONG = "too_long"

# Java regex classes: control characters anywhere in an id; in free text, the ones no text holds (tab, LF
# and CR may sit in a quoted description). U+FFFD is what a decoder leaves for bytes of another encoding.
_ID_BAD = r"[\p{Cc}\x{FFFD}]"
_TEXT_BAD = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F\x{FFFD}]"


@dataclass(frozen=True)
class Limits:
    """What a landed value may be, beyond its type.

    Attributes:
        max_id_length: longest id or code (characters); longer is ``too_long``.
        max_text_length: longest free text (title, description...); longer is ``too_long``.
        max_abs_number: largest magnitude of a quantity, price or rating; NaN, infinities and anything
            larger are ``bad_number`` (so no amount in silver is NaN or infinite).
        fold_case: which ids are compared without case: ``users`` (user_id, customer_id), ``items``
            (item_id, product_id), ``orders`` (order_id); folded ids are stored lower-case.
    """

    max_id_length: int = 256
    max_text_length: int = 10_000
    max_abs_number: float = 1e9
    fold_case: tuple[str, ...] = ()

    @classmethod
    def of(cls, settings) -> Limits:
        """From ``ingest`` settings (anything with these four attributes)."""
        return cls(settings.max_id_length, settings.max_text_length, settings.max_abs_number,
                   tuple(settings.fold_case))


_FOLD = {S.USER_ID: "users", S.CUSTOMER_ID: "users", S.ITEM_ID: "items", S.PRODUCT_ID: "items",
         S.ORDER_ID: "orders"}

_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")


def parse_timestamp(c: Column, fmt: str | None = None) -> Column:
    """A timestamp from a landed value: timestamps pass, strings are parsed, anything else is null."""
    s = clean_str(c)
    return F.try_to_timestamp(s, F.lit(fmt)) if fmt else F.try_to_timestamp(s)


def _num(c: Column, dtype: str) -> Column:
    return clean_str(c).try_cast(dtype)


def ident(c: str, limits: Limits) -> Column:
    """An id or code as stored: trimmed, null when blank, lower-case where ``limits.fold_case`` says."""
    v = clean_str(F.col(c))
    return F.lower(v) if _FOLD.get(c) in limits.fold_case else v


def bad_number(raw: Column, parsed: Column, limits: Limits) -> Column:
    """A value given that is not a finite number within ``limits.max_abs_number``."""
    return raw.isNotNull() & (parsed.isNull() | F.isnan(parsed) | (F.abs(parsed) > F.lit(limits.max_abs_number)))


def text_rules(ids: list[str], texts: list[str], limits: Limits) -> list[tuple[str, Column]]:
    """``bad_text`` (control characters, U+FFFD) and ``too_long`` rules over landed id and text columns."""
    bad = [F.col(c).cast("string").rlike(_ID_BAD) for c in ids]
    bad += [F.col(c).cast("string").rlike(_TEXT_BAD) for c in texts]
    long = [F.length(clean_str(F.col(c))) > limits.max_id_length for c in ids]
    long += [F.length(clean_str(F.col(c))) > limits.max_text_length for c in texts]
    return [(BAD_TEXT, _any(bad)), (TOO_LONG, _any(long))]


def _any(conds: list[Column]) -> Column:
    out = F.lit(False)
    for c in conds:
        out = out | F.coalesce(c, F.lit(False))
    return out


def _type_and_flag(df: DataFrame, typed: list[Column], rules: list[tuple[str, Column]]) -> DataFrame:
    """Select the typed columns and :data:`CONTENT` (their hash), evaluating each rule on the landed values,
    then flag the first rule broken."""
    extras = [F.col(c) for c in df.columns if c.startswith(EXTRA_PREFIX)]
    reject = [F.col(REJECT)] if REJECT in df.columns else []
    out = df.select(*typed, content_hash(typed).alias(CONTENT), F.col(RECORD), *extras, *reject,
                    *[cond.alias(f"_rule_{i}") for i, (_, cond) in enumerate(rules)])
    numbered = [(r, F.col(f"_rule_{i}")) for i, (r, _) in enumerate(rules)]
    out = flag(out, numbered).drop(*[f"_rule_{i}" for i in range(len(rules))])
    return out.drop(REJECT) if reject else out


def _end_of_day(d: date, hours: int) -> datetime:
    return datetime.combine(d + timedelta(days=1), time.min) + timedelta(hours=hours)


def validate_events(
    run_date: date,
    future_tolerance_hours: int,
    rating_min: float,
    rating_max: float,
    timestamp_format: str | None = None,
    limits: Limits = Limits(),
    dedupe: str = "exact",
    free_items: bool = False,
) -> Callable[[DataFrame], DataFrame]:
    """Flag and type a standard events frame.

    Returns a frame with the typed event columns (less ``source``/``ingest_date``), ``reason``,
    ``_record`` and any ``_x_`` extras. Returns are stored with a positive ``quantity``. A row without an
    ``event_id`` gets the hash of its normalised contract values (ids trimmed and folded, the event type
    lower-case, the timestamp and numbers parsed), so the same event landed twice with other padding or
    case has one id. With ``dedupe="off"``, identical rows without an id of their own are numbered by
    occurrence instead (``<hash>``, ``<hash>-2``...): all are kept, and re-landing the file gives the same ids.
    With ``free_items``, a price of 0 is accepted (a negative one never is).
    """
    limit = F.to_timestamp(F.lit(_end_of_day(run_date, future_tolerance_hours).isoformat(sep=" ")))

    def _(df: DataFrame) -> DataFrame:
        et = F.lower(clean_str(F.col(S.EVENT_TYPE)))
        ts = parse_timestamp(F.col(S.TS), timestamp_format)
        qty_raw, price_raw, rating_raw = (clean_str(F.col(c)) for c in (S.QUANTITY, S.PRICE, S.RATING))
        qty, price, rating = _num(F.col(S.QUANTITY), "int"), _num(F.col(S.PRICE), "double"), _num(
            F.col(S.RATING), "double"
        )
        sold = et.isin(S.PURCHASE, S.CART)
        priced = et.isin(S.PURCHASE, S.CART, S.RETURN)
        ids = [S.EVENT_ID, S.USER_ID, S.ITEM_ID, S.SESSION_ID, S.ORDER_ID, S.EVENT_TYPE]
        rules = [
            (MISSING_USER_ID, blank(F.col(S.USER_ID))),
            (MISSING_ITEM_ID, blank(F.col(S.ITEM_ID))),
            *text_rules(ids, [], limits),
            (UNKNOWN_EVENT_TYPE, et.isNull() | ~et.isin(*S.EVENT_TYPES)),
            (BAD_TIMESTAMP, ts.isNull()),
            (FUTURE_TIMESTAMP, ts > limit),
            (
                BAD_NUMBER,
                bad_number(qty_raw, qty, limits) | bad_number(price_raw, price, limits)
                | bad_number(rating_raw, rating, limits),
            ),
            (NON_POSITIVE_QUANTITY, (sold & (qty.isNull() | (qty <= 0))) | ((et == S.RETURN) & (
                qty.isNull() | (qty == 0)))),
            (NON_POSITIVE_PRICE, priced & (price.isNull() | ((price < 0) if free_items else (price <= 0)))),
            (INVALID_RATING, (et == S.RATING_EVENT) & (
                rating.isNull() | (rating < rating_min) | (rating > rating_max))),
        ]
        values = [ident(S.USER_ID, limits).alias(S.USER_ID), ident(S.ITEM_ID, limits).alias(S.ITEM_ID),
                  et.alias(S.EVENT_TYPE), ts.alias(S.TS), clean_str(F.col(S.SESSION_ID)).alias(S.SESSION_ID),
                  ident(S.ORDER_ID, limits).alias(S.ORDER_ID)]
        typed = [
            F.coalesce(clean_str(F.col(S.EVENT_ID)), content_hash([*values, qty, price, rating])).alias(S.EVENT_ID),
            *values,
            F.abs(qty).alias(S.QUANTITY),
            price.alias(S.PRICE),
            rating.alias(S.RATING),
        ]
        given = EXTRA_PREFIX + "id_given"  # carried through _type_and_flag as an extra, outside the content hash
        out = _type_and_flag(df.withColumn(given, clean_str(F.col(S.EVENT_ID)).isNotNull()), typed, rules)
        if dedupe == "off":
            n = F.row_number().over(Window.partitionBy(S.EVENT_ID, given).orderBy(RECORD))
            out = out.withColumn(S.EVENT_ID, F.when(F.col(given) | (n == 1), F.col(S.EVENT_ID))
                                 .otherwise(F.concat(F.col(S.EVENT_ID), F.lit("-"), n.cast("string"))))
        return out.drop(given).transform(flag_duplicates(S.EVENT_ID))

    return _


def validate_customers(run_date: date, secret: bytes, limits: Limits = Limits()) -> Callable[[DataFrame], DataFrame]:
    """Flag and type a standard customers frame (customer_id, signup_date, country, marketing_opt_in,
    email); the e-mail address becomes its keyed pseudonym (``secret``) and is not kept."""

    def _(df: DataFrame) -> DataFrame:
        signup = F.coalesce(
            F.try_to_date(clean_str(F.col(S.SIGNUP_DATE))),
            F.to_date(parse_timestamp(F.col(S.SIGNUP_DATE))),
        )
        opt = F.lower(clean_str(F.col(S.MARKETING_OPT_IN)))
        opt_in = F.when(opt.isin(*_TRUE), True).when(opt.isin(*_FALSE), False)
        rules = [
            (MISSING_CUSTOMER_ID, blank(F.col(S.CUSTOMER_ID))),
            *text_rules([S.CUSTOMER_ID], [S.COUNTRY, S.EMAIL], limits),
            (BAD_DATE, clean_str(F.col(S.SIGNUP_DATE)).isNotNull() & signup.isNull()),
            (BAD_DATE, signup > F.lit(run_date)),
            (BAD_BOOLEAN, opt.isNotNull() & opt_in.isNull()),
        ]
        typed = [
            ident(S.CUSTOMER_ID, limits).alias(S.CUSTOMER_ID),
            signup.alias(S.SIGNUP_DATE),
            clean_str(F.col(S.COUNTRY)).alias(S.COUNTRY),
            opt_in.alias(S.MARKETING_OPT_IN),
            pseudonym_col(secret, F.lower(clean_str(F.col(S.EMAIL)))).alias(S.EMAIL_PSEUDONYM),
        ]
        return _type_and_flag(df, typed, rules).transform(flag_duplicates(S.CUSTOMER_ID))

    return _


def validate_products(limits: Limits = Limits()) -> Callable[[DataFrame], DataFrame]:
    """Flag and type a standard products frame (product_id, title, description, category, brand, price)."""

    def _(df: DataFrame) -> DataFrame:
        price_raw = clean_str(F.col(S.PRICE))
        price = _num(F.col(S.PRICE), "double")
        rules = [
            (MISSING_PRODUCT_ID, blank(F.col(S.PRODUCT_ID))),
            *text_rules([S.PRODUCT_ID], [S.TITLE, S.DESCRIPTION, S.CATEGORY, S.BRAND], limits),
            (BAD_NUMBER, bad_number(price_raw, price, limits)),
            (NON_POSITIVE_PRICE, price <= 0),
        ]
        typed = [
            ident(S.PRODUCT_ID, limits).alias(S.PRODUCT_ID),
            clean_str(F.col(S.TITLE)).alias(S.TITLE),
            clean_str(F.col(S.DESCRIPTION)).alias(S.DESCRIPTION),
            clean_str(F.col(S.CATEGORY)).alias(S.CATEGORY),
            clean_str(F.col(S.BRAND)).alias(S.BRAND),
            price.alias(S.PRICE),
        ]
        return _type_and_flag(df, typed, rules).transform(flag_duplicates(S.PRODUCT_ID))

    return _


