"""``tailor als``: silver ``events`` -> ``id_map`` (new ids appended), ``als_user_factors``,
``als_item_factors`` (run_date), ``candidate_recs`` (run_date, source=als), ``tuning_results``
(run_date, model=als, when ``als.tune``), and the fitted model under ``<warehouse>/models/als/``.

Interactions at or before the end of run_date are turned into preferences (``als.value``), keyed by
stable int ids, and fitted with ``als.*`` (or with the best of ``als.grid`` on a validation split carved
from the interactions, when ``als.tune``). Every item a user interacted with is excluded from their
recommendations.
"""

from __future__ import annotations

import json
import logging
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor import wiring as W
from tailor.config import Config, warehouse
from tailor.jobs.base import JobSummary
from tailor.recommend import als as A
from tailor.recommend.idmap import new_ids

log = logging.getLogger(__name__)

READS: frozenset[str] = frozenset({"events"})
WRITES: frozenset[str] = frozenset({"id_map", "als_user_factors", "als_item_factors", "candidate_recs",
                                    "tuning_results"})
MODEL = "als"


def ensure_ids(spark: SparkSession, cfg: Config, kind: str, ids: DataFrame, run_date: date) -> DataFrame:
    """Append ids not yet in ``id_map`` for ``kind`` and return that kind's whole map."""
    wh = warehouse(spark, cfg)
    existing = (wh.read("id_map").where(F.col(S.KIND) == kind)
                if wh.exists("id_map") else None)
    fresh = new_ids(ids, existing, kind, run_date)
    wh.merge_upsert(fresh, "id_map", [S.KIND, S.EXTERNAL_ID], update=False)
    return wh.read("id_map").where(F.col(S.KIND) == kind)


def _factors(model_factors: DataFrame, ids: DataFrame, id_col: str) -> DataFrame:
    return model_factors.join(ids.select(F.col(S.EXTERNAL_ID).alias(id_col), F.col(S.IDX).alias("id")), "id").select(
        id_col, F.col("id").alias(S.IDX), F.col(S.FEATURES).cast("array<float>").alias(S.FEATURES)
    )


def run(spark: SparkSession, cfg: Config, run_date: date) -> JobSummary:
    wh = warehouse(spark, cfg)
    d = W.TrainData(cfg, run_date, wh.read("events"))
    summary = JobSummary(tables=["id_map", "als_user_factors", "als_item_factors", "candidate_recs"])
    try:
        fit = W.als_fit(d, ids=lambda kind, external: ensure_ids(spark, cfg, kind, external, run_date))
        n = fit.data.count()
        summary.rows_in = n
        if fit.tried is not None:
            _record_tuning(spark, cfg, fit, run_date, summary)
        summary.metrics.update({f"param.{k}": v for k, v in fit.params.as_map().items()})
        summary.metrics["interactions"] = n
        summary.metrics["user_factors.rows"] = wh.replace_partition(
            _factors(fit.model.userFactors, fit.users, S.USER_ID), "als_user_factors", run_date)
        summary.metrics["item_factors.rows"] = wh.replace_partition(
            _factors(fit.model.itemFactors, fit.items, S.ITEM_ID), "als_item_factors", run_date)
        summary.metrics["als.rows"] = wh.replace_partition(
            W.als_recommendations(d, fit), "candidate_recs", run_date, {S.SOURCE: MODEL})
        _save_model(spark, cfg, fit.model, fit.params, run_date, summary.metrics)
    finally:
        d.release()
    summary.rows_out = int(summary.metrics["als.rows"])
    return summary


def _record_tuning(spark: SparkSession, cfg: Config, fit: W.AlsFit, run_date: date, summary: JobSummary) -> None:
    wh = warehouse(spark, cfg)
    rows = [(MODEL, p.as_map(), m, p == fit.params) for p, m in fit.tried]
    schema = "model string, params map<string,double>, metrics map<string,double>, chosen boolean"
    wh.replace_partition(spark.createDataFrame(rows, schema), "tuning_results", run_date, {"model": MODEL})
    summary.tables.append("tuning_results")
    best_metrics = dict(fit.tried)[fit.params]
    summary.metrics.update({f"validation.{k}": v for k, v in best_metrics.items()})
    log.info("ALS tuning chose %s (validation nDCG@10 %.4f)", fit.params, best_metrics["ndcg"])


def _save_model(spark: SparkSession, cfg: Config, model, params: A.AlsParams, run_date: date,
                metrics: dict[str, float]) -> None:
    wh = warehouse(spark, cfg)
    path = wh.model_path(MODEL, run_date)
    model.write().overwrite().save(path)
    meta = {"model": MODEL, "version": run_date.isoformat(), "params": params.as_map(),
            "implicit": cfg.als.implicit, "value": cfg.als.value, "half_life_days": cfg.als.half_life_days,
            "max_iter": cfg.als.max_iter, "seed": cfg.seed, "metrics": metrics}
    spark.createDataFrame([(json.dumps(meta),)], "meta string").coalesce(1).write.mode("overwrite").text(
        f"{path}/tailor_meta")
