"""``tailor similarity``: silver ``events`` -> ``item_similarity`` and ``user_similarity`` (run_date, method).

Interactions are built from events at or before the end of run_date (weights: ``interactions.weights``).
Item-item pairs use each user's ``interactions.max_items_per_user`` most recent items; user-user pairs use
each item's ``interactions.max_users_per_item`` most recent users. For each configured method the top
``similarity.top_k`` neighbours per entity are written (pairs sharing fewer than ``similarity.min_co_count``
are dropped; scores shrunk by ``co / (co + similarity.shrinkage)``). Cosine and jaccard share one pass: the
grouped sparse products of :mod:`tailor.similarity.local` when the capped input has at most
``similarity.local_scoring_max_rows`` rows (bounded by min(interactions, baskets x cap), not counted), one
self-join otherwise.
Rating-based methods are skipped, with a warning and a metric, when the events carry no ratings. Each
(run_date, method) partition is replaced.
"""

from __future__ import annotations

import logging
from datetime import date

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor import tables
from tailor.config import Config
from tailor.jobs.base import JobSummary
from tailor.similarity.interactions import WEIGHT, cap_per, capped_rows, interactions
from tailor.similarity.lsh import LSH_METHOD, minhash_jaccard
from tailor.similarity.pairs import RATING_METHODS, SHARED_METHODS, similarities, similarity

log = logging.getLogger(__name__)

READS: frozenset[str] = frozenset({"events"})
WRITES: frozenset[str] = frozenset({"item_similarity", "user_similarity"})


def _write(pairs_of: DataFrame, rows: int, by: str, entity: str, methods: list[str], cfg: Config, table: str,
           run_date: date, has_ratings: bool, summary: JobSummary) -> None:
    sc = cfg.similarity
    # cosine and jaccard come from one pass (grouped, or one self-join), kept while each is written
    shared = [m for m in methods if m in SHARED_METHODS]
    both = None
    if shared:
        both = similarities(pairs_of, by, entity, WEIGHT, shared, sc.min_co_count, sc.shrinkage, sc.top_k,
                            local_max_rows=sc.local_scoring_max_rows, rows=rows)
        if len(shared) > 1:
            both = both.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        for method in methods:
            if method in RATING_METHODS and not has_ratings:
                log.warning("%s %s skipped: the events carry no ratings", table, method)
                summary.metrics[f"{table}.{method}.skipped"] = 1
                continue
            if method == LSH_METHOD:
                sim = minhash_jaccard(pairs_of, by=by, entity=entity, min_jaccard=sc.lsh_min_jaccard,
                                      hash_tables=sc.lsh_hash_tables, seed=cfg.seed, min_co=sc.min_co_count,
                                      top_k=sc.top_k)
            elif method in SHARED_METHODS:
                sim = both.where(F.col(S.METHOD) == method)
            else:
                sim = similarity(pairs_of.where(F.col(S.RATING).isNotNull()), by=by, entity=entity,
                                 value=S.RATING, method=method, min_co=sc.min_co_count, shrinkage=sc.shrinkage,
                                 top_k=sc.top_k)
            n = tables.replace_partition(sim.drop(S.METHOD), cfg, table, run_date, {S.METHOD: method})
            summary.metrics[f"{table}.{method}.rows"] = n
    finally:
        if both is not None:
            both.unpersist()
    summary.tables.append(table)


def run(spark: SparkSession, cfg: Config, run_date: date) -> JobSummary:
    ic = cfg.interactions
    inter = interactions(tables.read(spark, cfg, "events"), ic.weights, run_date).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    summary = JobSummary()
    try:
        stats = inter.agg(
            F.count(F.lit(1)).alias("n"), F.countDistinct(S.USER_ID).alias("users"),
            F.countDistinct(S.ITEM_ID).alias("items"), F.count(S.RATING).alias("rated"),
        ).first()
        summary.rows_in = stats["n"]
        summary.metrics.update({"interactions": stats["n"], "users": stats["users"], "items": stats["items"]})
        has_ratings = stats["rated"] > 0
        # a capped input has at most min(interactions, baskets x cap) rows: a bound, with no count of it
        by_user = inter.transform(cap_per(S.USER_ID, S.ITEM_ID, ic.max_items_per_user))
        _write(by_user, capped_rows(stats["n"], stats["users"], ic.max_items_per_user), S.USER_ID, S.ITEM_ID,
               cfg.similarity.item_methods, cfg, "item_similarity", run_date, has_ratings, summary)
        by_item = inter.transform(cap_per(S.ITEM_ID, S.USER_ID, ic.max_users_per_item))
        _write(by_item, capped_rows(stats["n"], stats["items"], ic.max_users_per_item), S.ITEM_ID, S.USER_ID,
               cfg.similarity.user_methods, cfg, "user_similarity", run_date, has_ratings, summary)
    finally:
        inter.unpersist()
    summary.rows_out = int(sum(v for k, v in summary.metrics.items() if k.endswith(".rows")))
    return summary
