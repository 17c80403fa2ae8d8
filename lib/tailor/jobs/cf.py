"""``tailor cf``: ``item_similarity`` / ``user_similarity`` (run_date) + silver ``events`` -> ``candidate_recs``
partitions (run_date, source=item_cf) and (run_date, source=user_cf).

Item-CF scores unseen items by the user's time-decayed affinity (half-life ``cf.half_life_days``) times
the ``cf.item_method`` similarity; user-CF by the similarity-weighted average of the ``cf.user_method``
neighbours' interactions (skipped when ``cf.user_method`` is null). ``cf.top_n`` per user; every item the
user interacted with is excluded.
"""

from __future__ import annotations

from datetime import date

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor import wiring as W
from tailor.config import Config, warehouse
from tailor.jobs.base import JobSummary

READS: frozenset[str] = frozenset({"events", "item_similarity", "user_similarity"})
WRITES: frozenset[str] = frozenset({"candidate_recs"})


def run(spark: SparkSession, cfg: Config, run_date: date) -> JobSummary:
    wh = warehouse(spark, cfg)
    c = cfg.cf
    d = W.TrainData(cfg, run_date, wh.read("events"))
    summary = JobSummary(tables=["candidate_recs"])
    try:
        summary.rows_in = d.interactions(c.half_life_days)[1]
        item_sim = wh.read_run("item_similarity", run_date).where(F.col(S.METHOD) == c.item_method)
        recs = {"item_cf": W.item_cf_source(d, item_sim)}
        if c.user_method is not None:
            user_sim = wh.read_run("user_similarity", run_date).where(
                F.col(S.METHOD) == c.user_method)
            recs["user_cf"] = W.user_cf_source(d, user_sim)
        for source, df in recs.items():
            n = wh.replace_partition(df, "candidate_recs", run_date, {S.SOURCE: source})
            summary.metrics[f"{source}.rows"] = n
    finally:
        d.release()
    summary.rows_out = int(sum(summary.metrics.values()))
    return summary
