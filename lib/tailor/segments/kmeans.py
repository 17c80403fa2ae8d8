"""K-means on log-scaled, standardised customer features.

Each feature ``x`` becomes ``sign(x) * log(1 + |x|)`` (money and counts are heavy-tailed; a few big spenders
would otherwise own the clustering), nulls become 0, then every column is standardised to mean 0 and
standard deviation 1. k is the value in ``[k_min, k_max]`` with the highest silhouette (squared Euclidean,
Spark's ``ClusteringEvaluator``), the smaller k on a tie, measured on a seeded sample. Segment ids are then
renumbered so that 0 is the segment whose centre spends most, which keeps ids meaningful across runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.ml.clustering import KMeans, KMeansModel
from pyspark.ml.evaluation import ClusteringEvaluator
from pyspark.ml.feature import StandardScaler, StandardScalerModel, VectorAssembler
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.errors import InsufficientDataError

log = logging.getLogger(__name__)

VECTOR, SCALED, PREDICTION = "raw_vector", "features", "prediction"


def signed_log(c: Column) -> Column:
    c = F.coalesce(c.cast("double"), F.lit(0.0))
    return F.signum(c) * F.log1p(F.abs(c))


def to_vectors(features: Sequence[str], id_col: str = S.USER_ID) -> Callable[[DataFrame], DataFrame]:
    """``id_col`` and one vector column of the signed-log features."""

    def _(df: DataFrame) -> DataFrame:
        logged = df.select(id_col, *[signed_log(F.col(c)).alias(c) for c in features])
        return VectorAssembler(inputCols=list(features), outputCol=VECTOR).transform(logged).select(id_col, VECTOR)

    return _


def fit_scaler(vectors: DataFrame) -> StandardScalerModel:
    return StandardScaler(inputCol=VECTOR, outputCol=SCALED, withMean=True, withStd=True).fit(vectors)


def fit_kmeans(scaled: DataFrame, k: int, seed: int, max_iter: int) -> KMeansModel:
    return KMeans(k=k, seed=seed, maxIter=max_iter, featuresCol=SCALED, predictionCol=PREDICTION).fit(scaled)


def silhouette(model: KMeansModel, scaled: DataFrame) -> float:
    evaluator = ClusteringEvaluator(featuresCol=SCALED, predictionCol=PREDICTION, metricName="silhouette")
    return float(evaluator.evaluate(model.transform(scaled)))


def choose_k(scaled: DataFrame, k_min: int, k_max: int, seed: int,
             max_iter: int) -> tuple[int, dict[int, float], dict[int, KMeansModel]]:
    """The k in ``[k_min, k_max]`` with the best silhouette on ``scaled`` (smaller k on ties).

    Returns:
        (best k, {k: silhouette}, {k: the model fitted on ``scaled``}).
    """
    scores: dict[int, float] = {}
    models: dict[int, KMeansModel] = {}
    for k in range(k_min, k_max + 1):
        model = models[k] = fit_kmeans(scaled, k, seed, max_iter)
        if sum(1 for size in model.summary.clusterSizes if size > 0) < 2:
            continue  # fewer distinct points than k: silhouette is undefined
        scores[k] = silhouette(model, scaled)
        log.info("k=%d silhouette=%.4f", k, scores[k])
    if not scores:
        return k_min, {}, models
    best = max(scores, key=lambda k: (round(scores[k], 9), -k))
    return best, scores, models


@dataclass(frozen=True)
class Segmentation:
    """A fitted segmentation: scaler, K-means model, the id renumbering and one label per new id."""

    features: tuple[str, ...]
    scaler: StandardScalerModel
    model: KMeansModel
    order: dict[int, int]
    labels: dict[int, str]
    silhouettes: dict[int, float]

    @property
    def k(self) -> int:
        return len(self.order)

    def assign(self, df: DataFrame, id_col: str = S.USER_ID) -> DataFrame:
        """``id_col``, ``segment_id`` and ``segment`` for every row of ``df``."""
        scaled = self.scaler.transform(df.transform(to_vectors(self.features, id_col)))
        pred = self.model.transform(scaled)
        remap = F.create_map(*[F.lit(x) for kv in self.order.items() for x in kv])
        names = F.create_map(*[F.lit(x) for kv in self.labels.items() for x in kv])
        seg = remap[F.col(PREDICTION)]
        return pred.select(id_col, seg.cast("int").alias(S.SEGMENT_ID), names[seg].alias(S.SEGMENT))


def _order_and_labels(centres: list[list[float]], features: Sequence[str]) -> tuple[dict[int, int], dict[int, str]]:
    def coord(c: list[float], name: str) -> float | None:
        return c[features.index(name)] if name in features else None

    key = "monetary_total" if "monetary_total" in features else features[0]
    ranked = sorted(range(len(centres)), key=lambda i: (-centres[i][features.index(key)], i))
    order = {old: new for new, old in enumerate(ranked)}
    labels: dict[int, str] = {}
    for old, new in order.items():
        c = centres[old]
        value, recency = coord(c, "monetary_total"), coord(c, "recency_days")
        parts = []
        if value is not None:
            parts.append("high value" if value > 0.5 else "low value" if value < -0.5 else "mid value")
        if recency is not None:
            parts.append("lapsing" if recency > 0.5 else "active" if recency < -0.5 else "steady")
        labels[new] = ", ".join(parts) or f"segment {new}"
    seen: dict[str, int] = {}
    for new in sorted(labels):
        seen[labels[new]] = seen.get(labels[new], 0) + 1
    for new in sorted(labels):
        if seen[labels[new]] > 1:
            labels[new] = f"{labels[new]} ({new})"
    return order, labels


def segment(
    df: DataFrame,
    features: Sequence[str],
    k_min: int,
    k_max: int,
    seed: int,
    max_iter: int = 40,
    selection_sample_rows: int = 200_000,
    id_col: str = S.USER_ID,
) -> Segmentation:
    """Fit the segmentation on ``df`` (one row per customer): choose k on a sample, then fit on all rows.

    Raises:
        InsufficientDataError: ``df`` has fewer than two rows.
    """
    features = tuple(features)
    vectors = df.transform(to_vectors(features, id_col)).persist(StorageLevel.MEMORY_AND_DISK)
    n = vectors.count()
    if n < 2:
        vectors.unpersist()
        raise InsufficientDataError(f"K-means needs at least two customers with a purchase, found {n}")
    scaler = fit_scaler(vectors)
    scaled = scaler.transform(vectors).persist(StorageLevel.MEMORY_AND_DISK)
    sample = scaled if n <= selection_sample_rows else scaled.sample(fraction=selection_sample_rows / n, seed=seed)
    k, scores, models = choose_k(sample, k_min, min(k_max, n - 1) if n > k_min else k_min, seed, max_iter)
    # a search on every row already fitted the chosen k on them, with the same seed: the same model
    model = models[k] if sample is scaled and k in models else fit_kmeans(scaled, k, seed, max_iter)
    scaled.unpersist()
    vectors.unpersist()
    centres = [list(map(float, c)) for c in model.clusterCenters()]
    order, labels = _order_and_labels(centres, features)
    return Segmentation(features, scaler, model, order, labels, scores)


def profiles(
    assigned: DataFrame, features_df: DataFrame, features: Sequence[str], id_col: str = S.USER_ID
) -> DataFrame:
    """One row per segment: size, customer and revenue shares, and the mean of each feature (raw units).

    Revenue shares count each customer's net revenue from 0 up: a customer whose returns exceed their
    purchases (net negative) brings no revenue, so no segment has a negative share and the shares sum to 1."""
    joined = assigned.join(features_df, id_col)
    means = F.create_map(*[x for c in features for x in (F.lit(c), F.avg(F.col(c).cast("double")))])
    per = joined.groupBy(S.SEGMENT_ID, S.SEGMENT).agg(
        F.count(F.lit(1)).alias("size"),
        F.sum(F.greatest(F.col("monetary_total"), F.lit(0.0))).alias("revenue"),
        means.alias("feature_means"),
    )
    totals = per.agg(F.sum("size").alias("n"), F.sum("revenue").alias("rev"))
    return per.join(F.broadcast(totals), how="cross").select(
        S.SEGMENT_ID,
        S.SEGMENT,
        F.col("size"),
        (F.col("size") / F.col("n")).alias("customer_share"),
        F.coalesce(F.col("revenue") / F.when(F.col("rev") != 0, F.col("rev")), F.lit(0.0)).alias("revenue_share"),
        "feature_means",
    )
