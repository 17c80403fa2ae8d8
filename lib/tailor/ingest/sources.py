"""Source adapters.

An adapter does two things, both pure apart from reading its files:

- ``land``: the source's rows exactly as they arrive, one DataFrame per entity (written to bronze);
- ``standardize``: from the landed frames (read back from bronze), the *standard* frames that
  :mod:`tailor.ingest.validate` checks: contract column names, landed values, ``_record`` (the landed row as
  JSON) and, where the source has its own reasons to reject a row, ``_reject``.

Sources whose products or customers are not files of their own (Online Retail) derive them from the
accepted events with ``derive``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StringType

from tailor import csvfile, sandbox
from tailor import schemas as S
from tailor.errors import ConfigError, SourceError, first_line
from tailor.ingest import files, synthetic
from tailor.quarantine import EXTRA_PREFIX, RECORD, REJECT, WRONG_COLUMN_COUNT, clean_str, record_json
from tailor.settings import CsvEntity, CsvSource, FileSettings, SourcesSettings

log = logging.getLogger(__name__)

NON_PRODUCT_CODE = "non_product_code"
_EVENT_COLS = (S.EVENT_ID, S.USER_ID, S.ITEM_ID, S.EVENT_TYPE, S.TS, S.SESSION_ID, S.ORDER_ID, S.QUANTITY,
               S.PRICE, S.RATING)
_PRODUCT_COLS = (S.PRODUCT_ID, S.TITLE, S.DESCRIPTION, S.CATEGORY, S.BRAND, S.PRICE)
_CUSTOMER_COLS = (S.CUSTOMER_ID, S.SIGNUP_DATE, S.COUNTRY, S.MARKETING_OPT_IN, S.EMAIL)
ENTITY_COLUMNS = {"events": _EVENT_COLS, "products": _PRODUCT_COLS, "customers": _CUSTOMER_COLS}


@dataclass(frozen=True)
class SourceInputs:
    """What an adapter reads: the sources' settings, which source ingest reads, and (for the synthetic shop)
    the shop to generate."""

    sources: SourcesSettings
    source: str = "synthetic"
    shop: synthetic.ShopSpec | None = None


@dataclass(frozen=True)
class Adapter:
    name: str
    land: Callable[[SparkSession, SourceInputs, date], dict[str, DataFrame]]
    standardize: Callable[[dict[str, DataFrame], SourceInputs], dict[str, DataFrame]]
    clear: Callable[[SourceInputs, str], frozenset[str]]
    """(inputs, entity) -> the landed columns known to hold a non-personal contract value. A quarantined
    row keeps these as they are; every other landed value is pseudonymised, whatever its column is called."""
    derive: Callable[[DataFrame, SourceInputs], dict[str, DataFrame]] | None = None
    """(accepted events with their ``_x_`` extras, inputs) -> standard frames of the entities the source
    does not give (products, customers)."""
    entities: tuple[str, ...] = field(default=("events", "products", "customers"))


def _fixed(columns: dict[str, tuple[str, ...]]) -> Callable[[SourceInputs, str], frozenset[str]]:
    return lambda _inputs, entity: frozenset(columns.get(entity, ()))


def _standard(df: DataFrame, entity: str, cols: dict[str, Column], extras: dict[str, Column] | None = None,
              reject: Column | None = None) -> DataFrame:
    """Select the standard shape: every contract column of ``entity`` (null when not given), ``_record``,
    extras and ``_reject``. A record the CSV reader found ragged (:data:`tailor.csvfile.CORRUPT`) is rejected
    as ``wrong_column_count`` before any source-specific reason.

    An entity without an id of its own (events of Online Retail, MovieLens, a csv without ``event_id``) gets
    one in validation, hashed over its normalised contract values, so ``U1 ,P1,View`` and ``U1,P1,view``
    are one event."""
    out = [cols.get(c, F.lit(None).cast(StringType())).alias(c) for c in ENTITY_COLUMNS[entity]]
    landed = [c for c in df.columns if c != csvfile.CORRUPT]
    out.append(record_json(df.select(*[F.col(f"`{c}`") for c in landed])).alias(RECORD))
    out.extend(v.alias(EXTRA_PREFIX + k) for k, v in (extras or {}).items())
    if csvfile.CORRUPT in df.columns:
        ragged = F.when(F.col(csvfile.CORRUPT).isNotNull(), F.lit(WRONG_COLUMN_COUNT))
        reject = ragged if reject is None else F.coalesce(ragged, reject)
    if reject is not None:
        out.append(reject.alias(REJECT))
    return df.select(*out)


def _check_path(p: str | None, what: str) -> Path:
    if not p:
        raise SourceError(f"no path configured for {what}: set sources.{what}.path (or pass --path)")
    path = Path(p)
    if not path.exists():
        raise SourceError(f"{what} source not found: {p}")
    return path


def check_paths(source: str, sources: SourcesSettings) -> None:
    """The configured source's settings and local paths, checked before Spark starts (a URI such as
    ``s3a://`` is left to the read).

    Raises:
        ConfigError: no path, a local path that does not exist, or a csv mapping that misses a column.
    """
    if source == "csv":
        check_csv(sources.csv)
        paths = {f"csv.{e}": getattr(sources.csv, e).path for e in ENTITY_COLUMNS
                 if getattr(sources.csv, e) is not None}
    elif source in ("online_retail", "movielens"):
        paths = {source: getattr(sources, source).path}
    else:
        return
    for what, p in paths.items():
        if not p:
            raise ConfigError(f"no path configured for {what}: set sources.{what}.path (or pass --path)")
        if "://" not in p and not any(ch in p for ch in "*?[") and not Path(p).exists():
            raise ConfigError(f"{what} source not found: {p}")
    if source == "csv":
        for entity in ENTITY_COLUMNS:
            e = getattr(sources.csv, entity)
            columns = files.local_header(e) if e is not None else None
            if columns is not None:
                check_names(e, entity, columns)



# --- synthetic ----------------------------------------------------------------------------------------


def _synthetic_land(spark: SparkSession, inputs: SourceInputs, run_date: date) -> dict[str, DataFrame]:
    spec = inputs.shop
    if spec is None:
        raise ValueError("the synthetic source needs the shop's spec (SourceInputs.shop)")
    return {
        "events": synthetic.events(spark, spec),
        "products": synthetic.products(spark, spec),
        "customers": synthetic.customers(spark, spec),
    }


def _synthetic_standardize(landed: dict[str, DataFrame], _inputs: SourceInputs) -> dict[str, DataFrame]:
    ev = landed["events"]
    c = F.col
    return {
        "events": _standard(ev, "events", {
            S.EVENT_ID: c("event_id"), S.USER_ID: c("user_id"), S.ITEM_ID: c("product_id"),
            S.EVENT_TYPE: c("event_type"), S.TS: c("event_time"), S.SESSION_ID: c("session_id"),
            S.ORDER_ID: c("order_id"), S.QUANTITY: c("quantity"), S.PRICE: c("unit_price"),
            S.RATING: c("rating"),
        }),
        "products": _standard(landed["products"], "products", {k: c(k) for k in _PRODUCT_COLS}),
        "customers": _standard(landed["customers"], "customers", {k: c(k) for k in _CUSTOMER_COLS}),
    }


# --- Online Retail ------------------------------------------------------------------------------------

OR_COLUMNS = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID",
              "Country"]
OR_II_NAMES = {"Invoice": "InvoiceNo", "Price": "UnitPrice", "Customer_ID": "CustomerID"}
"""Online Retail II (UCI 502, 2009-2011) names three columns otherwise (``Customer ID`` sanitised)."""


def _online_retail_land(spark: SparkSession, inputs: SourceInputs, run_date: date) -> dict[str, DataFrame]:
    src = inputs.sources.online_retail
    p = _check_path(src.path, "online_retail")
    fmt = ("parquet" if p.suffix == ".parquet" or p.is_dir() else "excel" if p.suffix.lower() in (".xlsx", ".xlsm")
           else "csv")
    df, _ = files.read(spark, FileSettings(path=str(p), format=fmt, encoding=src.encoding), "online_retail")
    df = df.select(*[F.col(f"`{c}`").alias(OR_II_NAMES.get(c, c)) if OR_II_NAMES.get(c) not in df.columns
                     else F.col(f"`{c}`") for c in df.columns])
    missing = [col for col in OR_COLUMNS if col not in df.columns]
    if missing:
        raise SourceError(f"{p} is not an Online Retail file (either edition): missing columns {missing}")
    return {"lines": df.select(*OR_COLUMNS, csvfile.CORRUPT)}


def _customer_id(c: Column) -> Column:
    """CustomerID arrives as 17850, '17850' or 17850.0 (the Parquet copy stores doubles)."""
    return F.regexp_replace(clean_str(c), r"\.0+$", "")


def _online_retail_standardize(landed: dict[str, DataFrame], inputs: SourceInputs) -> dict[str, DataFrame]:
    lines = landed["lines"]
    codes = [x.upper() for x in inputs.sources.online_retail.non_product_codes]
    c = F.col
    invoice = clean_str(c("InvoiceNo"))
    code = F.upper(clean_str(c("StockCode")))
    raw_ts = clean_str(c("InvoiceDate"))
    ts = F.coalesce(F.try_to_timestamp(raw_ts), F.try_to_timestamp(raw_ts, F.lit("M/d/yyyy H:mm")))
    non_product = non_product_code(code, [*codes, "GIFT_*", "DCGS*"])
    return {
        "events": _standard(
            lines, "events",
            {
                S.USER_ID: _customer_id(c("CustomerID")), S.ITEM_ID: code,
                S.EVENT_TYPE: F.when(invoice.startswith("C"), F.lit(S.RETURN)).otherwise(F.lit(S.PURCHASE)),
                S.TS: F.coalesce(ts.cast("string"), raw_ts), S.ORDER_ID: invoice,
                S.QUANTITY: c("Quantity").cast("string"), S.PRICE: c("UnitPrice").cast("string"),
            },
            extras={"title": clean_str(c("Description")), "country": clean_str(c("Country"))},
            reject=F.when(non_product, F.lit(NON_PRODUCT_CODE)),
        )
    }


def _mode(df: DataFrame, key: str, value: str, alias: str) -> DataFrame:
    """The most frequent non-null ``value`` per ``key``; ties go to the smallest value."""
    counted = df.where(F.col(value).isNotNull()).groupBy(key, value).count()
    w = Window.partitionBy(key).orderBy(F.desc("count"), F.asc(value))
    return (counted.withColumn("_r", F.row_number().over(w)).where("_r = 1")
            .select(key, F.col(value).alias(alias)))


def derive_from_events(accepted: DataFrame, entities: tuple[str, ...] = ("products", "customers")
                       ) -> dict[str, DataFrame]:
    """Products and customers from accepted events, for a source that has none of its own: a product for each
    item, with its most frequent title (``_x_title``) and category (``_x_category``) where the events carry
    them and the median price it sold at; a customer for each user, with the date of their first event as
    signup date and their most frequent country (``_x_country``). Opt-in stays unknown (null), so a
    derived customer is never in an audience that needs consent."""
    out = {}
    extras = set(accepted.columns)
    if "products" in entities:
        sold = accepted.where(F.col(S.EVENT_TYPE) == S.PURCHASE)
        products = accepted.select(S.ITEM_ID).distinct()
        products = products.join(sold.groupBy(S.ITEM_ID).agg(F.percentile_approx(S.PRICE, 0.5).alias(S.PRICE)),
                                 S.ITEM_ID, "left")
        cols = {S.PRODUCT_ID: F.col(S.ITEM_ID), S.PRICE: F.col(S.PRICE).cast("string")}
        for attr in (S.TITLE, S.CATEGORY, S.BRAND, S.DESCRIPTION):
            if EXTRA_PREFIX + attr in extras:
                products = products.join(_mode(accepted, S.ITEM_ID, EXTRA_PREFIX + attr, attr), S.ITEM_ID, "left")
                cols[attr] = F.col(attr)
        if S.TITLE in cols and S.DESCRIPTION not in cols:
            cols[S.DESCRIPTION] = F.col(S.TITLE)
        out["products"] = _standard(products, "products", cols)
    if "customers" in entities:
        customers = accepted.groupBy(S.USER_ID).agg(F.min(S.TS).alias("_first"))
        cols = {S.CUSTOMER_ID: F.col(S.USER_ID), S.SIGNUP_DATE: F.to_date("_first").cast("string")}
        if EXTRA_PREFIX + "country" in extras:
            customers = customers.join(_mode(accepted, S.USER_ID, EXTRA_PREFIX + "country", S.COUNTRY),
                                       S.USER_ID, "left")
            cols[S.COUNTRY] = F.col(S.COUNTRY)
        out["customers"] = _standard(customers, "customers", cols)
    return out


def _online_retail_derive(accepted: DataFrame, _inputs: SourceInputs) -> dict[str, DataFrame]:
    return derive_from_events(accepted)


# --- MovieLens ----------------------------------------------------------------------------------------

ML_GENRES = ["unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
             "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller",
             "War", "Western"]


def _read_sep(spark: SparkSession, p: Path, sep: str, names: list[str], encoding: str = "UTF-8") -> DataFrame:
    """A MovieLens file: ``sep``-separated, no header, no quoting (a title may begin with a quote)."""
    df = csvfile.read(spark, str(p), what="movielens", sep=sep, header=False, encoding=encoding, quote="")
    found = len(df.columns) - 1
    if found < len(names):
        raise SourceError(f"{p}: expected {len(names)} columns separated by {sep!r}, found {found}")
    return df.toDF(*names, *df.columns[len(names):-1], csvfile.CORRUPT).select(*names, csvfile.CORRUPT)


def _movielens_land(spark: SparkSession, inputs: SourceInputs, run_date: date) -> dict[str, DataFrame]:
    root = _check_path(inputs.sources.movielens.path, "movielens")
    if (root / "u.data").exists():
        return {
            "ratings": _read_sep(spark, root / "u.data", "\t", ["user", "item", "rating", "unix_ts"]),
            "movies": _read_sep(spark, root / "u.item", "|",
                                ["item", "title", "release", "video_release", "url", *ML_GENRES], "ISO-8859-1"),
            "users": _read_sep(spark, root / "u.user", "|", ["user", "age", "gender", "occupation", "zip"]),
        }
    if (root / "ratings.dat").exists():
        return {
            "ratings": _read_sep(spark, root / "ratings.dat", "::", ["user", "item", "rating", "unix_ts"]),
            "movies": _read_sep(spark, root / "movies.dat", "::", ["item", "title", "genres"], "ISO-8859-1"),
            "users": _read_sep(spark, root / "users.dat", "::", ["user", "gender", "age", "occupation", "zip"]),
        }
    raise SourceError(f"{root} holds neither u.data (MovieLens 100k) nor ratings.dat (MovieLens 1M)")


def _movielens_standardize(landed: dict[str, DataFrame], _inputs: SourceInputs) -> dict[str, DataFrame]:
    r, m, u = landed["ratings"], landed["movies"], landed["users"]
    c = F.col
    ts = F.timestamp_seconds(clean_str(c("unix_ts")).try_cast("long")).cast("string")
    if "genres" in m.columns:
        genres = F.split(c("genres"), r"\|")
    else:
        genres = F.filter(
            F.array(*[F.when(clean_str(c(f"`{g}`")) == "1", F.lit(g)) for g in ML_GENRES]),
            lambda x: x.isNotNull(),
        )
    return {
        "events": _standard(r, "events", {
            S.USER_ID: c("user"), S.ITEM_ID: c("item"),
            S.EVENT_TYPE: F.lit(S.RATING_EVENT), S.TS: F.coalesce(ts, c("unix_ts")), S.RATING: c("rating"),
        }),
        "products": _standard(m, "products", {
            S.PRODUCT_ID: c("item"), S.TITLE: c("title"), S.DESCRIPTION: F.array_join(genres, " "),
            S.CATEGORY: F.try_element_at(genres, F.lit(1)),  # a movie with no genre flag has none
        }),
        "customers": _standard(u, "customers", {S.CUSTOMER_ID: c("user")}),
    }


# --- generic CSV --------------------------------------------------------------------------------------


_REQUIRED = {"events": (S.USER_ID, S.ITEM_ID, S.EVENT_TYPE, S.TS), "products": (S.PRODUCT_ID,),
             "customers": (S.CUSTOMER_ID,)}
EVENT_ATTRIBUTES = (S.TITLE, S.CATEGORY, S.BRAND, S.DESCRIPTION, S.COUNTRY)
"""Product and customer attributes an events mapping may carry, for the entities derived from events."""
_PLAIN_NAME = re.compile(r"^[^\W\d]\w*$")


def _mappable(entity: str) -> tuple[str, ...]:
    return ENTITY_COLUMNS[entity] + (EVENT_ATTRIBUTES if entity == "events" else ())


def check_csv(src: CsvSource) -> None:
    """The csv source's configuration, checked without reading anything (so before Spark starts).

    Raises:
        ConfigError: no events entity, or an entity that maps no source column (or constant) to a contract
            column every row needs.
    """
    if src.events is None:
        raise ConfigError("ingest.source is csv and sources.csv.events is not set: give its path and mapping")
    for entity in ENTITY_COLUMNS:
        e: CsvEntity | None = getattr(src, entity)
        if e is None:
            continue
        bad = [k for k in list(e.mapping) + list(e.constants) if k not in _mappable(entity)]
        if bad:
            raise ConfigError(f"sources.csv.{entity}: {bad} are not columns of the {entity} contract "
                              f"({', '.join(_mappable(entity))})")
        missing = [c for c in _REQUIRED[entity] if c not in e.mapping and c not in e.constants]
        if missing:
            raise ConfigError(f"sources.csv.{entity}.mapping must map {missing} (contract column: source column, "
                              f"or a constant under sources.csv.{entity}.constants); every row needs them")
        if entity != "events" and (e.returns or e.non_product_codes):
            raise ConfigError(f"sources.csv.{entity}: returns and non_product_codes apply to events only")


def unmapped_columns(inputs: SourceInputs, entity: str, columns: list[str]) -> list[str]:
    """The csv source's landed columns of ``entity`` that no mapping uses (other sources: none)."""
    e: CsvEntity | None = getattr(inputs.sources.csv, entity, None) if inputs.source == "csv" else None
    if e is None:
        return []
    text = " ".join([*e.mapping.values(), e.returns or "", *(lk.column for lk in e.lookups)])
    return [c for c in columns if c != csvfile.CORRUPT
            and not re.search(rf"(?<![\w]){re.escape(c)}(?![\w])", text)
            and not any(files.column_of(v, [c]) for v in e.mapping.values())]


def non_product_code(code: Column, codes: list[str]) -> Column:
    """True when ``code`` (upper-cased) is one of ``codes`` or starts with one ending in ``*``."""
    exact = [c.upper() for c in codes if not c.endswith("*")]
    prefixes = [c[:-1].upper() for c in codes if c.endswith("*")]
    out = code.isin(*exact) if exact else F.lit(False)
    for pre in prefixes:
        out = out | code.startswith(pre)
    return out


def _mapped(e: CsvEntity) -> list[tuple[str, str, str]]:
    """(key, value, the setting's name) of each mapping value and of ``returns``."""
    out = [(k, v, f"mapping.{k}") for k, v in e.mapping.items()]
    return out + ([("_returns", e.returns, "returns")] if e.returns else [])


def check_names(e: CsvEntity, entity: str, columns: list[str]) -> None:
    """Every mapping value that is a plain name names one of ``columns`` (as the file spells it or sanitised).

    Raises:
        ConfigError: one that does not, naming the setting and the file's columns.
    """
    for _, value, setting in _mapped(e):
        if _PLAIN_NAME.match(value.strip()) and files.column_of(value, columns) is None:
            raise ConfigError(f"sources.csv.{entity}.{setting}: {value!r} is not a column of {e.path} "
                              f"(columns: {', '.join(columns)})")


def mapped_columns(df: DataFrame, e: CsvEntity, entity: str) -> dict[str, Column]:
    """Each mapped contract column of ``entity`` as a column over ``df`` (the file joined with its lookups).

    Raises:
        ConfigError: a mapping names a column that is not there, or an expression outside the language of
            :mod:`tailor.sandbox` or that does not resolve over the file's columns.
    """
    spark = df.sparkSession
    columns = [c for c in df.columns if c != csvfile.CORRUPT]
    check_names(e, entity, columns)
    out: dict[str, Column] = {k: F.lit(v) for k, v in e.constants.items()}
    for key, value, setting in _mapped(e):
        where = f"sources.csv.{entity}.{setting}"
        col = files.as_column(value, columns, lambda text, w=where: sandbox.check_expression(
            spark, text, w, sandbox.SOURCE_FUNCTIONS, "source mappings", "the README, 'Your own data'"))
        try:
            df.select(col.alias("_probe"))  # analysed now: a misspelt column inside an expression
        except AnalysisException as err:
            raise ConfigError(f"{where}: {value!r} does not resolve over the columns of {e.path} "
                              f"({', '.join(columns)}): {first_line(err, 160)}") from None
        out[key] = col
    return out


def _csv_land(spark: SparkSession, inputs: SourceInputs, run_date: date) -> dict[str, DataFrame]:
    check_csv(inputs.sources.csv)
    out: dict[str, DataFrame] = {}
    for entity in ENTITY_COLUMNS:
        e: CsvEntity | None = getattr(inputs.sources.csv, entity)
        if e is None:
            continue
        df, renames = files.read(spark, e, f"sources.csv.{entity}")
        if renames:
            log.info("%s: column names Delta refuses are stored as %s", entity, renames)
        mapped_columns(files.lookup_joined(df, e.lookups, f"sources.csv.{entity}"), e, entity)  # fail early
        out[entity] = df
    return out


def _csv_standardize(landed: dict[str, DataFrame], inputs: SourceInputs) -> dict[str, DataFrame]:
    out = {}
    for entity, df in landed.items():
        e: CsvEntity = getattr(inputs.sources.csv, entity)
        joined = files.lookup_joined(df, e.lookups, f"sources.csv.{entity}", verify=False)  # land verified them
        cols = mapped_columns(joined, e, entity)
        returns = cols.pop("_returns", None)
        extras = {k: clean_str(cols.pop(k)) for k in EVENT_ATTRIBUTES if entity == "events" and k in cols}
        reject = None
        if entity == "events":
            if S.TS in cols and e.timestamp_format:
                raw = clean_str(cols[S.TS].cast("string"))
                cols[S.TS] = F.coalesce(F.try_to_timestamp(raw, F.lit(e.timestamp_format)).cast("string"), raw)
            if returns is not None:
                is_return = F.coalesce(returns.cast("boolean"), F.lit(False))
                cols[S.EVENT_TYPE] = F.when(is_return, F.lit(S.RETURN)).otherwise(cols.get(S.EVENT_TYPE))
                if S.QUANTITY in cols:
                    qty = clean_str(cols[S.QUANTITY].cast("string"))
                    cols[S.QUANTITY] = F.when(is_return, F.regexp_replace(qty, "^-", "")).otherwise(qty)
            if e.non_product_codes and S.ITEM_ID in cols:
                code = F.upper(clean_str(cols[S.ITEM_ID].cast("string")))
                reject = F.when(non_product_code(code, e.non_product_codes), F.lit(NON_PRODUCT_CODE))
        if entity == "customers" and S.SIGNUP_DATE in cols and (e.date_format or e.timestamp_format):
            raw = clean_str(cols[S.SIGNUP_DATE].cast("string"))
            fmt = e.date_format or e.timestamp_format
            cols[S.SIGNUP_DATE] = F.coalesce(F.to_date(F.try_to_timestamp(raw, F.lit(fmt))).cast("string"), raw)
        out[entity] = _standard(joined, entity, cols, extras=extras, reject=reject)
    return out


def _csv_clear(inputs: SourceInputs, entity: str) -> frozenset[str]:
    """The file's columns that the mapping sends to a non-personal contract column."""
    e: CsvEntity | None = getattr(inputs.sources.csv, entity, None)
    if e is None:
        return frozenset()
    plain = [v for k, v in e.mapping.items() if k not in S.PII_COLUMNS]
    return frozenset(plain) | frozenset(files.sanitize_name(v, -1) for v in plain)


def _csv_derive(accepted: DataFrame, inputs: SourceInputs) -> dict[str, DataFrame]:
    missing = tuple(e for e in ("products", "customers") if getattr(inputs.sources.csv, e) is None)
    return derive_from_events(accepted, missing)


ADAPTERS: dict[str, Adapter] = {
    "synthetic": Adapter("synthetic", _synthetic_land, _synthetic_standardize, _fixed({
        "events": ("event_id", "user_id", "product_id", "event_type", "event_time", "session_id", "order_id",
                   "quantity", "unit_price", "rating"),
        "products": _PRODUCT_COLS,
        "customers": (S.CUSTOMER_ID, S.SIGNUP_DATE, S.COUNTRY, S.MARKETING_OPT_IN)})),
    "online_retail": Adapter("online_retail", _online_retail_land, _online_retail_standardize,
                             _fixed({"events": tuple(OR_COLUMNS)}), _online_retail_derive, ("events",)),
    "movielens": Adapter("movielens", _movielens_land, _movielens_standardize, _fixed({
        # age, gender, occupation and zip code together re-identify people: hashed in quarantine
        "events": ("user", "item", "rating", "unix_ts"), "products": ("item", "title", "release", *ML_GENRES),
        "customers": ("user",)})),
    "csv": Adapter("csv", _csv_land, _csv_standardize, _csv_clear, _csv_derive),
}
