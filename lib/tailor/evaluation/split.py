"""Reproducible splits. Spark's ``randomSplit`` depends on partitioning; these depend only on the seed and
the rows' own values."""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from tailor import schemas as S


def per_user_split(
    df: DataFrame, train_ratio: float, seed: int, user: str = S.USER_ID, item: str = S.ITEM_ID
) -> tuple[DataFrame, DataFrame]:
    """Each user's rows in a seeded hash order; the first ``round(train_ratio * n)`` go to train, the rest to
    test (the per-user stratified split of the recommenders project, made partition-independent).

    Returns:
        (train, test), with ``df``'s columns.
    """
    h = F.xxhash64(F.lit(seed), F.col(user), F.col(item))
    w = Window.partitionBy(user).orderBy(h, F.col(item))
    ranked = df.withColumn("_i", F.row_number().over(w)).withColumn(
        "_n", F.count(F.lit(1)).over(Window.partitionBy(user))
    )
    is_train = F.col("_i") <= F.round(F.col("_n") * F.lit(train_ratio))
    cols = df.columns
    return ranked.where(is_train).select(*cols), ranked.where(~is_train).select(*cols)
