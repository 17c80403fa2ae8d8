"""Propensity models out of time, and against scikit-learn and LightGBM on the same rows.

For each target data set (the synthetic shop at a scale, or Online Retail) the warehouse is ingested, then
the rows of ``tailor train-propensity`` are built exactly as the job builds them (features as of
T1 = R - 2H with labels from (T1, T1 + H] to train; as of T2 = R - H to validate). Tailor's pipelines are
tuned on T1 and judged on T2 (ROC-AUC, and the decile lift table). The peers get the same two tables (to
pandas: a benchmark may), the same preprocessing (median imputation, one-hot categoricals, standardised for
LR) and balanced class weights: scikit-learn's LogisticRegression with the elastic-net setting Tailor chose
(C = 1 / (n · regParam), l1_ratio = elasticNetParam) and LightGBM (its defaults, 100 trees).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

from benchmarks.common import machine_facts, write_results

ROOT = Path(__file__).resolve().parents[1]
CALIBRATION = ("brier_uncalibrated", "brier", "ece_uncalibrated", "ece", "decile_calibration_gap")
TARGETS = {
    "S": (date(2026, 11, 23), ["synthetic.scale=S"]),
    "M": (date(2026, 11, 23), ["synthetic.scale=M"]),
    # the Online Retail definition: churn is no purchase in the next 90 days
    "online_retail": (date(2011, 12, 10), [
        "ingest.source=online_retail", "ingest.max_reject_ratio=0.5",
        "sources.online_retail.path={data}/online_retail/online_retail.parquet",
        "propensity.horizon_days=90", "propensity.lookback_days=180"]),
    # CDNOW's whole cohort (lifetimes' CDNOW_master.txt): one CD shop, 18 months, no seasonality to speak of
    "cdnow": (date(1998, 6, 30), [
        "{cdnow_source}", "ingest.source=csv", "ingest.dedupe=off", "ingest.free_items=true",
        "propensity.horizon_days=90", "propensity.lookback_days=180"]),
}


def _peers(train, valid, numeric, categorical, reg_param: float, l1_ratio: float) -> dict[str, float]:
    import lightgbm as lgb
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    def prep(df, medians, columns):
        x = df[numeric].astype(float).fillna(medians)
        dummies = pd.get_dummies(df[categorical].fillna("__missing__").astype(str), dtype=float)
        x = pd.concat([x, dummies], axis=1)
        return x.reindex(columns=columns, fill_value=0.0) if columns is not None else x

    medians = train[numeric].astype(float).median()
    xt = prep(train, medians, None)
    xv = prep(valid, medians, list(xt.columns))
    yt, yv = train["label"].to_numpy(), valid["label"].to_numpy()
    scaler = StandardScaler().fit(xt)
    t0 = time.perf_counter()
    # Spark minimises mean(loss) + λ(α|w|₁ + (1-α)/2 |w|²); scikit-learn C·Σ loss + the same penalty
    c = 1.0 / (max(reg_param, 1e-9) * len(yt))
    lr = LogisticRegression(C=c, penalty="elasticnet", l1_ratio=l1_ratio, solver="saga", class_weight="balanced",
                            max_iter=5000, random_state=42).fit(scaler.transform(xt), yt)
    t1 = time.perf_counter()
    gbm = lgb.LGBMClassifier(class_weight="balanced", random_state=42, verbose=-1).fit(xt, yt)
    t2 = time.perf_counter()
    return {
        "sklearn_lr_auc": float(roc_auc_score(yv, lr.predict_proba(scaler.transform(xv))[:, 1])),
        "lightgbm_auc": float(roc_auc_score(yv, gbm.predict_proba(xv)[:, 1])),
        "sklearn_lr_s": round(t1 - t0, 2), "lightgbm_s": round(t2 - t1, 2),
        "rows_train": len(yt), "rows_valid": len(yv), "positive_rate_valid": float(np.mean(yv)),
    }


def _cdnow_source(workdir: Path, cdnow: str | None) -> str:
    from benchmarks.clv_bench import MASTER, SOURCE, _datasets

    folder = _datasets(cdnow, workdir / "cdnow-download")
    return SOURCE.format(*MASTER, path=folder / "CDNOW_master.txt", header="true")


def run_target(name: str, data: str, workdir: Path, overrides: tuple[str, ...] = (),
               cdnow: str | None = None) -> tuple[list[dict], list[str]]:
    from pyspark import StorageLevel

    from tailor.config import load_config, warehouse
    from tailor.jobs import JOBS
    from tailor.jobs.base import execute
    from tailor.jobs.train_propensity import cutoffs, timing
    from tailor.propensity import labels as L
    from tailor.propensity import model as M
    from tailor.spark import get_spark

    run_date, settings = TARGETS[name]
    cdnow_source = _cdnow_source(workdir, cdnow) if name == "cdnow" else ""
    cfg = load_config([str(ROOT / "conf" / "local.yaml")],
                      [f"warehouse={workdir / name}", f"spark.jars_dir={ROOT / '.jars'}",
                       *[s.format(data=data) if s != "{cdnow_source}" else cdnow_source for s in settings],
                       *overrides])
    spark = get_spark(cfg)
    execute("ingest", JOBS["ingest"], spark, cfg, run_date)
    p = cfg.propensity
    t1, t2 = cutoffs(run_date, p.horizon_days)
    src = [warehouse(spark, cfg).read(n) for n in ("orders", "events", "products", "customers")]
    rows_t1 = L.training_rows(*src, t1, p.horizon_days, p.lookback_days, cfg.features.trend_days,
                              timing(cfg)).persist(StorageLevel.MEMORY_AND_DISK)
    rows_t2 = L.training_rows(*src, t2, p.horizon_days, p.lookback_days, cfg.features.trend_days,
                              timing(cfg)).persist(StorageLevel.MEMORY_AND_DISK)
    results, md = [], [f"## {name}", "", f"run date {run_date}, horizon {p.horizon_days} days, lookback "
                       f"{p.lookback_days}; train as of {t1}, validate as of {t2}", "",
                       "| target | model | ROC-AUC | PR-AUC | fit s | setting |",
                       "| --- | --- | ---: | ---: | ---: | --- |"]
    lift_md, calib_md = [], []
    for target in p.targets:
        train, valid = L.for_target(rows_t1, target), L.for_target(rows_t2, target)
        chosen = {}
        for algo in p.algorithms:
            t0 = time.perf_counter()
            trained = M.train(train, algo, p.numeric_features, p.categorical_features,
                              p.lr_grid if algo == "lr" else p.gbt_grid, cfg.seed, p.max_iter, p.parallelism,
                              partitions=p.fit_partitions, calibration_share=p.calibration_share)
            fitted, params = trained.model, trained.params
            took = time.perf_counter() - t0
            got = {(m, k): v for m, k, v in M.judge(M.scored(fitted, valid, trained.calibrator))}
            chosen[algo] = params
            results.append({"target": name, "label": target, "model": f"tailor_{algo}", "auc": got[("roc_auc", "")],
                            "pr_auc": got[("pr_auc", "")], "seconds": round(took, 1), "params": params,
                            "lift": {d: got[("lift", str(d))] for d in range(1, 11)},
                            "capture": {d: got[("capture", str(d))] for d in range(1, 11)},
                            "calibration": {m: got[(m, "")] for m in CALIBRATION},
                            "decile_predicted": {d: got[("decile_predicted", str(d))] for d in range(1, 11)},
                            "decile_rate": {d: got[("decile_rate", str(d))] for d in range(1, 11)}})
            calib_md.append(f"| {target} | {algo} | " + " | ".join(f"{got[(m, '')]:.4f}" for m in CALIBRATION)
                            + " | " + " / ".join(f"{got[('decile_predicted', str(d))]:.3f}:"
                                                 f"{got[('decile_rate', str(d))]:.3f}" for d in (10, 5, 1)) + " |")
            md.append(f"| {target} | Tailor {algo} | {got[('roc_auc', '')]:.4f} | {got[('pr_auc', '')]:.4f} | "
                      f"{took:.1f} | {params} |")
            lift_md.append(f"| {target} | {algo} | " + " | ".join(
                f"{got[('lift', str(d))]:.2f}" for d in range(10, 0, -1)) + f" | {got[('capture', '8')]:.2f} |")
        numeric = M.usable_numeric(train, p.numeric_features)  # what Tailor's pipelines used
        cols = [*numeric, *p.categorical_features, "label"]
        peers = _peers(train.select(*cols).toPandas(), valid.select(*cols).toPandas(),  # benchmark only
                       numeric, p.categorical_features, chosen.get("lr", {}).get("regParam", 0.01),
                       chosen.get("lr", {}).get("elasticNetParam", 0.0))
        results.append({"target": name, "label": target, **peers})
        md.append(f"| {target} | scikit-learn LR | {peers['sklearn_lr_auc']:.4f} | | {peers['sklearn_lr_s']} | "
                  f"Tailor's setting (C = 1/(n·regParam)), balanced |")
        md.append(f"| {target} | LightGBM | {peers['lightgbm_auc']:.4f} | | {peers['lightgbm_s']} | defaults, "
                  f"balanced |")
        md.append(f"| {target} | rows | train {peers['rows_train']}, validate {peers['rows_valid']} | "
                  f"positive rate {peers['positive_rate_valid']:.3f} | | |")
    rows_t1.unpersist()
    rows_t2.unpersist()
    md += ["", "Decile lift (validation), decile 10 first, and the capture of the top three deciles:", "",
           "| target | model | " + " | ".join(f"d{d}" for d in range(10, 0, -1)) + " | top-3 capture |",
           "| --- | --- | " + " | ".join("---:" for _ in range(10)) + " | ---: |", *lift_md, "",
           "Calibration on the validation cutoff (the calibrator learnt on a held-out slice of the training "
           "cutoff's customers). Decile gap: the largest |mean predicted - observed rate| over the ten deciles; "
           "the last column gives predicted:observed for deciles 10, 5 and 1:", "",
           "| target | model | Brier before | Brier after | ECE before | ECE after | decile gap | d10 / d5 / d1 |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |", *calib_md, ""]
    shutil.rmtree(workdir / name, ignore_errors=True)
    return results, md


def main(targets: list[str], data: str, overrides: tuple[str, ...] = (), cdnow: str | None = None) -> Path:
    from pyspark.sql import SparkSession

    workdir = Path(tempfile.mkdtemp(prefix="tailor-propensity-"))
    results, md = [], []
    for name in targets:
        print(f"target {name}", flush=True)
        r, part = run_target(name, data, workdir, overrides, cdnow)
        results += r
        md += part
        print("\n".join(part), flush=True)
    facts = machine_facts(SparkSession.getActiveSession())
    shutil.rmtree(workdir, ignore_errors=True)
    return write_results("propensity", {**facts, "targets": targets, "overrides": list(overrides)}, results,
                         "\n".join(md))
