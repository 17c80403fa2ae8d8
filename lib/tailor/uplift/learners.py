"""T- and X-learners of the uplift τ(x) = P(buy | treated, x) − P(buy | control, x) on Spark GBT.

* **T-learner**: one classifier per arm, μ₁ on the treated and μ₀ on the controls; τ = μ₁ − μ₀.
* **X-learner** (Künzel, Sekhon, Bickel and Yu 2019): from the T-learner's μ's, each treated customer's
  imputed effect D₁ = y − μ₀(x) and each control's D₀ = μ₁(x) − y; a regressor per arm learns τ₁ from D₁
  and τ₀ from D₀, and τ = e·τ₀ + (1 − e)·τ₁ with e the treated share, which the experiment fixed (no
  propensity model is needed: assignment was random). Each arm's regressor learns where that arm has the
  data, so it does better than the T-learner when the arms differ in size, as an 80/20 split makes them.

Features: the numeric columns given, median-imputed and assembled; the models are plain Spark ML pipelines
(Imputer, VectorAssembler, GBTClassifier or GBTRegressor), seeded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import GBTClassifier
from pyspark.ml.feature import Imputer, VectorAssembler
from pyspark.ml.functions import vector_to_array
from pyspark.ml.regression import GBTRegressor
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from tailor.propensity.model import stable

TREATED, OUTCOME, UPLIFT = "treated", "y", "uplift"
LEARNERS = ("t", "x")


@dataclass(frozen=True)
class Settings:
    numeric: tuple[str, ...]
    seed: int = 42
    max_iter: int = 30
    max_depth: int = 3
    fit_partitions: int = 1
    """The training rows are laid out in this many partitions, sorted by user (``propensity.model.stable``):
    a GBT's split statistics are sums over partitions, so only a fixed layout gives the same models whatever
    the partitions of the rows given (the shuffle partitions, a cluster). 1: bit-for-bit the same."""


def _pipeline(estimator, numeric: Sequence[str]) -> Pipeline:
    imputed = [f"_imp_{c}" for c in numeric]
    return Pipeline(stages=[Imputer(inputCols=list(numeric), outputCols=imputed, strategy="median"),
                            VectorAssembler(inputCols=imputed, outputCol="_x", handleInvalid="keep"), estimator])


def _classifier(rows: DataFrame, s: Settings) -> PipelineModel:
    est = GBTClassifier(featuresCol="_x", labelCol="_label", maxIter=s.max_iter, maxDepth=s.max_depth, seed=s.seed)
    return _pipeline(est, s.numeric).fit(rows.withColumn("_label", F.col(OUTCOME).cast("double")))


def _regressor(rows: DataFrame, label: str, s: Settings) -> PipelineModel:
    est = GBTRegressor(featuresCol="_x", labelCol=label, predictionCol="_pred", maxIter=s.max_iter,
                       maxDepth=s.max_depth, seed=s.seed)
    return _pipeline(est, s.numeric).fit(rows)


def _predict(model: PipelineModel, rows: DataFrame, out: str) -> DataFrame:
    """``rows`` with ``out``: the positive class's probability of a classifier, or a regressor's prediction."""
    got = model.transform(rows)
    value = vector_to_array("probability")[1] if "probability" in got.columns else F.col("_pred")
    return got.select(*rows.columns, value.alias(out))


@dataclass(frozen=True)
class Fitted:
    """A fitted learner: ``kind`` t or x, the arm models, and the treated share e of the training rows."""

    kind: str
    mu1: PipelineModel
    mu0: PipelineModel
    tau1: PipelineModel | None
    tau0: PipelineModel | None
    treated_share: float

    def uplift(self, rows: DataFrame) -> DataFrame:
        """``rows`` with ``uplift`` (and ``conversion``: the predicted conversion rate if the arms were mixed
        as in the experiment, e·μ₁ + (1 − e)·μ₀, the propensity to buy that uplift is compared against)."""
        both = _predict(self.mu0, _predict(self.mu1, rows, "_mu1"), "_mu0")
        e = F.lit(self.treated_share)
        both = both.withColumn("conversion", e * F.col("_mu1") + (1 - e) * F.col("_mu0"))
        if self.kind == "t":
            return both.withColumn(UPLIFT, F.col("_mu1") - F.col("_mu0")).drop("_mu1", "_mu0")
        taus = _predict(self.tau0, _predict(self.tau1, both, "_tau1"), "_tau0")
        return taus.withColumn(UPLIFT, e * F.col("_tau0") + (1 - e) * F.col("_tau1")).drop(
            "_mu1", "_mu0", "_tau1", "_tau0")


def fit(rows: DataFrame, kinds: Sequence[str], s: Settings) -> dict[str, Fitted]:
    """Fit the ``kinds`` learners on ``rows`` (``user_id``, the numeric features, ``treated`` boolean, ``y``
    0/1), laid out by :func:`~tailor.propensity.model.stable` in ``s.fit_partitions`` partitions. They share
    the arm classifiers μ₁ and μ₀: the X-learner's first stage is the T-learner, fitted once."""
    unknown = [k for k in kinds if k not in LEARNERS]
    if unknown:
        raise ValueError(f"unknown uplift learner {unknown[0]!r}: {LEARNERS}")
    laid = stable(rows, s.fit_partitions).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        return _fit(laid, kinds, s)
    finally:
        laid.unpersist()


def _fit(rows: DataFrame, kinds: Sequence[str], s: Settings) -> dict[str, Fitted]:
    treated, control = rows.where(F.col(TREATED)), rows.where(~F.col(TREATED))
    c = rows.agg(F.count(F.lit(1)).alias("n"), F.sum(F.col(TREATED).cast("int")).alias("t")).first()
    share = float(c["t"]) / c["n"] if c["n"] else 0.0
    mu1, mu0 = _classifier(treated, s), _classifier(control, s)
    out = {}
    for kind in kinds:
        if kind == "t":
            out[kind] = Fitted("t", mu1, mu0, None, None, share)
            continue
        d1 = _predict(mu0, treated, "_mu0").withColumn("_d", F.col(OUTCOME) - F.col("_mu0"))
        d0 = _predict(mu1, control, "_mu1").withColumn("_d", F.col("_mu1") - F.col(OUTCOME))
        out[kind] = Fitted("x", mu1, mu0, _regressor(d1, "_d", s), _regressor(d0, "_d", s), share)
    return out
