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

The self-join is the plan every method has. Cosine and jaccard of at most ``local_max_rows`` rows take the
grouped plan of :mod:`tailor.similarity.local` instead: the same neighbours, 2-4× faster.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from functools import reduce

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from tailor.schemas import CO_COUNT, ENTITY, METHOD, NEIGHBOUR, SCORE
from tailor.similarity.local import GROUPED_METHODS, LOCAL_MAX_ROWS, group_count, grouped_neighbours

log = logging.getLogger(__name__)

METHODS = ("cosine", "jaccard", "pearson", "adjusted_cosine")
RATING_METHODS = frozenset({"pearson", "adjusted_cosine"})


def center_by(by: str, value: str) -> Callable[[DataFrame], DataFrame]:
    """Subtract each ``by`` group's mean of ``value`` (the user mean, for adjusted cosine)."""

    def _(df: DataFrame) -> DataFrame:
        means = df.groupBy(by).agg(F.avg(value).alias("_mean"))
        return df.join(means, by).withColumn(value, F.col(value) - F.col("_mean")).drop("_mean")

    return _


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


def pair_table(df: DataFrame, by: str, entity: str, value: str, min_co: int = 1, method: str = "cosine",
               targets: DataFrame | None = None) -> DataFrame:
    """The pairs that share at least ``min_co`` baskets, with their sums over the shared baskets (``co``,
    ``dot``, ``sx``, ``sy``, ``sxx``, ``syy``; see the module docstring) and each side's basket count and norm
    (``n_a``, ``norm_a``, ``n_b``, ``norm_b``), the values prepared for ``method``. The self-join is the whole
    cost of a similarity; the methods are cheap functions of this table.

    Every pair once as ``a < b``; with ``targets`` (a column named ``entity``), only the pairs with a target
    ``a`` and any other ``b``, so the join's work falls with the targets' share of the entities.
    """
    src = _prepared(df, by, entity, value, method)  # centred over every basket, targets or not
    left = src if targets is None else src.join(targets.select(entity).distinct(), entity, "left_semi")
    a = left.select(F.col(by), F.col(entity).alias("a"), F.col(value).alias("x"))
    b = src.select(F.col(by), F.col(entity).alias("b"), F.col(value).alias("y"))
    keep = F.col("a") < F.col("b") if targets is None else F.col("a") != F.col("b")
    stats = a.join(b, by).where(keep).groupBy("a", "b").agg(
        F.count(F.lit(1)).alias("co"),
        F.sum(F.col("x") * F.col("y")).alias("dot"),
        F.sum("x").alias("sx"),
        F.sum("y").alias("sy"),
        F.sum(F.col("x") * F.col("x")).alias("sxx"),
        F.sum(F.col("y") * F.col("y")).alias("syy"),
    ).where(F.col("co") >= min_co)
    ent = _entity_stats(src, entity, value)
    sa = ent.select(F.col(entity).alias("a"), F.col("n").alias("n_a"), F.col("norm").alias("norm_a"))
    sb = ent.select(F.col(entity).alias("b"), F.col("n").alias("n_b"), F.col("norm").alias("norm_b"))
    return stats.join(sa, "a").join(sb, "b")


def neighbours(pairs: DataFrame, method: str | Sequence[str], shrinkage: float, top_k: int,
               both_ways: bool = True) -> DataFrame:
    """The top-``top_k`` neighbours by ``method`` (or by each of several, in one pass over ``pairs``) from a
    :func:`pair_table`: ``entity``, ``neighbour``, ``score``, ``co_count``, ``method``; ``both_ways`` for a
    table of pairs ``a < b`` (every entity's neighbours), not for one built with ``targets`` (each
    target's neighbours)."""
    methods = [method] if isinstance(method, str) else list(method)
    shrunk = F.array(*[F.struct(F.lit(m).alias(METHOD), (_score(m) * F.col("co") / (
        F.col("co") + F.lit(float(shrinkage)))).alias(SCORE)) for m in methods])
    scored = pairs.select("a", "b", "co", F.explode(shrunk).alias("_m")).select(
        "a", "b", "co", F.col(f"_m.{METHOD}").alias(METHOD), F.col(f"_m.{SCORE}").alias(SCORE)
    ).where(F.col(SCORE).isNotNull() & ~F.isnan(SCORE))
    co = F.col("co").cast("int").alias(CO_COUNT)
    rows = scored.select(F.col("a").alias(ENTITY), F.col("b").alias(NEIGHBOUR), SCORE, co, METHOD)
    if both_ways:
        rows = rows.unionByName(scored.select(F.col("b").alias(ENTITY), F.col("a").alias(NEIGHBOUR), SCORE, co,
                                              METHOD))
    w = Window.partitionBy(ENTITY, METHOD).orderBy(F.desc(SCORE), F.asc(NEIGHBOUR))
    return rows.withColumn("_r", F.row_number().over(w)).where(F.col("_r") <= top_k).select(
        ENTITY, NEIGHBOUR, SCORE, CO_COUNT, METHOD)


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
    local_max_rows: int = LOCAL_MAX_ROWS,
    rows: int | None = None,
) -> DataFrame:
    """Top-``top_k`` neighbours of every entity of ``df`` (``by``, ``entity``, ``value``), or of the entities
    in ``targets`` (a column named ``entity``) only.

    For ``jaccard`` pass any non-null ``value``; for ``adjusted_cosine`` pass ratings (they are centred by
    ``by`` here, over every basket); for ``pearson`` pass ratings. With ``targets`` the join enumerates only
    the pairs with a target on one side (evaluation needs the neighbours of a test window's users, not of
    everyone).

    Args:
        local_max_rows: cosine and jaccard of at most this many rows of ``df`` are computed by the grouped
            plan (:mod:`tailor.similarity.local`), larger ones and the other methods by the self-join; 0
            always joins.
        rows: the number of rows of ``df``, or a bound above it, when the caller knows it; counted otherwise.

    Returns:
        ``entity``, ``neighbour``, ``score``, ``co_count``, ``method``: both directions of every pair, or
        with ``targets`` the rows whose ``entity`` is a target.
    """
    return similarities(df, by, entity, value, [method], min_co, shrinkage, top_k, targets, local_max_rows,
                        rows)


def similarities(df: DataFrame, by: str, entity: str, value: str, methods: list[str], min_co: int = 1,
                 shrinkage: float = 0.0, top_k: int = 50, targets: DataFrame | None = None,
                 local_max_rows: int = LOCAL_MAX_ROWS, rows: int | None = None) -> DataFrame:
    """:func:`similarity` by each of ``methods`` (one frame, told apart by ``method``). Cosine and jaccard
    share one pass, grouped or joined; a caller writing them apart should persist the result."""
    for m in methods:
        if m not in METHODS:
            raise ValueError(f"unknown similarity method {m!r}; choose from {METHODS}")
    shared = [m for m in methods if m in SHARED_METHODS]
    out = [similarity_joined(df, by, entity, value, m, min_co, shrinkage, top_k, targets)
           for m in methods if m not in SHARED_METHODS]
    if shared:
        src = _prepared(df, by, entity, value, "cosine")  # jaccard reads only the counts
        if local_max_rows > 0 and (rows if rows is not None else src.count()) <= local_max_rows:
            groups = group_count(df.sparkSession)
            out.append(grouped_neighbours(src, by, entity, value, shared, min_co, shrinkage, top_k, targets,
                                          groups))
        else:
            log.info("%s similarity by a self-join: over local_max_rows = %d rows", entity, local_max_rows)
            pairs = pair_table(df, by, entity, value, min_co, "cosine", targets)
            out.append(neighbours(pairs, shared, shrinkage, top_k, both_ways=targets is None))  # one pass
    return reduce(DataFrame.unionByName, out)


def similarity_joined(df: DataFrame, by: str, entity: str, value: str, method: str = "cosine", min_co: int = 1,
                      shrinkage: float = 0.0, top_k: int = 50, targets: DataFrame | None = None) -> DataFrame:
    """:func:`similarity` by the self-join, whatever the size: the plan every method has."""
    pairs = pair_table(df, by, entity, value, min_co, method, targets)
    return neighbours(pairs, method, shrinkage, top_k, both_ways=targets is None)


SHARED_METHODS = GROUPED_METHODS
"""Methods computed in one pass over the raw values (one pair table, or one grouped plan): jaccard reads only
the counts, which the values do not change, and cosine only the dot products and norms."""


def top_k_per(per: str, k: int, by: str, tie: str) -> Callable[[DataFrame], DataFrame]:
    """Keep each ``per`` value's ``k`` highest ``by`` rows, ties broken by ``tie`` ascending; adds ``rank``."""

    def _(df: DataFrame) -> DataFrame:
        w = Window.partitionBy(per).orderBy(F.desc(by), F.asc(tie))
        return df.withColumn("rank", F.row_number().over(w)).where(F.col("rank") <= k)

    return _
