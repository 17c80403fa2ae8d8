"""Sparse-matrix helpers shared by the grouped plans, and the grouped plan of cosine and jaccard neighbours.

The self-join of :func:`tailor.similarity.pairs.pair_table` makes one row per pair per shared basket (Σ over
baskets of size², 24 M rows for the M shop's users) and shuffles them all to be summed. The grouped plan
hashes the entities into groups instead. Each group receives, by one join, every row of every basket that
holds one of its entities: a basket reaches at most ``min(size, groups)`` groups, never more rows than the
join makes. The group then computes its entities' sums with two sparse products, ``Pᵀ P`` (shared baskets)
and ``Xᵀ X`` (dot products), on its own rows only, and keeps each entity's ``top_k`` neighbours.

Each row carries its entity's basket count and norm over all the baskets (computed in Spark first), because
a group sees only the baskets that touch its own entities. Scores are the pair table's formulas, so jaccard
is bit-identical to the join and cosine differs only in the order of a sum's terms.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from tailor.schemas import CO_COUNT, ENTITY, METHOD, NEIGHBOUR, SCORE

LOCAL_MAX_ROWS = 2_000_000
"""Default bound on the rows a grouped plan may hold in one task (or, for item-CF, on the driver)."""
GROUPED_METHODS = frozenset({"cosine", "jaccard"})
"""The methods the grouped plan computes (they need only co, dot, n and the norms)."""
CHUNK_TERMS = 4_000_000
"""A group's entities are scored in chunks whose products have at most about this many terms."""
SIM_SCHEMA = f"{ENTITY} string, {NEIGHBOUR} string, {SCORE} double, {CO_COUNT} int, {METHOD} string"
_ARROW_SCHEMA = pa.schema([(ENTITY, pa.string()), (NEIGHBOUR, pa.string()), (SCORE, pa.float64()),
                           (CO_COUNT, pa.int32()), (METHOD, pa.string())])
_TO, _OWN, _N, _NORM = "_to", "_own", "_n", "_norm"


def product(a, b) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, value) of every entry of ``a @ b`` that has at least one term, as a join would give:
    a sparse product leaves out sums that are exactly 0, possible only with a value <= 0, so then the
    entries of the product of the patterns that are missing come back as 0."""
    out = (a @ b).tocsr()
    rows = np.repeat(np.arange(out.shape[0]), np.diff(out.indptr))
    cols, vals = out.indices.astype(np.int64), out.data
    if (a.data > 0).all() and (b.data > 0).all():
        return rows, cols, vals
    pa, pb = a.copy(), b.copy()
    pa.data[:], pb.data[:] = 1.0, 1.0
    terms = (pa @ pb).tocsr()
    t_rows = np.repeat(np.arange(terms.shape[0]), np.diff(terms.indptr))
    t_cols = terms.indices.astype(np.int64)
    gone = ~np.isin(t_rows * out.shape[1] + t_cols, rows * out.shape[1] + cols)
    return (np.concatenate([rows, t_rows[gone]]), np.concatenate([cols, t_cols[gone]]),
            np.concatenate([vals, np.zeros(int(gone.sum()))]))


def best(u: np.ndarray, j: np.ndarray, v: np.ndarray, columns: int, own: np.ndarray,
         top_n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(row, column, score, 0-based rank) of each row's ``top_n`` best entries (``u``, ``j``, ``v``)
    (score descending, column ascending), leaving out the entries whose ``row · columns + column`` is in
    ``own``."""
    keep = ~np.isin(u * columns + j, own)
    u, j, v = u[keep], j[keep], v[keep]
    top, rank = top_positions(u, j, v, top_n)
    return u[top], j[top], v[top], rank


def top_positions(u: np.ndarray, j: np.ndarray, v: np.ndarray, top_n: int) -> tuple[np.ndarray, np.ndarray]:
    """(positions, 0-based ranks) of each row's ``top_n`` best entries (row ``u``, column ``j``, score
    ``v``): rows ascending, then score descending, then column ascending."""
    order = np.lexsort((j, -v, u))
    rank = np.arange(len(order)) - np.searchsorted(u[order], u[order], side="left")
    keep = rank < top_n
    return order[keep], rank[keep]


_KEYS: dict[int, list[int]] = {}


def partition_keys(spark: SparkSession, groups: int) -> list[int]:
    """``groups`` long keys that a shuffle on ``spark.sql.shuffle.partitions`` (at least ``groups``) sends
    to distinct partitions. Group numbers 0, 1, ... themselves often share one (Spark hashes them), and a
    shared partition runs its groups one after the other: half the cores idle with two groups."""
    n = int(spark.conf.get("spark.sql.shuffle.partitions"))
    if groups > n:
        raise ValueError(f"{groups} groups need at least as many shuffle partitions, not {n}")
    if n not in _KEYS:
        found = spark.range(64 * n).groupBy(F.pmod(F.hash("id"), F.lit(n)).alias("p")).agg(F.min("id").alias("k"))
        _KEYS[n] = [r["k"] for r in sorted(found.collect(), key=lambda r: r["p"])]  # n rows
        if len(_KEYS[n]) < n:
            raise RuntimeError(f"no key found for some of {n} shuffle partitions")
    return _KEYS[n][:groups]


def group_of(c: str, keys: list[int]) -> Column:
    """The partition key of ``c``'s group: one of ``keys``, by a hash of ``c``."""
    pick = F.pmod(F.xxhash64(c), F.lit(len(keys))).cast("int")
    return F.array(*[F.lit(k) for k in keys])[pick]


def group_count(spark: SparkSession) -> int:
    """Groups for a grouped plan: one per core, at most ``spark.sql.shuffle.partitions``. Each group costs a
    copy of the rows it needs, so more groups than the cores can run adds copies, not speed (M, user-user:
    6.5 s with two groups on two cores, 8.6 s with four)."""
    n = int(spark.conf.get("spark.sql.shuffle.partitions"))
    return max(1, min(n, spark.sparkContext.defaultParallelism))


def grouped_neighbours(src: DataFrame, by: str, entity: str, value: str, methods: list[str], min_co: int,
                       shrinkage: float, top_k: int, targets: DataFrame | None, groups: int) -> DataFrame:
    """The ``top_k`` neighbours of every entity of ``src`` (``by``, ``entity``, ``value``; one row per
    (by, entity)), or of each entity in ``targets``, by each of ``methods`` (cosine, jaccard), computed by
    ``groups`` groups of entities as the module docstring describes. Same columns and rows as
    :func:`tailor.similarity.pairs.neighbours`, with ``method``."""
    unknown = set(methods) - GROUPED_METHODS
    if unknown:
        raise ValueError(f"the grouped plan computes {sorted(GROUPED_METHODS)}, not {sorted(unknown)}")
    keys = partition_keys(src.sparkSession, groups)
    per = Window.partitionBy(entity)  # the stats in the same pass as the rows: src is read once
    rows = src.select(by, entity, value, F.count(F.lit(1)).over(per).alias(_N),
                      F.sqrt(F.sum(F.col(value) ** 2).over(per)).alias(_NORM), group_of(entity, keys).alias("_g"))
    if targets is None:
        rows = rows.withColumn("_t", F.lit(True))
    else:
        wanted = targets.select(entity).distinct().withColumn("_t", F.lit(True))
        rows = rows.join(wanted, entity, "left").withColumn("_t", F.coalesce("_t", F.lit(False)))
    touched = rows.where("_t").select(by, F.col("_g").alias(_TO)).distinct()
    reach = rows.join(touched, by).select(
        _TO, F.col(by).alias("_by"), F.col(entity).alias("_e"), F.col(value).cast("double").alias("_v"),
        _N, _NORM, (F.col("_t") & (F.col("_g") == F.col(_TO))).alias(_OWN))

    def score(group: pa.Table) -> pa.Table:
        return _group_neighbours(group, list(methods), min_co, shrinkage, top_k)

    return reach.groupBy(_TO).applyInArrow(score, SIM_SCHEMA)


def sorted_codes(values: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """(each value's index in the sorted distinct values, those values), in Arrow: no Python strings."""
    distinct = pc.unique(values)
    distinct = pc.take(distinct, pc.sort_indices(distinct))  # byte order, as Spark sorts strings
    return pc.index_in(values, value_set=distinct).to_numpy(zero_copy_only=False).astype(np.int64), distinct


def _group_neighbours(group: pa.Table, methods: list[str], min_co: int, shrinkage: float,
                      top_k: int) -> pa.Table:
    """One group's neighbours: its own entities (``_own``) against every entity of the baskets it got."""
    from scipy import sparse

    row, baskets = sorted_codes(group.column("_by"))
    col, names = sorted_codes(group.column("_e"))  # a column orders like its id (the ties' order)
    first = np.zeros(len(names), np.int64)
    first[col[::-1]] = np.arange(len(col))[::-1]  # a row of each entity, for its n and norm
    n = group.column(_N).to_numpy().astype(np.float64)[first]
    norm = group.column(_NORM).to_numpy().astype(np.float64)[first]
    v = np.nan_to_num(pc.fill_null(group.column("_v"), 0.0).to_numpy())  # a null adds nothing, as in Spark
    shape = (len(baskets), len(names))
    x = sparse.csc_matrix((v, (row, col)), shape=shape)
    p = sparse.csc_matrix((np.ones(len(row)), (row, col)), shape=shape)
    x.sort_indices()  # canonical, whatever order the rows came in: the same sums on every run
    p.sort_indices()
    mine = group.column(_OWN).to_numpy().astype(bool)
    own = np.flatnonzero(np.bincount(col[mine], minlength=len(names)))
    sizes = np.asarray(p.sum(axis=1)).ravel()
    terms = np.cumsum(p[:, own].T @ sizes)  # the product's terms per own entity, an upper bound of its nnz
    cuts = np.searchsorted(terms, np.arange(CHUNK_TERMS, terms[-1] if len(terms) else 0, CHUNK_TERMS))
    parts = [_chunk(x, p, own[lo:hi], n, norm, methods, min_co, shrinkage, top_k)
             for lo, hi in zip(np.r_[0, cuts], np.r_[cuts, len(own)], strict=True) if hi > lo]
    if not parts:
        return _ARROW_SCHEMA.empty_table()
    a, b, s, c, m = (np.concatenate(z) for z in zip(*parts, strict=True))
    return pa.Table.from_arrays([
        pc.take(names, pa.array(a)), pc.take(names, pa.array(b)), pa.array(s, pa.float64()),
        pa.array(c.astype(np.int32)), pc.take(pa.array(methods, pa.string()), pa.array(m)),
    ], schema=_ARROW_SCHEMA)


def _chunk(x, p, own: np.ndarray, n: np.ndarray, norm: np.ndarray, methods: list[str], min_co: int,
           shrinkage: float, top_k: int) -> tuple[np.ndarray, ...]:
    """(entity, neighbour, score, co, method index) of the neighbours of the entities ``own`` (column
    indices of ``x`` and ``p``) by each method."""
    co = (p[:, own].T @ p).tocsr()  # counts are >= 1, so no entry is missing
    co.sort_indices()
    width = p.shape[1]
    a = np.repeat(np.arange(co.shape[0]), np.diff(co.indptr))
    b = co.indices.astype(np.int64)
    c = co.data
    keep = (c >= min_co) & (own[a] != b)
    a, b, c = a[keep], b[keep], c[keep]
    out = []
    for i, method in enumerate(methods):
        if method == "cosine":
            dots = (x[:, own].T @ x).tocsr()  # may leave out sums of exactly 0: read at the counts' entries
            dots.sort_indices()
            d_keys = np.repeat(np.arange(dots.shape[0]), np.diff(dots.indptr)) * width + dots.indices
            keys = a * width + b
            dot = np.zeros(len(keys))
            if len(d_keys):
                at = np.minimum(np.searchsorted(d_keys, keys), len(d_keys) - 1)
                hit = d_keys[at] == keys
                dot[hit] = dots.data[at[hit]]
            den = norm[own[a]] * norm[b]
            with np.errstate(divide="ignore", invalid="ignore"):
                s = np.where(den > 0, dot / den, np.nan)
        else:
            s = c / (n[own[a]] + n[b] - c)
        s = s * c / (c + float(shrinkage))
        ok = np.flatnonzero(~np.isnan(s))
        top = ok[top_positions(a[ok], b[ok], s[ok], top_k)[0]]  # score descending, then neighbour id
        out.append((own[a[top]], b[top], s[top], c[top], np.full(len(top), i)))
    return tuple(np.concatenate(z) for z in zip(*out, strict=True))
