"""Stable dense int ids for string ids, as ALS needs.

New ids are numbered after the current maximum, in id order, by ``zipWithIndex`` over a distributed sort
(no window over the whole table, nothing collected but one max). Existing ids are never renumbered.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType

from tailor import schemas as S
from tailor.errors import IdRangeError

INT_MAX = 2**31 - 1


def new_ids(ids: DataFrame, existing: DataFrame | None, kind: str, first_seen: date,
            id_col: str = S.EXTERNAL_ID, int_max: int = INT_MAX) -> DataFrame:
    """Rows of ``id_map`` for the ids of ``ids[id_col]`` that ``existing`` (an ``id_map`` for ``kind``, or
    None) lacks, numbered from its maximum + 1 in id order.

    Raises:
        IdRangeError: the new numbers would pass ``int_max``.
    """
    spark = ids.sparkSession
    distinct = ids.select(F.col(id_col).cast("string").alias(S.EXTERNAL_ID)).where(
        F.col(S.EXTERNAL_ID).isNotNull()
    ).distinct()
    start = 0
    if existing is not None:
        distinct = distinct.join(existing.select(S.EXTERNAL_ID), S.EXTERNAL_ID, "left_anti")
        top = existing.agg(F.max(S.IDX)).first()[0]
        start = 0 if top is None else int(top) + 1
    indexed = distinct.orderBy(S.EXTERNAL_ID).rdd.zipWithIndex().map(lambda p: (p[0][0], p[1]))
    schema = StructType([StructField(S.EXTERNAL_ID, StringType(), False), StructField("_i", LongType(), False)])
    numbered = spark.createDataFrame(indexed, schema).withColumn(S.IDX, F.col("_i") + F.lit(start))
    top_new = numbered.agg(F.max(S.IDX)).first()[0]
    if top_new is not None and top_new > int_max:
        raise IdRangeError(
            f"{kind} ids need index {top_new}, beyond the 32-bit limit {int_max} that Spark ALS accepts; "
            "reduce the id space (for example, drop long-inactive users) before training"
        )
    return numbered.select(
        F.lit(kind).alias(S.KIND), S.EXTERNAL_ID, F.col(S.IDX).cast("int").alias(S.IDX),
        F.lit(first_seen).alias(S.FIRST_SEEN),
    )
