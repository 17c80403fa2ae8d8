"""``tailor train-propensity``: silver ``orders``, ``events``, ``products``, ``customers`` -> a new version
of each propensity model in the model store (``model_versions``), ``model_metrics`` and ``tuning_results``
(run_date, model=<target>_<algo>).

Out of time, with H = ``propensity.horizon_days`` and R the run date: the models learn from features as of
T1 = R - 2H with labels from (T1, T1 + H], and are judged on features as of T2 = R - H with labels from
(T2, R], a later period they never saw. Every label is complete by R, and nothing after a cutoff reaches
its features (:mod:`tailor.propensity.labels`). Targets ``propensity.targets`` (purchase, churn) times
algorithms ``propensity.algorithms`` (lr, gbt); parameters chosen by TrainValidationSplit on T1's rows,
less the ``propensity.calibration_share`` of customers held out to calibrate the scores
(:func:`tailor.propensity.model.train`). The calibrator is kept in the version's metadata; the metrics
judge the calibrated scores and give Brier and ECE before and after.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from pyspark import StorageLevel
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from tailor.clv.summary import DAYS_PER
from tailor.config import Config, warehouse
from tailor.errors import InsufficientDataError
from tailor.jobs.base import JobSummary
from tailor.propensity import labels as L
from tailor.propensity import model as M
from tailor.propensity import store
from tailor.propensity.timing import COLUMNS as TIMING_COLUMNS

log = logging.getLogger(__name__)

READS: frozenset[str] = frozenset({"orders", "events", "products", "customers"})
WRITES: frozenset[str] = frozenset({"model_versions", "model_metrics", "tuning_results"})


def cutoffs(run_date: date, horizon_days: int) -> tuple[date, date]:
    """(training cutoff T1, validation cutoff T2)."""
    h = timedelta(days=horizon_days)
    return run_date - 2 * h, run_date - h


def timing(cfg: Config) -> L.Timing:
    """How the purchase-timing features are fitted: in ``clv.time_unit``, bounded by ``clv.max_groups``; only
    when ``propensity.numeric_features`` names one of them."""
    wanted = bool(set(TIMING_COLUMNS) & set(cfg.propensity.numeric_features))
    return L.Timing(days_per_unit=DAYS_PER[cfg.clv.time_unit], max_groups=cfg.clv.max_groups, enabled=wanted)


def _rows(spark: SparkSession, cfg: Config, as_of: date):
    wh = warehouse(spark, cfg)
    p = cfg.propensity
    orders, events, products, customers = (wh.read(n) for n in
                                           ("orders", "events", "products", "customers"))
    return L.training_rows(orders, events, products, customers, as_of, p.horizon_days, p.lookback_days,
                           cfg.features.trend_days, timing(cfg)).persist(StorageLevel.MEMORY_AND_DISK)


def _check(rows, target: str, as_of: date) -> None:
    c = rows.agg(F.count(F.lit(1)).alias("n"), F.sum(L.LABEL).alias("pos")).first()
    n, pos = int(c["n"]), int(c["pos"] or 0)
    if n == 0 or pos == 0 or pos == n:
        raise InsufficientDataError(
            f"{target} labels at {as_of}: {pos} positive of {n} customers; both classes are needed. Use a later "
            "run date (more history) or a longer propensity.horizon_days")


def run(spark: SparkSession, cfg: Config, run_date: date) -> JobSummary:
    wh = warehouse(spark, cfg)
    p = cfg.propensity
    t1, t2 = cutoffs(run_date, p.horizon_days)
    train_all, valid_all = _rows(spark, cfg, t1), _rows(spark, cfg, t2)
    summary = JobSummary(tables=["model_versions", "model_metrics", "tuning_results"])
    version = store.version_of(run_date)
    saved, metric_rows, tuning_rows = [], [], []
    try:
        for target in p.targets:
            train, valid = L.for_target(train_all, target), L.for_target(valid_all, target)
            _check(train, target, t1)
            _check(valid, target, t2)
            for algo in p.algorithms:
                name = f"{target}_{algo}"
                settings = p.lr_grid if algo == "lr" else p.gbt_grid
                trained = M.train(train, algo, p.numeric_features, p.categorical_features, settings, cfg.seed,
                                  p.max_iter, p.parallelism, partitions=p.fit_partitions,
                                  calibration_share=p.calibration_share)
                fitted, params, tried = trained.model, trained.params, trained.tried
                preds = M.scored(fitted, valid, trained.calibrator).persist(StorageLevel.MEMORY_AND_DISK)
                rows = M.judge(preds) + M.explain(fitted, preds, algo)
                preds.unpersist()
                headline = {m: v for m, k, v in rows if k == ""}
                meta = {"target": target, "algorithm": algo, "params": params, "calibrator": trained.calibrator,
                        "features": {"numeric": M.numeric_inputs(fitted),
                                     "categorical": p.categorical_features},
                        "cutoffs": {"train": t1.isoformat(), "validate": t2.isoformat()},
                        "horizon_days": p.horizon_days, "lookback_days": p.lookback_days, "seed": cfg.seed,
                        "metrics": {m: round(v, M.SCORE_DECIMALS) for m, v in headline.items()}}
                saved.append((name, store.save(wh, fitted, name, run_date), meta))
                metric_rows += [(name, version, m, k, v) for m, k, v in rows]
                tuning_rows += [(name, params_i, {"pr_auc": v}, params_i == params) for params_i, v in tried]
                summary.metrics.update({f"{name}.{m}": round(v, 4) for m, v in headline.items()
                                        if m in ("roc_auc", "pr_auc", "log_loss", "brier", "brier_uncalibrated",
                                                 "ece", "ece_uncalibrated", "decile_calibration_gap")})
                log.info("%s version %s: %s", name, version, headline)
        # one commit per table for every model: the versions are indexed only once all models are saved
        names = {"model": [name for name, _, _ in saved]}
        store.index(wh, run_date, saved)
        wh.replace_partition(spark.createDataFrame(
            metric_rows, "model string, version string, metric string, key string, value double"),
            "model_metrics", run_date, among=names)
        wh.replace_partition(spark.createDataFrame(
            tuning_rows, "model string, params map<string,double>, metrics map<string,double>, chosen boolean"),
            "tuning_results", run_date, among=names)
        summary.rows_in = int(train_all.count())
        summary.rows_out = len(p.targets) * len(p.algorithms)
    finally:
        train_all.unpersist()
        valid_all.unpersist()
    return summary
