"""Quarantine: how every reader of landed or exported rows marks what it refuses, and the shape refused rows
are kept in. Ingest, the stream and ``record-sends`` share it.

A *flagged* frame has ``reason`` (null: accepted) and ``_record`` (the landed row as JSON). An adapter may add
``_reject`` with its own reason, which wins over every rule; columns named ``_x_*`` ride along unvalidated.
:func:`accepted` gives the contract rows, :func:`rejected` the ``quarantine`` rows.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import StringType, StructType

from tailor import schemas as S

REASON = "reason"
RECORD = "_record"
REJECT = "_reject"
EXTRA_PREFIX = "_x_"
CONTENT = "_content"
"""The hash of a row's typed, normalised values: what duplicates are compared on."""

DUPLICATE = "duplicate"
DUPLICATE_ID = "duplicate_id"
WRONG_COLUMN_COUNT = "wrong_column_count"


def blank(c: Column) -> Column:
    """Null, or only white space."""
    return c.isNull() | (F.trim(c.cast(StringType())) == "")


def clean_str(c: Column) -> Column:
    """Trimmed string, null when blank."""
    s = F.trim(c.cast(StringType()))
    return F.when(s == "", None).otherwise(s)


def content_hash(cols: list[Column]) -> Column:
    """SHA-256 of the values' JSON (nulls kept), as 64 hex digits."""
    return F.sha2(F.to_json(F.struct(*cols), {"ignoreNullFields": "false"}), 256)


def flag(df: DataFrame, rules: list[tuple[str, Column]]) -> DataFrame:
    """Add ``reason``: the first rule whose condition holds (null-safe), else null."""
    whens = [F.when(F.coalesce(cond, F.lit(False)), F.lit(reason)) for reason, cond in rules]
    if REJECT in df.columns:
        whens.insert(0, F.col(REJECT))
    return df.withColumn(REASON, F.coalesce(*whens) if whens else F.lit(None).cast("string"))


def flag_duplicates(key: str, content: str = CONTENT) -> Callable[[DataFrame], DataFrame]:
    """Among rows not yet rejected: a row whose ``content`` (by default the hash of its typed, normalised
    values) repeats an earlier one's under the same ``key`` is a ``duplicate``; of the distinct contents
    sharing one ``key``, the smallest is kept and the others are ``duplicate_id``."""

    def _(df: DataFrame) -> DataFrame:
        live = F.col(REASON).isNull()
        copies = Window.partitionBy(key, content, live).orderBy(F.lit(1))
        versions = Window.partitionBy(key, live).orderBy(content)
        return (
            df.withColumn("_copy", F.row_number().over(copies))
            .withColumn("_version", F.dense_rank().over(versions))
            .withColumn(REASON, F.when(live & (F.col("_copy") > 1), F.lit(DUPLICATE))
                        .when(live & (F.col("_version") > 1), F.lit(DUPLICATE_ID))
                        .otherwise(F.col(REASON)))
            .drop("_copy", "_version")
        )

    return _


def accepted(flagged: DataFrame, schema: StructType, source: str, ingest_date: date) -> DataFrame:
    """The accepted rows of a flagged frame, in contract shape."""
    return (
        flagged.where(F.col(REASON).isNull())
        .withColumn(S.SOURCE, F.lit(source))
        .withColumn(S.INGEST_DATE, F.lit(ingest_date))
        .select(*[F.col(f.name).cast(f.dataType) for f in schema.fields])
    )


def rejected(flagged: DataFrame, source: str, entity: str) -> DataFrame:
    """The quarantined rows of a flagged frame, in quarantine shape (run_date is set on write)."""
    return flagged.where(F.col(REASON).isNotNull()).select(
        F.lit(source).alias(S.SOURCE),
        F.lit(entity).alias("entity"),
        F.col(REASON).alias("reason"),
        F.col(RECORD).alias("record"),
    )


def record_json(df: DataFrame) -> Column:
    """The landed row as JSON, keeping nulls, for ``_record``."""
    return F.to_json(F.struct(*[F.col(c) for c in df.columns]), {"ignoreNullFields": "false"})
