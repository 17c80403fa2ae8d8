"""Propensity: labels by hand, no leakage, even deciles, a planted signal learnt, the jobs' model store."""

from datetime import date, datetime, timedelta

import numpy as np
import pytest
from pyspark.sql import functions as F

from conftest import SHOP_RUN_DATE, run_twice
from tailor.asof import cutoff
from tailor.config import warehouse
from tailor.propensity import labels as L
from tailor.propensity import model as M
from tailor.propensity.store import ModelNotFoundError

ORDERS = "user_id string, ts timestamp, is_return boolean"


def test_labels_by_hand(spark):
    rows = [
        ("u1", datetime(2026, 6, 20), False), ("u1", datetime(2026, 7, 5), False),  # active, bought again
        ("u2", datetime(2026, 6, 25), False),  # active, then nothing: churned
        ("u3", datetime(2026, 4, 1), False), ("u3", datetime(2026, 7, 10, 23, 59), False),  # lapsed; last day of H
        ("u4", datetime(2026, 7, 11, 0, 0), False),  # after the horizon: no label
        ("u5", datetime(2026, 6, 1), False), ("u5", datetime(2026, 7, 2), True),  # a return is not a purchase
        ("u6", datetime(2026, 6, 30, 23, 59), False), ("u6", datetime(2026, 7, 1, 0, 0), False),  # T's last minute
    ]
    orders = spark.createDataFrame(rows, ORDERS)
    got = {r.user_id: (r.purchase, r.active, r.churn) for r in
           L.labels(orders, date(2026, 6, 30), horizon_days=10, lookback_days=30).collect()}
    assert got == {"u1": (1, 1, 0), "u2": (0, 1, 1), "u3": (1, 0, None), "u5": (0, 1, 1), "u6": (1, 1, 0)}
    # u4 bought only after the horizon: not in the frame (the caller fills 0 and leaves churn null)


def _frame(df, cols):
    return sorted(tuple(r) for r in df.select(*cols).collect())


def test_nothing_after_the_cutoff_reaches_features_or_labels(spark, shop):
    cfg = shop()
    orders, events, products, customers = (warehouse(spark, cfg).read(n) for n in
                                           ("orders", "events", "products", "customers"))
    t, h = date.fromisoformat(SHOP_RUN_DATE) - timedelta(days=40), 14

    def rows(until):  # the data as it was at the end of day ``until``
        keep = F.col("ts") < F.lit(cutoff(until))
        return L.training_rows(orders.where(keep), events.where(keep), products, customers, t, h, 30, 30)

    full = L.training_rows(orders, events, products, customers, t, h, 30, 30)
    feature_cols = [c for c in full.columns if c not in (L.PURCHASE, L.ACTIVE, L.CHURN)]
    label_cols = ["user_id", L.PURCHASE, L.ACTIVE, L.CHURN]
    at_t = rows(t)
    assert _frame(at_t, feature_cols) == _frame(full, feature_cols)  # events after T change no feature
    at_horizon = rows(t + timedelta(days=h))
    assert _frame(at_horizon, label_cols) == _frame(full, label_cols)  # events after T + H change no label
    assert _frame(at_t, label_cols) != _frame(full, label_cols)  # (the labels do read the horizon)


def test_deciles_split_the_population_evenly(spark):
    scores = spark.createDataFrame([(f"u{i}", i / 1000.0) for i in range(1000)], "user_id string, score double")
    counts = {r.decile: r["count"] for r in M.deciles(scores).groupBy("decile").count().collect()}
    assert counts == {d: 100 for d in range(1, 11)}
    top = M.deciles(scores).where("decile = 10").agg(F.min("score")).first()[0]
    assert top == pytest.approx(0.9)


def _planted(spark, n, seed):
    rng = np.random.default_rng(seed)
    x1, x2, noise = rng.normal(size=n), rng.normal(size=n), rng.normal(size=n)
    cat = rng.choice(["a", "b", "c"], size=n)
    logit = 2.0 * x1 - 1.5 * x2 + 1.0 * (cat == "a") - 1.5
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


# one setting each (tuning is tested above), few trees
FAST = ('propensity.lr_grid={"regParam": [0.01]}', 'propensity.gbt_grid={"maxDepth": [3]}',
        "propensity.max_iter=5", "propensity.horizon_days=21")
ONE = ("propensity.targets=[purchase]", "propensity.algorithms=[lr]")


def test_scoring_before_training_says_what_to_run(spark, shop):
    from tailor.jobs import JOBS
    from tailor.jobs.base import execute

    cfg = shop(*FAST, "propensity.version=1999-01-01")
    with pytest.raises(ModelNotFoundError, match=r"train-propensity|no version 1999-01-01"):
        execute("score-propensity", JOBS["score-propensity"], spark, cfg, date.fromisoformat(SHOP_RUN_DATE))


def test_the_jobs_are_idempotent_and_a_pinned_version_reproduces_its_scores(spark, shop):
    from tailor.jobs import JOBS
    from tailor.jobs.base import execute

    # both targets, both algorithms, but one model each: the run is done twice, so keep it to two fits
    cfg = shop(*FAST, *ONE)
    both = shop(*FAST, "propensity.targets=[churn]", "propensity.algorithms=[gbt]")
    run = date.fromisoformat(SHOP_RUN_DATE)
    written = ["model_versions", "model_metrics", "propensity_scores"]
    execute("train-propensity", JOBS["train-propensity"], spark, cfg, run)
    summaries, first, second = run_twice(spark, both, ["train-propensity", "score-propensity"], written)
    assert first == second
    assert summaries[0].metrics["churn_gbt.roc_auc"] > 0.5
    execute("score-propensity", JOBS["score-propensity"], spark, cfg, run)
    scores = warehouse(spark, cfg).read_run("propensity_scores", run)
    assert {r.model for r in scores.select("model").distinct().collect()} == {"purchase_lr", "churn_gbt"}
    assert scores.where("score < 0 or score > 1 or decile < 1 or decile > 10").count() == 0
    features = warehouse(spark, cfg).read("customers").count()
    assert scores.where("model = 'churn_gbt'").count() >= features * 0.9  # every customer known on the day
    metrics = {(r.model, r.metric, r.key) for r in warehouse(spark, cfg).read_run("model_metrics", run).collect()}
    assert {("churn_gbt", "roc_auc", ""), ("churn_gbt", "lift", "10"), ("purchase_lr", "coefficient", "frequency"),
            } <= metrics
    assert any(m == "churn_gbt" and metric == "importance" for m, metric, _ in metrics)
    # a later training run makes a new version; pinned, the next day still scores with the first one
    nxt = run + timedelta(days=1)
    one = cfg
    execute("train-propensity", JOBS["train-propensity"], spark, one, nxt)
    pinned = shop(*FAST, *ONE, f"propensity.version={SHOP_RUN_DATE}")
    cols = ["user_id", "model", "version", "score", "decile"]
    execute("score-propensity", JOBS["score-propensity"], spark, pinned, nxt)
    once = _frame(warehouse(spark, cfg).read_run("propensity_scores", nxt), cols)
    execute("score-propensity", JOBS["score-propensity"], spark, pinned, nxt)
    assert _frame(warehouse(spark, cfg).read_run("propensity_scores", nxt), cols) == once
    assert {r[2] for r in once} == {SHOP_RUN_DATE}
    execute("score-propensity", JOBS["score-propensity"], spark, one, nxt)  # unpinned: the latest
    latest = warehouse(spark, cfg).read_run("propensity_scores", nxt).select("version").distinct().collect()
    assert [r.version for r in latest] == [nxt.isoformat()]


def test_a_feature_with_no_value_at_all_is_left_out_not_fatal(spark):
    # Online Retail has no browsing events: its session features are null for every customer
    rows = _planted(spark, 400, 3).withColumn("sessions_minutes", F.lit(None).cast("double"))
    assert M.usable_numeric(rows, ["x1", "sessions_minutes"]) == ["x1"]
    fitted, _, _ = M.tune(rows, "lr", ["x1", "x2", "sessions_minutes"], [], {"regParam": [0.01]}, 42, 10, 1)
    assert M.scored(fitted, rows).where("score is null").count() == 0


def test_roc_points_by_hand(spark):
    # scores 0.9 (pos), 0.7 (neg), 0.4 (pos), 0.2 (neg); with 4 points the thresholds are the 75/50/25 %
    # quantiles 0.7, 0.4, 0.2. At >= 0.7: 1 of 2 positives, 1 of 2 negatives; >= 0.4: 2/2 and 1/2; >= 0.2: all.
    preds = spark.createDataFrame([(0.9, 1.0), (0.7, 0.0), (0.4, 1.0), (0.2, 0.0)], "score double, label double")
    got = {(m, k): v for m, k, v in M.roc_points(preds, points=4)}
    fpr = [got[("roc_fpr", f"{i:02d}")] for i in range(5)]
    tpr = [got[("roc_tpr", f"{i:02d}")] for i in range(5)]
    assert fpr == [0.0, 0.5, 0.5, 1.0, 1.0]
    assert tpr == [0.0, 0.5, 1.0, 1.0, 1.0]
