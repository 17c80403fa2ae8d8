"""Similarity between entities (items, or users) that share a "basket" (a user, or an item).

The input is a sparse list ``(by, entity, value)``. A self-join on ``by`` with ``a.entity < b.entity``
enumerates only the pairs that co-occur, so the work is the sum over baskets of size², bounded by capping
basket sizes first (:func:`tailor.similarity.interactions.cap_per`). Per pair it accumulates, over the
baskets both share: ``co`` (count), ``dot`` = Σ x·y, ``sx``, ``sy``, ``sxx``, ``syy``. Then, with ``n_a`` and
``‖a‖`` over all of a's baskets:

================  =====================================================================================
cosine            dot / (‖a‖ ‖b‖), on the whole vectors: u=(0,1,0), v=(0,1,1) -> 1/√2 ≈ 0.707
jaccard           co / (n_a + n_b - co), on sets (values ignored)
pearson           the correlation of x and y over the co-rated baskets (values: ratings)
adjusted_cosine   Σ x'y' / √(Σ x'² Σ y'²) over co-rated baskets, x' = rating minus the basket's (user's)
                  mean rating (Sarwar et al., 2001)
================  =====================================================================================

Pairs with fewer than ``min_co`` shared baskets are dropped; scores are shrunk by ``co / (co + shrinkage)``
so that a pair seen twice cannot outrank one seen two hundred times; each entity keeps its ``top_k``
neighbours, ties broken by neighbour id.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from tailor.schemas import CO_COUNT, ENTITY, METHOD, NEIGHBOUR, SCORE

METHODS = ("cosine", "jaccard", "pearson", "adjusted_cosine")
RATING_METHODS = frozenset({"pearson", "adjusted_cosine"})


def center_by(by: str, value: str) -> Callable[[DataFrame], DataFrame]:
    """Subtract each ``by`` group's mean of ``value`` (the user mean, for adjusted cosine)."""

    def _(df: DataFrame) -> DataFrame:
        means = df.groupBy(by).agg(F.avg(value).alias("_mean"))
        return df.join(means, by).withColumn(value, F.col(value) - F.col("_mean")).drop("_mean")

    return _


def _sums(joined: DataFrame) -> DataFrame:
    return joined.groupBy("a", "b").agg(
        F.count(F.lit(1)).alias("co"),
        F.sum(F.col("x") * F.col("y")).alias("dot"),
        F.sum("x").alias("sx"),
        F.sum("y").alias("sy"),
        F.sum(F.col("x") * F.col("x")).alias("sxx"),
        F.sum(F.col("y") * F.col("y")).alias("syy"),
    )


def pair_stats(df: DataFrame, by: str, entity: str, value: str) -> DataFrame:
    """Sums over shared baskets for every co-occurring pair ``a < b`` (see the module docstring)."""
    a = df.select(F.col(by), F.col(entity).alias("a"), F.col(value).alias("x"))
    b = df.select(F.col(by), F.col(entity).alias("b"), F.col(value).alias("y"))
    return _sums(a.join(b, by).where(F.col("a") < F.col("b")))


def _entity_stats(df: DataFrame, entity: str, value: str) -> DataFrame:
    return df.groupBy(entity).agg(
        F.count(F.lit(1)).alias("n"), F.sqrt(F.sum(F.col(value) * F.col(value))).alias("norm")
    )


def _safe_div(num: Column, den: Column) -> Column:
    return F.when(den > 0, num / den)


def _score(method: str) -> Column:
    co, dot = F.col("co"), F.col("dot")
    if method == "cosine":
        return _safe_div(dot, F.col("norm_a") * F.col("norm_b"))
    if method == "jaccard":
        return _safe_div(co.cast("double"), F.col("n_a") + F.col("n_b") - co)
    if method == "pearson":
        num = co * dot - F.col("sx") * F.col("sy")
        den = F.sqrt((co * F.col("sxx") - F.col("sx") ** 2) * (co * F.col("syy") - F.col("sy") ** 2))
        return _safe_div(num, den)
    if method == "adjusted_cosine":
        return _safe_div(dot, F.sqrt(F.col("sxx") * F.col("syy")))
    raise ValueError(f"unknown similarity method {method!r}; choose from {METHODS}")


def _prepared(df: DataFrame, by: str, entity: str, value: str, method: str) -> DataFrame:
    if method not in METHODS:
        raise ValueError(f"unknown similarity method {method!r}; choose from {METHODS}")
    src = df.select(by, entity, F.col(value).cast("double").alias(value))
    if method == "jaccard":
        src = src.withColumn(value, F.lit(1.0))
    if method == "adjusted_cosine":
        src = src.transform(center_by(by, value))
    return src


def pair_table(src: DataFrame, by: str, entity: str, value: str, min_co: int) -> DataFrame:
    """Every co-occurring pair ``a < b`` with at least ``min_co`` shared baskets: the sums of
    :func:`pair_stats` and each side's basket count and norm (``n_a``, ``norm_a``, ``n_b``, ``norm_b``). The
    self-join is the whole cost of a similarity; the methods are cheap functions of this table."""
    return _with_sides(pair_stats(src, by, entity, value).where(F.col("co") >= min_co), src, entity, value)


def _with_sides(stats: DataFrame, src: DataFrame, entity: str, value: str) -> DataFrame:
    ent = _entity_stats(src, entity, value)
    sa = ent.select(F.col(entity).alias("a"), F.col("n").alias("n_a"), F.col("norm").alias("norm_a"))
    sb = ent.select(F.col(entity).alias("b"), F.col("n").alias("n_b"), F.col("norm").alias("norm_b"))
    return stats.join(sa, "a").join(sb, "b")


def _scored(pairs: DataFrame, method: str, shrinkage: float) -> DataFrame:
    return pairs.select(
        "a", "b", "co", (_score(method) * F.col("co") / (F.col("co") + F.lit(float(shrinkage)))).alias(SCORE)
    ).where(F.col(SCORE).isNotNull() & ~F.isnan(SCORE))


def neighbours(pairs: DataFrame, entity: str, method: str, shrinkage: float, top_k: int) -> DataFrame:
    """The top-``top_k`` neighbours of every entity by ``method``, from a :func:`pair_table`: ``entity``,
    ``neighbour``, ``score``, ``co_count``, ``method``, both directions of every pair."""
    scored = _scored(pairs, method, shrinkage)
    co = F.col("co").cast("int").alias(CO_COUNT)
    both = scored.select(F.col("a").alias(ENTITY), F.col("b").alias(NEIGHBOUR), SCORE, co).unionByName(
        scored.select(F.col("b").alias(ENTITY), F.col("a").alias(NEIGHBOUR), SCORE, co)
    )
    return both.transform(top_k_per(ENTITY, top_k, SCORE, NEIGHBOUR)).drop("rank").withColumn(METHOD, F.lit(method))


def similarity(
    df: DataFrame,
    by: str,
    entity: str,
    value: str,
    method: str = "cosine",
    min_co: int = 1,
    shrinkage: float = 0.0,
    top_k: int = 50,
    targets: DataFrame | None = None,
) -> DataFrame:
    """Top-``top_k`` neighbours of every entity of ``df`` (``by``, ``entity``, ``value``), or of the entities
    in ``targets`` (a column named ``entity``) only.

    For ``jaccard`` pass any non-null ``value``; for ``adjusted_cosine`` pass ratings (they are centred by
    ``by`` here, over every basket); for ``pearson`` pass ratings. With ``targets`` the join enumerates only
    the pairs with a target on one side, so its work falls with the targets' share of the entities
    (evaluation needs the neighbours of a test window's users, not of everyone).

    Returns:
        ``entity``, ``neighbour``, ``score``, ``co_count``, ``method``: both directions of every pair, or
        with ``targets`` the rows whose ``entity`` is a target.
    """
    src = _prepared(df, by, entity, value, method)
    if targets is None:
        return neighbours(pair_table(src, by, entity, value, min_co), entity, method, shrinkage, top_k)
    mine = src.join(targets.select(entity).distinct(), entity, "left_semi")
    a = mine.select(F.col(by), F.col(entity).alias("a"), F.col(value).alias("x"))
    b = src.select(F.col(by), F.col(entity).alias("b"), F.col(value).alias("y"))
    stats = _sums(a.join(b, by).where(F.col("a") != F.col("b"))).where(F.col("co") >= min_co)
    scored = _scored(_with_sides(stats, src, entity, value), method, shrinkage)
    return scored.select(F.col("a").alias(ENTITY), F.col("b").alias(NEIGHBOUR), SCORE,
                         F.col("co").cast("int").alias(CO_COUNT)).transform(
        top_k_per(ENTITY, top_k, SCORE, NEIGHBOUR)).drop("rank").withColumn(METHOD, F.lit(method))


SHARED_METHODS = frozenset({"cosine", "jaccard"})
"""Methods computed from one pair table of the raw values: jaccard reads only the counts, which the values
do not change, so cosine and jaccard of the same data need one self-join between them."""


def top_k_per(per: str, k: int, by: str, tie: str) -> Callable[[DataFrame], DataFrame]:
    """Keep each ``per`` value's ``k`` highest ``by`` rows, ties broken by ``tie`` ascending; adds ``rank``."""

    def _(df: DataFrame) -> DataFrame:
        w = Window.partitionBy(per).orderBy(F.desc(by), F.asc(tie))
        return df.withColumn("rank", F.row_number().over(w)).where(F.col("rank") <= k)

    return _
