"""The train- and score-propensity jobs: scoring before training says what to run; idempotent; pinned versions."""

from datetime import date, timedelta

import pytest

from conftest import SHOP_RUN_DATE, run_twice
from tailor.config import warehouse
from tailor.propensity.store import ModelNotFoundError

    # u4 bought only after the horizon: not in the frame (the caller fills 0 and leaves churn null)


def _frame(df, cols):
    return sorted(tuple(r) for r in df.select(*cols).collect())


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
    # (150 customers, 5 trees: whether churn is learnt at all is for the benchmarks; here, that it is judged)
    assert 0.0 <= summaries[0].metrics["churn_gbt.roc_auc"] <= 1.0
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


def test_scoring_right_after_training_uses_the_trained_model_and_scores_as_the_saved_files_do(spark, shop, tmp_path):
    from tailor.jobs import JOBS
    from tailor.jobs.base import execute
    from tailor.propensity import store

    cfg = shop(*FAST, *ONE)
    run = date.fromisoformat(SHOP_RUN_DATE)
    wh = warehouse(spark, cfg)
    cols = ["user_id", "model", "version", "score", "decile"]
    store.forget_known()  # only what this training holds: an earlier test's load of the same row would do too
    execute("train-propensity", JOBS["train-propensity"], spark, cfg, run)
    held = set(map(id, store._KNOWN.values()))
    assert len(held) == 1  # ONE: the purchase target, logistic regression
    assert id(store.load(wh, "purchase_lr", run, None)[0]) in held  # the object trained, not its files read
    execute("score-propensity", JOBS["score-propensity"], spark, cfg, run)
    kept = _frame(wh.read_run("propensity_scores", run), cols)
    store.forget_known()
    reread = store.load(wh, "purchase_lr", run, None)[0]
    assert id(reread) not in held
    execute("score-propensity", JOBS["score-propensity"], spark, cfg, run)
    assert _frame(wh.read_run("propensity_scores", run), cols) == kept and kept

    # the index keeps paths relative to the warehouse, so a copy of the warehouse loads its own models: with
    # the original's models out of the way, the copy's load must read the copy's files
    import os
    import shutil

    from conftest import make_cfg

    assert {r.path for r in wh.read_run("model_versions", run).where("model = 'purchase_lr'").collect()} == {
        f"models/purchase_lr/run_date={run.isoformat()}"}
    root = cfg.warehouse_uri
    shutil.copytree(root, tmp_path / "copy")
    os.rename(f"{root}/models", f"{root}/models-away")
    try:
        store.forget_known()
        model, version, _ = store.load(warehouse(spark, make_cfg(tmp_path / "copy")), "purchase_lr", run, None)
        assert version == run.isoformat() and model is not None
    finally:
        os.rename(f"{root}/models-away", f"{root}/models")


def test_the_driver_writes_a_models_files_without_a_spark_job_and_either_layout_loads(spark, shop):
    """On a local warehouse the store saves with Spark ML's local mode: a ``metadata`` file where Spark ML's
    writer makes a folder, and no Spark job. A version written by Spark ML's writer (as before) still loads, and
    both layouts score alike."""
    from pathlib import Path

    from tailor.jobs import JOBS
    from tailor.jobs.base import execute
    from tailor.propensity import store

    cfg = shop(*FAST, *ONE)
    run = date.fromisoformat(SHOP_RUN_DATE)
    wh = warehouse(spark, cfg)
    execute("train-propensity", JOBS["train-propensity"], spark, cfg, run)
    cols = ["user_id", "model", "version", "score", "decile"]
    store.forget_known()
    model = store.load(wh, "purchase_lr", run, None)[0]  # read from the files train-propensity wrote
    files = Path(store.on_driver(wh, wh.model_path("purchase_lr", run)))
    assert (files / "metadata").is_file()
    sc = spark.sparkContext
    sc.setJobGroup("store-save", "store-save")
    try:
        store.save(wh, model, "purchase_lr", run)
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
    assert sc.statusTracker().getJobIdsForGroup("store-save") == []
    execute("score-propensity", JOBS["score-propensity"], spark, cfg, run)
    local = _frame(wh.read_run("propensity_scores", run), cols)
    model.write().overwrite().save(str(files))  # Spark ML's own writer: a metadata folder of part files
    assert (files / "metadata").is_dir()
    store.forget_known()
    execute("score-propensity", JOBS["score-propensity"], spark, cfg, run)
    assert _frame(wh.read_run("propensity_scores", run), cols) == local and local


def test_the_calibrator_learns_from_a_held_out_slice_of_the_training_cutoff_only(spark, shop):
    from tailor.jobs import JOBS
    from tailor.jobs.base import execute
    from tailor.jobs.train_propensity import cutoffs, timing
    from tailor.propensity import labels as L
    from tailor.propensity import model as M
    from tailor.propensity import store

    cfg = shop(*FAST, *ONE, "propensity.calibration_share=0.4")
    run = date.fromisoformat(SHOP_RUN_DATE)
    execute("train-propensity", JOBS["train-propensity"], spark, cfg, run)
    wh = warehouse(spark, cfg)
    model, _, meta = store.load(wh, "purchase_lr", run, None)
    kept = meta["calibrator"]
    assert kept["method"] == "platt" and kept["a"] > 0

    p = cfg.propensity
    t1, t2 = cutoffs(run, p.horizon_days)
    src = [wh.read(n) for n in ("orders", "events", "products", "customers")]

    def platt(as_of, part):  # the calibrator learnt from one slice of one cutoff's customers
        rows = L.for_target(L.training_rows(*src, as_of, p.horizon_days, p.lookback_days, cfg.features.trend_days,
                                            timing(cfg)), "purchase")
        fit_rows, held = M.calibration_split(rows, p.calibration_share, cfg.seed)
        return M.fit_platt(M.scored(model, held if part == "held" else fit_rows))

    assert platt(t1, "held") == kept  # exactly the training cutoff's held-out customers
    assert platt(t1, "fit") != kept  # not the rows the model was fitted on
    assert platt(t2, "held") != kept  # and never the judging cutoff
    metrics = {r.metric: r.value for r in wh.read_run("model_metrics", run).where(
        "model = 'purchase_lr' and key = ''").collect()}
    assert {"brier", "brier_uncalibrated", "ece", "ece_uncalibrated", "decile_calibration_gap"} <= set(metrics)
