"""Spark ML pipelines for churn and purchase propensity, tuned, judged out of time, and described.

**Pipeline**: numeric features imputed by their median (Imputer; a missing recency means "never bought"
and also shows in ``frequency`` = 0), each categorical feature indexed (unseen values kept in an extra
bucket) and one-hot encoded, assembled; standardised for logistic regression. ``lr`` is
LogisticRegression with elastic net, ``gbt`` GBTClassifier. Class imbalance is handled by a weight column:
each class weighs ``n / (2 · n_class)``, so both carry half of the total weight.

**Calibration** (:func:`train`): the weighting makes the classes look equally common, so the raw scores are
not probabilities (a 6 % base rate scores around 0.5). A seeded hash of the user id holds out
``calibration_share`` of the training cutoff's rows; the pipeline is tuned and fitted on the rest, scores the
held-out slice, and a Platt scaling (:func:`fit_platt`: P(y) = σ(a·logit(s) + b), maximum likelihood) learnt
on those scores maps every score back to a probability. The judging cutoff's rows are never seen by it. The
map is monotone (a > 0), so AUC, lift and deciles are unchanged; only the values move.

**Tuning**: TrainValidationSplit's search over ``propensity.<algo>_grid`` on the training cutoff's rows, by
area under PR (parallelism ``propensity.parallelism``, seeded), with the feature stages fitted once per split
(:func:`_search`). The chosen pipeline is then judged **out of
time**: on the rows of a later cutoff it never saw.

**Metrics** (:func:`judge`), all computed distributed and returned as small rows: ROC-AUC and PR-AUC
(BinaryClassificationEvaluator's computation, one metrics object for both: :func:`areas`), log loss
(probabilities clipped to [1e-15, 1 - 1e-15]) and Brier score;
deciles of the score (approxQuantile thresholds, decile 10 the highest) with each decile's positive rate,
lift (rate / overall rate), cumulative capture (share of all positives in this decile and those above) and
mean score; a calibration table over ten equal-width probability bins (mean predicted, observed rate,
count), the expected calibration error (ECE: Σ over bins of count/n · |mean predicted − observed|), and the
largest gap between a decile's mean score and its observed rate. With the raw scores beside the calibrated
ones, Brier, ECE and the table are also given for the raw scores (``*_uncalibrated``).
:func:`explain` lists GBT feature importances or LR coefficients by feature name.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from pyspark import StorageLevel
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import GBTClassifier, LogisticRegression
from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.ml.feature import Imputer, ImputerModel, OneHotEncoder, StandardScaler, StringIndexer, VectorAssembler
from pyspark.ml.functions import vector_to_array
from pyspark.ml.tuning import ParamGridBuilder
from pyspark.sql import Column, DataFrame, Row
from pyspark.sql import functions as F
from pyspark.util import inheritable_thread_target
from scipy.special import expit

from tailor.propensity.labels import LABEL

log = logging.getLogger(__name__)
WEIGHT, FEATURES, SCORE, DECILE, RAW = "weight", "features", "score", "decile", "raw_score"
ALGOS = ("lr", "gbt")
EPS = 1e-15


def with_class_weights(rows: DataFrame) -> DataFrame:
    """``weight`` = n / (2 · n_class) for each row's class (an action: one aggregate row)."""
    c = rows.agg(F.count(F.lit(1)).alias("n"), F.sum(LABEL).alias("pos")).first()
    n, pos = int(c["n"]), float(c["pos"] or 0.0)
    neg = n - pos
    w_pos = n / (2.0 * pos) if pos else 1.0
    w_neg = n / (2.0 * neg) if neg else 1.0
    return rows.withColumn(WEIGHT, F.when(F.col(LABEL) == 1.0, F.lit(w_pos)).otherwise(F.lit(w_neg)))


def pipeline(algo: str, numeric: Sequence[str], categorical: Sequence[str], seed: int, max_iter: int):
    """(the unfitted Pipeline, its final estimator) for ``algo``."""
    imputed = [f"_imp_{c}" for c in numeric]
    stages = [Imputer(inputCols=list(numeric), outputCols=imputed, strategy="median")] if numeric else []
    encoded = []
    for c in categorical:
        stages.append(StringIndexer(inputCol=c, outputCol=f"_idx_{c}", handleInvalid="keep",
                                    stringOrderType="frequencyDesc"))
        encoded.append(f"_oh_{c}")
    if categorical:
        stages.append(OneHotEncoder(inputCols=[f"_idx_{c}" for c in categorical], outputCols=encoded,
                                    handleInvalid="keep"))
    if algo == "lr":
        stages.append(VectorAssembler(inputCols=imputed + encoded, outputCol="_raw", handleInvalid="keep"))
        stages.append(StandardScaler(inputCol="_raw", outputCol=FEATURES, withMean=False, withStd=True))
        est = LogisticRegression(featuresCol=FEATURES, labelCol=LABEL, weightCol=WEIGHT, maxIter=max_iter)
    elif algo == "gbt":
        stages.append(VectorAssembler(inputCols=imputed + encoded, outputCol=FEATURES, handleInvalid="keep"))
        est = GBTClassifier(featuresCol=FEATURES, labelCol=LABEL, weightCol=WEIGHT, maxIter=max_iter, seed=seed)
    else:
        raise ValueError(f"unknown algorithm {algo!r}: {ALGOS}")
    stages.append(est)
    return Pipeline(stages=stages), est


def grid(est, algo: str, settings: dict[str, list[float]]) -> list:
    b = ParamGridBuilder()
    for name, values in sorted(settings.items()):
        if not est.hasParam(name):
            raise ValueError(f"{algo} has no parameter {name!r}")
        p = est.getParam(name)
        b = b.addGrid(p, [int(v) if name in ("maxDepth", "maxIter", "maxBins") else float(v) for v in values])
    return b.build()


def usable_numeric(rows: DataFrame, numeric: Sequence[str]) -> list[str]:
    """The numeric features with at least one value in ``rows`` (one aggregate row). A source without
    browsing data (Online Retail) has no session features at all, and the imputer cannot impute a column
    that is entirely empty, so such a column is left out (and logged) rather than failing the fit."""
    if not numeric:
        return []
    counts = rows.agg(*[F.count(c).alias(c) for c in numeric]).first()
    empty = [c for c in numeric if not counts[c]]
    if empty:
        log.warning("features with no value in the training rows are left out: %s", empty)
    return [c for c in numeric if counts[c]]


def numeric_inputs(model: PipelineModel) -> list[str]:
    """The numeric features a fitted :func:`pipeline` reads: its imputer's input columns (none without one).
    What the model was fitted on, where :func:`usable_numeric` would count the rows again."""
    imputer = next((s for s in model.stages if isinstance(s, ImputerModel)), None)
    return list(imputer.getInputCols()) if imputer is not None else []


def stable(rows: DataFrame, partitions: int, key: str = "user_id") -> DataFrame:
    """``rows`` in ``partitions`` partitions by ``key``, sorted within each: the same rows in the same order
    on every run, so a fit's floating-point sums are too (one partition makes them bit-for-bit equal, as
    Spark merges partitions' partial sums in task completion order)."""
    return rows.repartition(partitions, key).sortWithinPartitions(key)


def tune(rows: DataFrame, algo: str, numeric: Sequence[str], categorical: Sequence[str],
         settings: dict[str, list[float]], seed: int, max_iter: int, parallelism: int,
         train_ratio: float = 0.75, partitions: int = 1) -> tuple[
        PipelineModel, dict[str, float], list[tuple[dict[str, float], float]]]:
    """Fit ``algo`` on ``rows`` (features + label), choosing its parameters by PR-AUC on a seeded split.
    The rows are laid out by :func:`stable` first.

    The search is Spark's TrainValidationSplit (the same split, fits, metrics and choice: see
    :func:`_search`), except that the feature stages, which no setting of the grid changes, are fitted once on
    the split's training rows and their output cached, rather than refitted for every setting.

    Returns:
        (the best pipeline refitted on all ``rows``, its parameters, every setting with its PR-AUC).
    """
    pipe, est = pipeline(algo, usable_numeric(rows, numeric), categorical, seed, max_iter)
    weighted = with_class_weights(stable(rows, partitions)).persist(StorageLevel.MEMORY_AND_DISK)
    maps = grid(est, algo, settings)
    try:
        if len(maps) <= 1:
            model = pipe.fit(weighted, maps[0] if maps else {})
            params = {p.name: float(v) for p, v in (maps[0] if maps else {}).items()}
            return model, params, [(params, float("nan"))]
        metrics = _search(pipe, maps, weighted, train_ratio, seed, parallelism)
        best = max(range(len(maps)), key=lambda i: metrics[i])  # the first best, as TrainValidationSplit
        model = pipe.fit(weighted, maps[best])
    finally:
        weighted.unpersist()
    tried = [({p.name: float(v) for p, v in m.items()}, float(v)) for m, v in zip(maps, metrics, strict=True)]
    return model, tried[best][0], tried


TVS_RAND = "_tvs_rand"


def _search(pipe: Pipeline, maps: list, rows: DataFrame, train_ratio: float, seed: int,
            parallelism: int) -> list[float]:
    """Each setting's weighted PR-AUC on the validation rows, as ``TrainValidationSplit(trainRatio, seed)``
    computes it: rows with ``rand(seed) < train_ratio`` fit, the others validate. The pipeline's stages before
    its estimator are fitted once on the fitting rows; the estimator is fitted ``parallelism`` settings at a
    time on their cached output."""
    stages = pipe.getStages()
    marked = rows.select("*", F.rand(seed).alias(TVS_RAND))
    fitting, checking = marked.where(F.col(TVS_RAND) < train_ratio), marked.where(F.col(TVS_RAND) >= train_ratio)
    features = Pipeline(stages=stages[:-1]).fit(fitting)
    fit_on = features.transform(fitting).persist(StorageLevel.MEMORY_AND_DISK)
    check_on = features.transform(checking).persist(StorageLevel.MEMORY_AND_DISK)
    evaluator = BinaryClassificationEvaluator(labelCol=LABEL, rawPredictionCol="rawPrediction",
                                              metricName="areaUnderPR", weightCol=WEIGHT)

    def one(i: int) -> float:
        return evaluator.evaluate(stages[-1].fit(fit_on, maps[i]).transform(check_on))

    try:
        with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(maps)))) as pool:
            return list(pool.map(inheritable_thread_target(rows.sparkSession)(one), range(len(maps))))
    finally:
        fit_on.unpersist()
        check_on.unpersist()


def calibration_split(rows: DataFrame, share: float, seed: int, key: str = "user_id") -> tuple[
        DataFrame, DataFrame]:
    """(the rows to fit on, the held-out rows to calibrate on): ``share`` of the ``key`` values, chosen by a
    seeded hash, so a re-run holds out the same customers."""
    held = F.pmod(F.xxhash64(F.lit(seed), F.col(key)), F.lit(10_000)) < F.lit(round(share * 10_000))
    return rows.where(~held), rows.where(held)


LOGIT_BIN = 0.001
"""Platt scaling reads the held-out scores as counts per logit bin of this width (bounded: logits are clipped to
±27.6), not one row per customer; a score moves by at most a quarter of this within its bin."""
LOGIT_CLIP = 1e-12


def _logit(p: Column) -> Column:
    q = F.least(F.greatest(p, F.lit(LOGIT_CLIP)), F.lit(1 - LOGIT_CLIP))
    return F.log(q / (1 - q))


MIN_SLOPE = 1e-3
"""Platt's slope is kept at least this: a model that does not rank the held-out customers (a fitted slope of
0 or less) gets scores that all sit near their base rate, still in the model's order, rather than reversed."""


def platt_from_counts(z: np.ndarray, n: np.ndarray, pos: np.ndarray, max_iter: int = 100,
                      min_slope: float | None = None) -> tuple[float, float]:
    """(a, b) maximising Σ pos·ln σ(a·z + b) + (n − pos)·ln(1 − σ(a·z + b)): Newton's method on the concave
    log-likelihood, halving a step that would lower it. With ``min_slope``, a fitted a below it is held there
    and b refitted: the concave likelihood's best point with a >= min_slope."""
    z, n, pos = (np.asarray(v, dtype=float) for v in (z, n, pos))

    def ll(t: np.ndarray) -> float:
        m = t[0] * z + t[1]
        return float(np.sum(pos * -np.logaddexp(0, -m) + (n - pos) * -np.logaddexp(0, m)))

    def newton(theta: np.ndarray, free: np.ndarray) -> np.ndarray:
        current = ll(theta)
        for _ in range(max_iter):
            p = expit(theta[0] * z + theta[1])
            resid = pos - n * p
            grad = np.array([np.sum(resid * z), np.sum(resid)])[free]
            w = n * p * (1 - p)
            hess = np.array([[np.sum(w * z * z), np.sum(w * z)], [np.sum(w * z), np.sum(w)]])[np.ix_(free, free)]
            step = np.zeros(2)
            step[free] = np.linalg.solve(hess + 1e-9 * np.eye(len(grad)), grad)
            size = 1.0
            while size > 1e-6:
                trial = theta + size * step
                value = ll(trial)
                if value >= current - 1e-12:
                    break
                size /= 2
            theta, moved, current = trial, float(np.max(np.abs(size * step))), value
            if moved < 1e-10:
                break
        return theta

    theta = newton(np.array([1.0, 0.0]), np.array([True, True]))
    if min_slope is not None and theta[0] < min_slope:
        theta = newton(np.array([min_slope, theta[1]]), np.array([False, True]))
    return float(theta[0]), float(theta[1])


def fit_platt(predictions: DataFrame) -> dict[str, Any] | None:
    """The Platt map learnt from ``predictions`` (label and the raw score in ``raw_score``), as a dict kept
    with the model: {"method": "platt", "a", "b", "rows", "positives"}, a at least :data:`MIN_SLOPE` (logged
    when held there); None (logged) when the rows hold one class only."""
    counts = predictions.groupBy(F.round(_logit(F.col(RAW)) / LOGIT_BIN).cast("long").alias("bin")).agg(
        F.count(F.lit(1)).alias("n"), F.sum(LABEL).alias("pos")).toPandas().sort_values("bin")  # bounded
    n, pos = counts["n"].to_numpy(float), counts["pos"].to_numpy(float)
    if n.sum() == 0 or pos.sum() in (0, n.sum()):
        log.warning("the calibration slice holds %d rows, %d positive: scores are left uncalibrated",
                    int(n.sum()), int(pos.sum()))
        return None
    a, b = platt_from_counts(counts["bin"].to_numpy(float) * LOGIT_BIN, n, pos, min_slope=MIN_SLOPE)
    if a <= MIN_SLOPE:
        log.warning("the model does not rank the %d held-out customers (Platt slope held at %g): its calibrated "
                    "scores all sit near their positive rate %.4f", int(n.sum()), a, pos.sum() / n.sum())
    return {"method": "platt", "a": a, "b": b, "rows": int(n.sum()), "positives": int(pos.sum())}


def calibrate(raw: Column, calibrator: dict[str, Any] | None) -> Column:
    """``raw`` mapped by ``calibrator`` (:func:`fit_platt`); unchanged without one."""
    if not calibrator:
        return raw
    if calibrator["method"] != "platt":
        raise ValueError(f"unknown calibration method {calibrator['method']!r}")
    m = F.lit(calibrator["a"]) * _logit(raw) + F.lit(calibrator["b"])
    return F.lit(1.0) / (F.lit(1.0) + F.exp(-m))


@dataclass(frozen=True)
class Trained:
    """A tuned pipeline with its calibration: what :func:`train` returns and the model store keeps."""

    model: PipelineModel
    params: dict[str, float]
    tried: list[tuple[dict[str, float], float]]
    calibrator: dict[str, Any] | None


def train(rows: DataFrame, algo: str, numeric: Sequence[str], categorical: Sequence[str],
          settings: dict[str, list[float]], seed: int, max_iter: int, parallelism: int, partitions: int = 1,
          calibration_share: float = 0.2) -> Trained:
    """:func:`tune` on all but a held-out ``calibration_share`` of ``rows`` (:func:`calibration_split`), then
    :func:`fit_platt` on the held-out rows' scores. ``calibration_share`` 0: no calibration."""
    if calibration_share <= 0:
        return Trained(*tune(rows, algo, numeric, categorical, settings, seed, max_iter, parallelism,
                             partitions=partitions), None)
    fit_rows, held = calibration_split(rows, calibration_share, seed)
    model, params, tried = tune(fit_rows, algo, numeric, categorical, settings, seed, max_iter, parallelism,
                                partitions=partitions)
    return Trained(model, params, tried, fit_platt(scored(model, held)))


SCORE_DECIMALS = 10
"""Scores are rounded to this many decimals. Spark's tree and LBFGS fits merge partition sums in the order
tasks finish, so two fits on the same rows can differ in the last bit of a leaf value; a re-run for the same
date must write the same table (a 1e-16 wobble crosses a 1e-10 rounding boundary about once in a million
scores)."""


def scored(model: PipelineModel, rows: DataFrame, calibrator: dict[str, Any] | None = None) -> DataFrame:
    """``rows`` with ``raw_score`` = the model's probability of the positive class and ``score`` = that
    mapped by ``calibrator`` (:func:`calibrate`), both rounded to :data:`SCORE_DECIMALS`."""
    raw = F.round(vector_to_array("probability")[1], SCORE_DECIMALS)
    return (model.transform(rows).withColumn(RAW, raw)
            .withColumn(SCORE, F.round(calibrate(F.col(RAW), calibrator), SCORE_DECIMALS)))


def deciles(scores: DataFrame, relative_error: float = 0.0001, cuts: list[float] | None = None) -> DataFrame:
    """``scores`` with ``decile`` 1..10 (10 = the highest scores) from approxQuantile thresholds (or the nine
    ascending ``cuts`` given): one pass, no window over the whole table. Ties share a decile."""
    if cuts is None:
        cuts = scores.approxQuantile(SCORE, [i / 10 for i in range(1, 10)], relative_error)
    d = F.lit(1)
    for c in cuts:
        d = d + (F.col(SCORE) > F.lit(c)).cast("int")
    return scores.withColumn(DECILE, d)


def _mean(x) -> F.Column:
    """The mean, summed in DECIMAL(38, 18): exact and order-free, so the same rows give the same value on
    every run (a double sum depends on the order partitions are merged in)."""
    return (F.sum(x.cast("decimal(38,18)")) / F.count(F.lit(1))).cast("double")


ROC_POINTS = 20
"""The ROC curve is kept at the 5 % score quantiles (even, so every other one is a decile threshold)."""


def _roc_sums(cuts: list[float]) -> list[Column]:
    """Positives (``tp<i>``) and negatives (``fp<i>``) scoring at least each of ``cuts`` (descending)."""
    y, s = F.col(LABEL), F.col(SCORE)
    return ([F.sum(F.when(s >= F.lit(c), y).otherwise(0)).alias(f"tp{i}") for i, c in enumerate(cuts)]
            + [F.sum(F.when(s >= F.lit(c), 1 - y).otherwise(0)).alias(f"fp{i}") for i, c in enumerate(cuts)])


def _roc_rows(agg: Row, n_cuts: int, pos: float, neg: float) -> list[tuple[str, str, float]]:
    out = [("roc_fpr", "00", 0.0), ("roc_tpr", "00", 0.0)]
    for i in range(n_cuts):
        out += [("roc_fpr", f"{i + 1:02d}", float(agg[f"fp{i}"]) / neg if neg else 0.0),
                ("roc_tpr", f"{i + 1:02d}", float(agg[f"tp{i}"]) / pos if pos else 0.0)]
    end = f"{n_cuts + 1:02d}"
    return [*out, ("roc_fpr", end, 1.0), ("roc_tpr", end, 1.0)]


def roc_points(predictions: DataFrame, points: int = ROC_POINTS) -> list[tuple[str, str, float]]:
    """The ROC curve at ``points - 1`` score quantiles, plus its ends: ``roc_fpr``/``roc_tpr`` rows keyed by the
    point's index ("00" = (0, 0) ... "20" = (1, 1)), each the share of negatives/positives scoring at least
    the threshold. One aggregation, so the report can draw the curve without the scores. (:func:`judge`
    computes the same rows within its own passes.)"""
    cuts = predictions.approxQuantile(SCORE, [i / points for i in range(points - 1, 0, -1)], 0.0001)
    y = F.col(LABEL)
    agg = predictions.agg(F.sum(y).alias("pos"), F.sum(1 - y).alias("neg"), *_roc_sums(cuts)).first()
    return _roc_rows(agg, len(cuts), float(agg["pos"] or 0.0), float(agg["neg"] or 0.0))


def areas(predictions: DataFrame, score: str) -> tuple[float, float]:
    """(area under ROC, area under PR) of ``score`` against the label: what ``BinaryClassificationEvaluator``
    gives for each metric name, from one ``BinaryClassificationMetrics`` (the evaluator's own ``getMetrics``,
    1,000 bins) instead of one per metric, which sorted and counted the scores twice.

    The rows go in as one partition. With 2,000 or more distinct scores the evaluator bins them by runs of
    consecutive scores within each partition of a shuffle's output, whose row order depends on the order map
    outputs arrive: two evaluations of the same cached rows in three partitions gave ROC-AUCs differing in the
    fifth decimal. From one partition, a re-run gives the same value. It costs no time: on a million cached
    scores in four partitions, 11-13.5 s against 15-16 s for the evaluator's two calls (local[2])."""
    ev = BinaryClassificationEvaluator(labelCol=LABEL, rawPredictionCol=score)
    ev._transfer_params_to_java()  # what evaluate() does first: the Python params onto the Java evaluator
    metrics = ev._java_obj.getMetrics(predictions.select(score, LABEL).coalesce(1)._jdf)
    try:
        return float(metrics.areaUnderROC()), float(metrics.areaUnderPR())
    finally:
        metrics.unpersist()


def judge(predictions: DataFrame) -> list[tuple[str, str, float]]:
    """(metric, key, value) rows for ``predictions`` (label, score). One approxQuantile pass gives both the ROC
    thresholds and the decile thresholds; one aggregation gives log loss, Brier, the counts and the ROC
    points. Every metric is of the published (rounded) ``score``: two fits that differ in the last bits of
    near-tied raw predictions (another partitioning, another merge order) then report the same AUC."""
    roc_auc, pr_auc = areas(predictions, SCORE)
    out: list[tuple[str, str, float]] = [("roc_auc", "", roc_auc), ("pr_auc", "", pr_auc)]
    ascending = predictions.approxQuantile(SCORE, [i / ROC_POINTS for i in range(1, ROC_POINTS)], 0.0001)
    roc_cuts = ascending[::-1]
    p = F.least(F.greatest(F.col(SCORE), F.lit(EPS)), F.lit(1 - EPS))
    y = F.col(LABEL)
    has_raw = RAW in predictions.columns
    agg = predictions.agg(
        _mean(-(y * F.log(p) + (1 - y) * F.log(1 - p))).alias("log_loss"),
        _mean((F.col(SCORE) - y) ** 2).alias("brier"),
        (_mean((F.col(RAW) - y) ** 2) if has_raw else F.lit(None)).alias("brier_raw"),
        F.count(F.lit(1)).alias("n"), F.sum(y).alias("pos"), *_roc_sums(roc_cuts),
    ).first()
    out += [("log_loss", "", float(agg["log_loss"])), ("brier", "", float(agg["brier"])),
            ("rows", "", float(agg["n"])), ("positive_rate", "", float(agg["pos"]) / agg["n"] if agg["n"] else 0.0)]
    total_pos, rate = float(agg["pos"] or 0.0), (float(agg["pos"] or 0.0) / agg["n"] if agg["n"] else 0.0)
    by_decile = {r[DECILE]: r for r in deciles(predictions, cuts=ascending[1::2]).groupBy(DECILE).agg(  # 10 rows
        F.count(F.lit(1)).alias("n"), F.sum(LABEL).alias("pos"), _mean(F.col(SCORE)).alias("pred")).collect()}
    captured, gap = 0.0, 0.0
    for d in range(10, 0, -1):
        r = by_decile.get(d)
        n, pos, pred = (int(r["n"]), float(r["pos"]), float(r["pred"])) if r else (0, 0.0, 0.0)
        captured += pos
        gap = max(gap, abs(pred - pos / n)) if n else gap
        out += [("decile_rows", str(d), float(n)),
                ("decile_rate", str(d), pos / n if n else 0.0),
                ("decile_predicted", str(d), pred),
                ("lift", str(d), (pos / n) / rate if n and rate else 0.0),
                ("capture", str(d), captured / total_pos if total_pos else 0.0)]
    out.append(("decile_calibration_gap", "", gap))
    out += _calibration_rows(predictions, SCORE, "")
    if has_raw:
        out += [("brier_uncalibrated", "", float(agg["brier_raw"])),
                *_calibration_rows(predictions, RAW, "_uncalibrated")]
    return out + _roc_rows(agg, len(roc_cuts), total_pos, float(agg["n"]) - total_pos)


def _calibration_rows(predictions: DataFrame, score: str, suffix: str) -> list[tuple[str, str, float]]:
    """The calibration table of ``score`` over ten equal-width bins (``calibration_predicted`` /
    ``_observed`` / ``_rows``, keyed "0.0-0.1" ...) and its expected calibration error ``ece``, each name
    followed by ``suffix``: one aggregation, at most ten rows."""
    bins = predictions.withColumn("_bin", F.least(F.floor(F.col(score) * 10), F.lit(9)).cast("int")).groupBy(
        "_bin").agg(_mean(F.col(score)).alias("pred"), _mean(F.col(LABEL)).alias("obs"),
                    F.count(F.lit(1)).alias("n")).collect()
    total = sum(r["n"] for r in bins)
    out, ece = [], 0.0
    for r in sorted(bins, key=lambda r: r["_bin"]):
        key = f"{r['_bin'] / 10:.1f}-{(r['_bin'] + 1) / 10:.1f}"
        out += [(f"calibration_predicted{suffix}", key, float(r["pred"])),
                (f"calibration_observed{suffix}", key, float(r["obs"])),
                (f"calibration_rows{suffix}", key, float(r["n"]))]
        ece += r["n"] / total * abs(float(r["pred"]) - float(r["obs"]))
    return [*out, (f"ece{suffix}", "", ece)]


def feature_names(model: PipelineModel, predictions: DataFrame) -> list[str]:
    """The name of each slot of the assembled feature vector, from the ML attribute metadata (of the
    assembler's output: the scaler drops it)."""
    col = "_raw" if "_raw" in predictions.columns else FEATURES
    meta = predictions.schema[col].metadata.get("ml_attr", {}).get("attrs", {})
    slots = sorted((a["idx"], a["name"]) for group in meta.values() for a in group)
    names = [n.removeprefix("_imp_").removeprefix("_oh_") for _, n in slots]
    return names


def explain(model: PipelineModel, predictions: DataFrame, algo: str) -> list[tuple[str, str, float]]:
    """(``importance`` or ``coefficient``, feature, value) of the fitted model, by feature name."""
    names = feature_names(model, predictions)
    last = model.stages[-1]
    if algo == "gbt":
        values, metric = last.featureImportances.toArray(), "importance"
    else:
        values, metric = last.coefficients.toArray(), "coefficient"
    rows = [(metric, names[i] if i < len(names) else f"f{i}", float(v)) for i, v in enumerate(values)]
    if algo == "lr":
        rows.append(("coefficient", "(intercept)", float(last.intercept)))
    return [r for r in rows if not math.isnan(r[2])]
