"""``tailor segments``: gold ``user_features`` (run_date) -> ``user_segments`` and ``segment_profiles``.

Customers with at least one purchase are clustered with K-means (:mod:`tailor.segments.kmeans`); k is
chosen by silhouette in ``[segments.k_min, segments.k_max]``. Customers with no purchase yet get segment
-1, "no purchase yet", so every row of ``user_features`` has a segment. Re-running a date replaces that
date's partitions.
"""

from __future__ import annotations

from datetime import date

from pyspark import StorageLevel
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.config import Config, warehouse
from tailor.features.rfm import is_buyer
from tailor.jobs.base import JobSummary
from tailor.segments.kmeans import profiles, segment

NO_PURCHASE_ID, NO_PURCHASE_LABEL = -1, "no purchase yet"


READS: frozenset[str] = frozenset({"user_features"})
WRITES: frozenset[str] = frozenset({"user_segments", "segment_profiles"})


def run(spark: SparkSession, cfg: Config, run_date: date) -> JobSummary:
    wh = warehouse(spark, cfg)
    sc = cfg.segments
    feats = wh.read_run("user_features", run_date).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        buyers = feats.where(is_buyer())
        seg = segment(buyers, sc.features, sc.k_min, sc.k_max, cfg.seed, sc.max_iter, sc.selection_sample_rows)
        others = feats.where(~is_buyer()).select(
            S.USER_ID, F.lit(NO_PURCHASE_ID).alias(S.SEGMENT_ID), F.lit(NO_PURCHASE_LABEL).alias(S.SEGMENT)
        )
        assigned = seg.assign(buyers).unionByName(others)
        n = wh.replace_partition(assigned, "user_segments", run_date)
        stored = wh.read_run("user_segments", run_date).drop(S.RUN_DATE)
        prof = profiles(stored, feats.drop(S.RUN_DATE), sc.features).select(
            "*",
            F.lit(seg.k).alias("k"),
            F.lit(seg.silhouettes.get(seg.k)).cast("double").alias("silhouette"),
        )
        n_prof = wh.replace_partition(prof, "segment_profiles", run_date)
    finally:
        feats.unpersist()
    metrics: dict[str, float] = {"k": seg.k, "segments": n_prof}
    metrics.update({f"silhouette.k{k}": v for k, v in seg.silhouettes.items()})
    return JobSummary(rows_in=n, rows_out=n, metrics=metrics, tables=["user_segments", "segment_profiles"])
