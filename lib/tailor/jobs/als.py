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

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor import tables
from tailor.config import Config
from tailor.errors import InsufficientDataError
from tailor.jobs.base import JobSummary
from tailor.recommend import als as A
from tailor.recommend.idmap import new_ids
from tailor.similarity.interactions import interactions

log = logging.getLogger(__name__)

READS: frozenset[str] = frozenset({"events"})
WRITES: frozenset[str] = frozenset({"id_map", "als_user_factors", "als_item_factors", "candidate_recs",
                                    "tuning_results"})
MODEL = "als"


def ensure_ids(spark: SparkSession, cfg: Config, kind: str, ids: DataFrame, run_date: date) -> DataFrame:
    """Append ids not yet in ``id_map`` for ``kind`` and return that kind's whole map."""
    existing = (tables.read(spark, cfg, "id_map").where(F.col(S.KIND) == kind)
                if tables.exists(spark, cfg, "id_map") else None)
    fresh = new_ids(ids, existing, kind, run_date)
    tables.merge_upsert(fresh, cfg, "id_map", [S.KIND, S.EXTERNAL_ID], update=False)
    return tables.read(spark, cfg, "id_map").where(F.col(S.KIND) == kind)


def _factors(model_factors: DataFrame, ids: DataFrame, id_col: str) -> DataFrame:
    return model_factors.join(ids.select(F.col(S.EXTERNAL_ID).alias(id_col), F.col(S.IDX).alias("id")), "id").select(
        id_col, F.col("id").alias(S.IDX), F.col(S.FEATURES).cast("array<float>").alias(S.FEATURES)
    )


def run(spark: SparkSession, cfg: Config, run_date: date) -> JobSummary:
    a = cfg.als
    inter = interactions(tables.read(spark, cfg, "events"), cfg.interactions.weights, run_date, a.half_life_days)
    inter = inter.persist(StorageLevel.MEMORY_AND_DISK)
    summary = JobSummary(tables=["id_map", "als_user_factors", "als_item_factors", "candidate_recs"])
    try:
        users = ensure_ids(spark, cfg, "user", inter.select(F.col(S.USER_ID).alias(S.EXTERNAL_ID)), run_date)
        items = ensure_ids(spark, cfg, "item", inter.select(F.col(S.ITEM_ID).alias(S.EXTERNAL_ID)), run_date)
        data = A.indexed(inter, users, items, A.preference(a.value, a.implicit)).persist(StorageLevel.MEMORY_AND_DISK)
        n = data.count()
        summary.rows_in = n
        if n == 0:
            raise InsufficientDataError(
                "no interactions to train ALS on" + ("" if a.implicit else " (explicit ALS needs ratings)")
            )
        params = A.AlsParams(a.rank, a.reg_param, a.alpha)
        if a.tune:
            params = _tune(spark, cfg, data, run_date, summary)
        model = A.fit(data, params, a.implicit, a.max_iter, cfg.seed, a.checkpoint_interval, a.num_blocks)
        summary.metrics.update({f"param.{k}": v for k, v in params.as_map().items()})
        summary.metrics["interactions"] = n
        summary.metrics["user_factors.rows"] = tables.replace_partition(
            _factors(model.userFactors, users, S.USER_ID), cfg, "als_user_factors", run_date)
        summary.metrics["item_factors.rows"] = tables.replace_partition(
            _factors(model.itemFactors, items, S.ITEM_ID), cfg, "als_item_factors", run_date)
        seen = data.select(A.USER_IDX, A.ITEM_IDX)
        fetch = min(A.fetch_size(seen, a.top_n, a.max_fetch), max(int(items.count()), 1))
        recs = A.to_external(A.recommend_idx(model, seen, a.top_n, fetch, a.block_size,
                                             local_max_rows=cfg.similarity.local_scoring_max_rows),
                             users, items, a.top_n)
        summary.metrics["als.rows"] = tables.replace_partition(
            recs, cfg, "candidate_recs", run_date, {S.SOURCE: MODEL})
        _save_model(spark, cfg, model, params, run_date, summary.metrics)
        data.unpersist()
    finally:
        inter.unpersist()
    summary.rows_out = int(summary.metrics["als.rows"])
    return summary


def _tune(spark: SparkSession, cfg: Config, data: DataFrame, run_date: date, summary: JobSummary) -> A.AlsParams:
    a = cfg.als
    candidates = A.grid(a.grid.rank, a.grid.reg_param, a.grid.alpha)
    results = A.tune(data, candidates, a.implicit, a.max_iter, cfg.seed, a.validation_ratio,
                     checkpoint_interval=a.checkpoint_interval, max_fetch=a.max_fetch,
                     num_blocks=a.num_blocks)
    best = max(results, key=lambda pm: (pm[1]["ndcg"], -pm[0].rank))[0]
    rows = [(MODEL, p.as_map(), m, p == best) for p, m in results]
    schema = "model string, params map<string,double>, metrics map<string,double>, chosen boolean"
    df = spark.createDataFrame(rows, schema)
    tables.replace_partition(df, cfg, "tuning_results", run_date, {"model": MODEL})
    summary.tables.append("tuning_results")
    best_metrics = dict(results)[best]
    summary.metrics.update({f"validation.{k}": v for k, v in best_metrics.items()})
    log.info("ALS tuning chose %s (validation nDCG@10 %.4f)", best, best_metrics["ndcg"])
    return best


def _save_model(spark: SparkSession, cfg: Config, model, params: A.AlsParams, run_date: date,
                metrics: dict[str, float]) -> None:
    path = tables.model_path(cfg, MODEL, run_date)
    model.write().overwrite().save(path)
    meta = {"model": MODEL, "version": run_date.isoformat(), "params": params.as_map(),
            "implicit": cfg.als.implicit, "value": cfg.als.value, "half_life_days": cfg.als.half_life_days,
            "max_iter": cfg.als.max_iter, "seed": cfg.seed, "metrics": metrics}
    spark.createDataFrame([(json.dumps(meta),)], "meta string").coalesce(1).write.mode("overwrite").text(
        f"{path}/tailor_meta")
