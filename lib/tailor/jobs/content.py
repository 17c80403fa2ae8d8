"""``tailor content``: silver ``products`` + ``events`` -> ``item_similarity`` (run_date, method=tfidf) and
``candidate_recs`` (run_date, source=content).

TF-IDF over title, description, category and brand (``content.*``); item neighbours by cosine through an
inverted index; a user's recommendations are the content neighbours of what they interacted with, weighted
by their time-decayed interest (the user interest vector; see :mod:`tailor.recommend.content`). Items with no
interactions yet are reached through their words.
"""

from __future__ import annotations

from datetime import date

from pyspark import StorageLevel
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.config import Config, warehouse
from tailor.errors import NotApplicable
from tailor.jobs.base import JobSummary
from tailor.recommend import content as C
from tailor.wiring import TrainData, content_similarity_of, content_source

READS: frozenset[str] = frozenset({"products", "events"})
WRITES: frozenset[str] = frozenset({"item_similarity", "candidate_recs"})


def run(spark: SparkSession, cfg: Config, run_date: date) -> JobSummary:
    wh = warehouse(spark, cfg)
    products = wh.read("products")
    events = wh.read("events")
    summary = JobSummary(tables=["item_similarity", "candidate_recs"])
    texts = [F.col(c) for c in (S.TITLE, S.DESCRIPTION, S.CATEGORY, S.BRAND)]
    described = products.where(F.coalesce(*texts).isNotNull()).limit(2).count()
    if described < 2:
        raise NotApplicable(f"content similarity needs at least 2 products with a title, description, category "
                            f"or brand; the catalogue has {described}")
    sim = content_similarity_of(cfg, products).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        summary.rows_in = products.count()
        summary.metrics["item_similarity.tfidf.rows"] = wh.replace_partition(
            sim.drop(S.METHOD), "item_similarity", run_date, {S.METHOD: C.METHOD})
        data = TrainData(cfg, run_date, events, products, groups=None, users=None)
        try:
            summary.metrics["content.rows"] = wh.replace_partition(
                content_source(data, sim), "candidate_recs", run_date, {S.SOURCE: "content"})
        finally:
            data.release()
        summary.metrics["items_with_neighbours"] = sim.select(F.countDistinct(S.ENTITY)).first()[0]
    finally:
        sim.unpersist()
    summary.rows_out = int(summary.metrics["item_similarity.tfidf.rows"] + summary.metrics["content.rows"])
    return summary
