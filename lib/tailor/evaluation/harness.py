"""Score every recommender side by side, and learn the hybrid's weights, on splits that never leak.

A :class:`Fold` is training events plus the truth to predict. Two ways to make one:

- :func:`time_fold`: train on events up to ``as_of``; truth is each user's purchases in the following
  ``horizon_days``, of items the user had not interacted with before (recommenders never repeat those);
- :func:`per_user_fold`: each user's interactions split 75/25 in a seeded hash order (the recommenders
  project's stratified split); train on the events of the 75 %, truth is the 25 %.

:func:`evaluate` runs on two folds: a validation fold, carved before (or from) the training data, where
each source is scored and the blend weights are searched; then the test fold, where every source and the
hybrid are scored once. Every recommender is scored as it would be served: through the business filters
(bought, catalogue, ``hybrid.max_per_category``), so that a source and the hybrid compete on equal terms.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.config import Config
from tailor.evaluation.beyond import beyond_accuracy
from tailor.evaluation.ranking import ranking_metrics
from tailor.evaluation.split import per_user_split
from tailor.features.profile import before_cutoff, cutoff
from tailor.recommend import hybrid as H
from tailor.recommend import popularity as P
from tailor.recommend import sources as SRC
from tailor.similarity.interactions import interactions

log = logging.getLogger(__name__)
HYBRID, SEEDS_RULE = "hybrid", "hybrid_seeds_rule"


@dataclass
class Fold:
    as_of: date
    train: DataFrame
    """Training events (silver ``events`` rows)."""
    truth: DataFrame
    """user_id, item_id to predict."""


def time_fold(events: DataFrame, as_of: date, horizon_days: int, weights: dict[str, float]) -> Fold:
    train = events.where(before_cutoff(as_of))
    seen = interactions(train, weights, as_of).select(S.USER_ID, S.ITEM_ID)
    end = cutoff(as_of + timedelta(days=horizon_days))
    bought = events.where(
        (F.col(S.EVENT_TYPE) == S.PURCHASE) & (F.col(S.TS) >= F.lit(cutoff(as_of))) & (F.col(S.TS) < F.lit(end))
    ).select(S.USER_ID, S.ITEM_ID).distinct()
    return Fold(as_of, train, bought.join(seen, [S.USER_ID, S.ITEM_ID], "left_anti"))


def per_user_fold(events: DataFrame, as_of: date, ratio: float, seed: int) -> Fold:
    pairs = events.where(before_cutoff(as_of)).select(S.USER_ID, S.ITEM_ID).distinct()
    train_pairs, test_pairs = per_user_split(pairs, ratio, seed)
    train = events.join(train_pairs, [S.USER_ID, S.ITEM_ID], "left_semi")
    return Fold(as_of, train, test_pairs)


def candidates(cfg: Config, fold: Fold, products: DataFrame, groups: DataFrame, sources: list[str],
               content_sim: DataFrame | None) -> DataFrame:
    """Every requested source, fitted on ``fold.train``, for the users of ``fold.truth``; one frame with
    ``source``, persisted (the caller unpersists)."""
    users = fold.truth.select(S.USER_ID).distinct()
    data = SRC.TrainData(cfg, fold.as_of, fold.train, products, groups, users)
    lists = SRC.popular_lists(data).persist(StorageLevel.MEMORY_AND_DISK) if {"popular", "trending"} & set(
        sources) else None
    out = None
    for s in sources:
        if s not in SRC.SOURCES:
            log.warning("source %s is not available yet; skipped", s)
            continue
        if s == "content":
            df = SRC.content_source(data, content_sim)
        elif s in ("popular", "trending"):
            df = SRC.SOURCES[s](data, lists)
        else:
            df = SRC.SOURCES[s](data)
        df = df.join(users, S.USER_ID, "left_semi").withColumn(S.SOURCE, F.lit(s))
        out = df if out is None else out.unionByName(df)
    result = out.persist(StorageLevel.MEMORY_AND_DISK)
    result.count()
    if lists is not None:
        lists.unpersist()
    return result


def _pairs(events: DataFrame) -> DataFrame:
    return events.select(S.USER_ID, S.ITEM_ID).distinct()


def _scores(recs: DataFrame, truth: DataFrame, train_pairs: DataFrame, k: int,
            catalogue: DataFrame) -> dict[str, float]:
    m = ranking_metrics(recs, truth, k)
    m.update(beyond_accuracy(recs, k, train_pairs, catalogue))
    return m


def evaluate(cfg: Config, validation: Fold, test: Fold, products: DataFrame, groups: DataFrame,
             ks: list[int]) -> tuple[list[tuple[str, int, str, float]], list[H.Tried], H.Tried]:
    """Score the sources and the hybrid.

    Returns:
        (rows of (recommender, k, metric, value) on the test fold, the weight settings tried on validation
        with their nDCG, coverage and how they were made, the chosen one).
    """
    k_search = cfg.evaluation.search_k if cfg.evaluation.search_k in ks else ks[0]
    h = cfg.hybrid
    catalogue = products.select(F.col(S.PRODUCT_ID).alias(S.ITEM_ID), S.CATEGORY)
    content_sim = None
    if "content" in cfg.evaluation.sources:
        content_sim = SRC.content_similarity_of(cfg, products).persist(StorageLevel.MEMORY_AND_DISK)
    val = candidates(cfg, validation, products, groups, cfg.evaluation.sources, content_sim)
    sources = sorted(r[0] for r in val.select(S.SOURCE).distinct().collect())  # one row per source
    val_norm = H.normalised(val, h.normalise)
    extra = []
    if h.novelty:
        val_norm = H.with_novelty(val_norm, H.item_information(_pairs(validation.train)))
        extra = [H.NOVELTY]
    val_norm = val_norm.persist(StorageLevel.MEMORY_AND_DISK)
    # Every recommender is judged as it would be served: through the same filters as the hybrid (bought,
    # catalogue, category cap). Each source alone: its nDCG is the seeds' rule's effect, the best one's
    # coverage is the floor, and the search starts from the best of them and the seeds' rule.
    cap = {"categories": catalogue, "max_per_category": h.max_per_category}
    served = dict(zip(sources, H.score_weights(val_norm, validation.truth, [{s: 1.0} for s in sources], k_search,
                                               **cap), strict=True))
    effects = {s: v[0] for s, v in served.items()}
    top_source = max(sources, key=lambda s: effects[s])
    floor = served[top_source][1] if h.keep_coverage else 0
    log.info("validation nDCG@%d per source: %s; coverage floor %d items (%s)", k_search, effects, floor,
             top_source)
    tried = H.search_weights(val_norm, validation.truth, effects, h.weight_grid, h.search_rounds, k_search,
                             floor, extra, served, **cap)
    val_norm.unpersist()
    val.unpersist()
    winner = H.best(tried, floor)
    chosen, seeds = winner.weights, tried[0].weights

    test_c = candidates(cfg, test, products, groups, cfg.evaluation.sources, content_sim)
    bought = test.train.where(F.col(S.EVENT_TYPE) == S.PURCHASE).select(S.USER_ID, S.ITEM_ID).distinct()
    norm = H.normalised(test_c, h.normalise)
    if h.novelty:
        norm = H.with_novelty(norm, H.item_information(_pairs(test.train)))
    norm = norm.persist(StorageLevel.MEMORY_AND_DISK)
    top_n = max(max(ks), h.top_n)
    recs = {}
    for name, w in [(s, {s: 1.0}) for s in sources] + [(HYBRID, chosen), (SEEDS_RULE, seeds)]:
        recs[name] = H.finalise(H.blend(norm, w), bought, catalogue, top_n, h.max_per_category).persist(
            StorageLevel.MEMORY_AND_DISK)
    rows = []
    # read once for every recommender and k, not once per metric
    truth = test.truth.persist(StorageLevel.MEMORY_AND_DISK)
    train_pairs = _pairs(test.train).persist(StorageLevel.MEMORY_AND_DISK)
    n_users = truth.select(S.USER_ID).distinct().count()
    for name, df in recs.items():
        for k in ks:
            for metric, value in _scores(df, truth, train_pairs, k, catalogue).items():
                rows.append((name, k, metric, float(value)))
        rows.append((name, ks[0], "users", float(n_users)))
    truth.unpersist()
    train_pairs.unpersist()
    for df in recs.values():
        df.unpersist()
    norm.unpersist()
    test_c.unpersist()
    if content_sim is not None:
        content_sim.unpersist()
    return rows, tried, winner


def groups_of(customers: DataFrame) -> DataFrame:
    """Popularity groups for evaluation: country only (segments are computed on all the data, so they would
    leak the test window)."""
    return customers.where(F.col(S.COUNTRY).isNotNull()).select(
        F.col(S.CUSTOMER_ID).alias(S.USER_ID), F.lit(P.COUNTRY).alias(P.SCOPE), F.col(S.COUNTRY).alias(P.GROUP)
    )

