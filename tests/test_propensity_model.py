"""Propensity models (tailor.propensity.model): even deciles, a planted signal learnt, empty features left out, ROC
by hand."""


import numpy as np
import pytest
from pyspark.sql import Window
from pyspark.sql import functions as F

from tailor.propensity import model as M

    # u4 bought only after the horizon: not in the frame (the caller fills 0 and leaves churn null)


def test_deciles_split_the_population_evenly(spark):
    scores = spark.createDataFrame([(f"u{i}", i / 1000.0) for i in range(1000)], "user_id string, score double")
    counts = {r.decile: r["count"] for r in M.deciles(scores).groupBy("decile").count().collect()}
    assert counts == {d: 100 for d in range(1, 11)}
    top = M.deciles(scores).where("decile = 10").agg(F.min("score")).first()[0]
    assert top == pytest.approx(0.9)


def _planted(spark, n, seed, offset=-1.5):
    rng = np.random.default_rng(seed)
    x1, x2, noise = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    cat = rng.choice(["a", "b", "c"], size=n)
    logit = 2.0 * x1 - 1.5 * x2 + 1.0 * (cat == "a") + offset
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(float)
    x2_missing = [None if i % 17 == 0 else float(v) for i, v in enumerate(x2)]  # the imputer's job
    return spark.createDataFrame(
        [(f"u{i}", float(x1[i]), x2_missing[i], float(noise[i]), str(cat[i]), float(y[i])) for i in range(n)],
        "user_id string, x1 double, x2 double, noise double, cat string, label double")


@pytest.mark.parametrize("algo,grid", [("lr", {"regParam": [0.0, 0.1], "elasticNetParam": [0.0, 0.5]}),
                                       ("gbt", {"maxDepth": [2, 3]})])
def test_a_planted_signal_is_learnt_out_of_sample(spark, algo, grid):
    train, test = _planted(spark, 2000, 1), _planted(spark, 1000, 2)
    fitted, params, tried = M.tune(train, algo, ["x1", "x2", "noise"], ["cat"], grid, 42, 20, 2)
    assert len(tried) == (4 if algo == "lr" else 2) and params in [p for p, _ in tried]
    metrics = {(m, k): v for m, k, v in M.judge(M.scored(fitted, test))}
    assert metrics[("roc_auc", "")] > 0.75
    assert metrics[("lift", "10")] > 1.5 and metrics[("capture", "1")] == pytest.approx(1.0)
    assert 0 < metrics[("brier", "")] < 0.25
    explained = {(m, k): v for m, k, v in M.explain(fitted, M.scored(fitted, test), algo)}
    if algo == "gbt":  # the noise matters least
        imp = {k: v for (m, k), v in explained.items() if m == "importance"}
        assert imp["x1"] > imp["noise"] and imp["x2"] > imp["noise"]
    else:  # the signs of the planted effects survive the scaling
        assert explained[("coefficient", "x1")] > 0 > explained[("coefficient", "x2")]


@pytest.mark.parametrize("algo,grid", [("lr", {"regParam": [0.0, 0.1], "elasticNetParam": [0.0, 0.5]}),
                                       ("gbt", {"maxDepth": [2, 3]})])
def test_the_search_is_spark_train_validation_split_with_features_fitted_once(spark, algo, grid):
    from pyspark.ml.evaluation import BinaryClassificationEvaluator
    from pyspark.ml.tuning import TrainValidationSplit

    rows = _planted(spark, 600, 3)
    fitted, params, tried = M.tune(rows, algo, ["x1", "x2", "noise"], ["cat"], grid, 42, 10, 2)
    # what tune did before: Spark's TrainValidationSplit over the whole pipeline, refitted on every setting
    pipe, est = M.pipeline(algo, ["x1", "x2", "noise"], ["cat"], 42, 10)
    weighted = M.with_class_weights(M.stable(rows, 1)).persist()
    maps = M.grid(est, algo, grid)
    tvs = TrainValidationSplit(estimator=pipe, estimatorParamMaps=maps, trainRatio=0.75, parallelism=2, seed=42,
                               evaluator=BinaryClassificationEvaluator(labelCol="label", metricName="areaUnderPR",
                                                                       weightCol="weight")).fit(weighted)
    assert [v for _, v in tried] == list(tvs.validationMetrics)  # exactly: the same split, fits and metric
    assert len(set(tvs.validationMetrics)) > 1  # the settings differ, so the choice means something
    best = int(np.argmax(tvs.validationMetrics))
    assert params == {p.name: float(v) for p, v in maps[best].items()}
    ours = M.scored(fitted, rows).select("user_id", "raw_score")
    theirs = M.scored(tvs.bestModel, rows).select("user_id", "raw_score")
    assert sorted(ours.collect()) == sorted(theirs.collect())
    weighted.unpersist()


def test_a_feature_with_no_value_at_all_is_left_out_not_fatal(spark):
    # Online Retail has no browsing events: its session features are null for every customer
    rows = _planted(spark, 400, 3).withColumn("sessions_minutes", F.lit(None).cast("double"))
    assert M.usable_numeric(rows, ["x1", "sessions_minutes"]) == ["x1"]
    fitted, _, _ = M.tune(rows, "lr", ["x1", "x2", "sessions_minutes"], [], {"regParam": [0.01]}, 42, 10, 1)
    assert M.scored(fitted, rows).where("score is null").count() == 0
    assert M.numeric_inputs(fitted) == ["x1", "x2"]  # what the version's metadata records


def test_roc_points_by_hand(spark):
    # scores 0.9 (pos), 0.7 (neg), 0.4 (pos), 0.2 (neg); with 4 points the thresholds are the 75/50/25 %
    # quantiles 0.7, 0.4, 0.2. At >= 0.7: 1 of 2 positives, 1 of 2 negatives; >= 0.4: 2/2 and 1/2; >= 0.2: all.
    preds = spark.createDataFrame([(0.9, 1.0), (0.7, 0.0), (0.4, 1.0), (0.2, 0.0)], "score double, label double")
    got = {(m, k): v for m, k, v in M.roc_points(preds, points=4)}
    fpr = [got[("roc_fpr", f"{i:02d}")] for i in range(5)]
    tpr = [got[("roc_tpr", f"{i:02d}")] for i in range(5)]
    assert fpr == [0.0, 0.5, 0.5, 1.0, 1.0]
    assert tpr == [0.0, 0.5, 1.0, 1.0, 1.0]


def test_platt_scaling_by_hand():
    # three score bins whose observed rates are exactly σ(2z - 1): the likelihood's maximum is a = 2, b = -1
    z = np.array([-1.0, 0.0, 1.0])
    n = np.array([1000.0, 1000.0, 1000.0])
    pos = n / (1 + np.exp(-(2 * z - 1)))
    a, b = M.platt_from_counts(z, n, pos)
    assert (a, b) == (pytest.approx(2.0, abs=1e-8), pytest.approx(-1.0, abs=1e-8))
    # rates falling with the score: the slope is held at the floor, and b is the best intercept there
    a, b = M.platt_from_counts(z, n, n / (1 + np.exp(-(-2 * z - 1))), min_slope=0.001)
    assert a == 0.001
    rates = 1 / (1 + np.exp(-(-2 * z - 1)))  # at a ~ 0 the best b makes σ(b) the overall rate
    assert 1 / (1 + np.exp(-b)) == pytest.approx(rates.mean(), abs=1e-3)


def test_calibration_turns_weighted_scores_into_probabilities(spark):
    # a rare class (about 9 %): the class weights push the raw scores up, towards a 50 % base rate
    train, test = _planted(spark, 6000, 4, offset=-4.5), _planted(spark, 4000, 5, offset=-4.5)
    trained = M.train(train, "lr", ["x1", "x2", "noise"], ["cat"], {"regParam": [0.01]}, 42, 20, 1,
                      calibration_share=0.3)
    assert trained.calibrator["method"] == "platt" and trained.calibrator["a"] > 0
    assert 1500 < trained.calibrator["rows"] < 2100  # 30 % of the customers, held out of the fit
    got = {(m, k): v for m, k, v in M.judge(M.scored(trained.model, test, trained.calibrator))}
    base = got[("positive_rate", "")]
    assert 0.05 < base < 0.15
    assert got[("ece_uncalibrated", "")] > 0.15 and got[("ece", "")] < 0.03
    assert got[("brier", "")] < got[("brier_uncalibrated", "")]
    assert got[("decile_calibration_gap", "")] < 0.05
    mean_predicted = sum(got[("decile_predicted", str(d))] * got[("decile_rows", str(d))] for d in range(1, 11))
    assert mean_predicted / got[("rows", "")] == pytest.approx(base, abs=0.02)
    # a monotone map: the ranking is the raw scores' (the AUC too, to the evaluator's 1,000-bin curve)
    both = M.scored(trained.model, test, trained.calibrator)
    in_raw_order = Window.orderBy("raw_score", "score")  # one small test partition
    assert both.withColumn("before", F.lag("score").over(in_raw_order)).where("before > score").count() == 0
    raw = {(m, k): v for m, k, v in M.judge(M.scored(trained.model, test))}
    assert got[("roc_auc", "")] == pytest.approx(raw[("roc_auc", "")], abs=1e-4)


def test_both_areas_come_from_one_metrics_object_are_reproducible_and_equal_the_evaluators(spark):
    """judge's ROC-AUC and PR-AUC come from one BinaryClassificationMetrics: by hand on four rows; on 5,000 rows
    in three partitions with ties and more than 2,000 distinct scores (so the evaluator's 1,000-bin downsampling
    runs), the same on every call, equal to BinaryClassificationEvaluator's two evaluations of the rows in one
    partition, and with fewer Spark jobs than those two."""
    from pyspark.ml.evaluation import BinaryClassificationEvaluator

    from tailor.propensity.labels import LABEL

    # ranked: 0.9 positive, 0.8 negative, 0.7 positive, 0.1 negative. ROC: 3 of the 4 (positive, negative)
    # pairs are ordered, 0.75. PR, Spark's trapezoids from (recall 0, precision 1): (0,1)-(0.5,1) 0.5,
    # (0.5,0.5)-(1,2/3) 0.5 * (0.5 + 2/3) / 2 = 7/24, the vertical steps 0: 19/24
    four = spark.createDataFrame([(0.9, 1.0), (0.8, 0.0), (0.7, 1.0), (0.1, 0.0)], f"score double, {LABEL} double")
    assert M.areas(four, "score") == (pytest.approx(0.75), pytest.approx(19 / 24))

    rng = np.random.default_rng(5)
    y = (rng.random(5000) < 0.3).astype(float)
    s = np.round(np.clip(0.3 + 0.25 * (y - 0.3) + rng.normal(0, 0.2, 5000), 0, 1), 4)  # ties from the rounding
    assert len(set(s)) > 2000
    rows = spark.createDataFrame([(float(a), float(b)) for a, b in zip(s, y, strict=True)],
                                 f"score double, {LABEL} double").repartition(3).persist()
    one = rows.coalesce(1).persist()
    assert rows.count() == one.count() == 5000
    sc = spark.sparkContext

    def jobs_of(group, call):
        sc.setJobGroup(group, group)
        try:
            value = call()
        finally:
            sc.setLocalProperty("spark.jobGroup.id", None)
        return value, len(sc.statusTracker().getJobIdsForGroup(group))

    both, one_object = jobs_of("areas-one", lambda: M.areas(rows, "score"))
    each, two_evaluations = jobs_of("areas-two", lambda: tuple(
        BinaryClassificationEvaluator(labelCol=LABEL, rawPredictionCol="score", metricName=m).evaluate(one)
        for m in ("areaUnderROC", "areaUnderPR")))
    again = M.areas(rows, "score")
    rows.unpersist()
    one.unpersist()
    assert both == again == each  # exactly: the evaluator's computation, once, on one partition
    assert 0.5 < both[0] < 1
    assert one_object < two_evaluations, (one_object, two_evaluations)
