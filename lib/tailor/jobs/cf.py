"""``tailor cf``: ``item_similarity`` / ``user_similarity`` (run_date) + silver ``events`` -> ``candidate_recs``
partitions (run_date, source=item_cf) and (run_date, source=user_cf).

Item-CF scores unseen items by the user's time-decayed affinity (half-life ``cf.half_life_days``) times
the ``cf.item_method`` similarity; user-CF by the similarity-weighted average of the ``cf.user_method``
neighbours' interactions (skipped when ``cf.user_method`` is null). ``cf.top_n`` per user; every item the
user interacted with is excluded.
"""

from __future__ import annotations

from datetime import date

from pyspark import StorageLevel
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor import tables
from tailor.config import Config
from tailor.jobs.base import JobSummary
from tailor.recommend.neighbourhood import item_cf, user_cf
from tailor.similarity.interactions import interactions

READS: frozenset[str] = frozenset({"events", "item_similarity", "user_similarity"})
WRITES: frozenset[str] = frozenset({"candidate_recs"})


def run(spark: SparkSession, cfg: Config, run_date: date) -> JobSummary:
    c = cfg.cf
    item_sim = tables.read_run(spark, cfg, "item_similarity", run_date).where(F.col(S.METHOD) == c.item_method)
    inter = interactions(tables.read(spark, cfg, "events"), cfg.interactions.weights, run_date,
                         c.half_life_days).persist(StorageLevel.MEMORY_AND_DISK)
    summary = JobSummary(tables=["candidate_recs"])
    try:
        summary.rows_in = inter.count()
        recs = {"item_cf": item_cf(inter, item_sim, c.top_n, local_max_rows=cfg.similarity.local_scoring_max_rows)}
        if c.user_method is not None:
            user_sim = tables.read_run(spark, cfg, "user_similarity", run_date).where(
                F.col(S.METHOD) == c.user_method
            )
            recs["user_cf"] = user_cf(inter, user_sim, inter, c.top_n,
                                      local_max_rows=cfg.similarity.local_scoring_max_rows)
        for source, df in recs.items():
            n = tables.replace_partition(df, cfg, "candidate_recs", run_date, {S.SOURCE: source})
            summary.metrics[f"{source}.rows"] = n
    finally:
        inter.unpersist()
    summary.rows_out = int(sum(summary.metrics.values()))
    return summary
