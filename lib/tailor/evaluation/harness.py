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
import time
from dataclasses import dataclass
from datetime import date, timedelta
from functools import reduce

from pyspark import StorageLevel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.asof import before_cutoff, cutoff
from tailor.config import Config
from tailor.evaluation.beyond import beyond_by
from tailor.evaluation.ranking import ranking_by
from tailor.evaluation.split import per_user_split
from tailor.recommend import hybrid as H
from tailor.recommend import popularity as P
from tailor.recommend import sources as SRC
from tailor.similarity.interactions import interactions

log = logging.getLogger(__name__)
HYBRID, SEEDS_RULE = "hybrid", "hybrid_seeds_rule"
RECOMMENDER = "recommender"


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
    ``source``, checkpointed."""
    data = SRC.TrainData(cfg, fold.as_of, fold.train, products, groups)
    data.users = data.keep("users", fold.truth.select(S.USER_ID).distinct())  # every source reads them
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
        df = df.withColumn(S.SOURCE, F.lit(s))  # every source scores only data.users
        out = df if out is None else out.unionByName(df)
    try:
        return out.checkpoint()  # eager; the lineage (every source's fit) would make each later plan huge
    finally:
        if lists is not None:
            lists.unpersist()
        data.release()


def _pairs(events: DataFrame) -> DataFrame:
    return events.select(S.USER_ID, S.ITEM_ID).distinct()


def score_all(recs: dict[str, DataFrame], truth: DataFrame, train_pairs: DataFrame, ks: list[int],
              catalogue: DataFrame) -> list[tuple[str, int, str, float]]:
    """(recommender, k, metric, value) for every recommender and k: every list scanned once for the
    ranking metrics and once for the beyond-accuracy ones, whatever the number of recommenders and ks."""
    union = reduce(DataFrame.unionByName, [df.select(S.USER_ID, S.ITEM_ID, S.RANK).withColumn(RECOMMENDER, F.lit(n))
                                           for n, df in recs.items()])
    ranking = ranking_by(union, truth, ks, recs, RECOMMENDER)
    beyond = beyond_by(union, ks, recs, RECOMMENDER, train_pairs, catalogue)
    return [(n, k, metric, float(value)) for n in recs for k in ks
            for metric, value in {**ranking[(n, k)], **beyond[(n, k)]}.items()]


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
    t0 = time.perf_counter()
    content_sim = None
    if "content" in cfg.evaluation.sources:
        content_sim = SRC.content_similarity_of(cfg, products).persist(StorageLevel.MEMORY_AND_DISK)
    if h.search_users is not None:
        validation = Fold(validation.as_of, validation.train,
                          sample_users(validation.truth, h.search_users, cfg.seed))
    # a fold's truth is a join of the window's purchases with every interaction before it: read by every
    # source (its users) and by the scoring, so computed once (M: 9 s for the sampled validation users)
    validation = Fold(validation.as_of, validation.train, validation.truth.persist(StorageLevel.MEMORY_AND_DISK))
    test = Fold(test.as_of, test.train, test.truth.persist(StorageLevel.MEMORY_AND_DISK))
    val = candidates(cfg, validation, products, groups, cfg.evaluation.sources, content_sim)
    sources = sorted(r[0] for r in val.select(S.SOURCE).distinct().collect())  # one row per source
    val_norm = H.normalised(val, h.normalise)
    extra = []
    if h.novelty:
        val_norm = H.with_novelty(val_norm, H.item_information(_pairs(validation.train)))
        extra = [H.NOVELTY]
    # Every recommender is judged as it would be served: through the same filters as the hybrid (bought,
    # catalogue, category cap). Each source alone: its nDCG is the seeds' rule's effect, the best one's
    # coverage is the floor, and the search starts from the best of them and the seeds' rule.
    scorer = H.scorer(val_norm, validation.truth, k_search, catalogue, h.max_per_category)
    served = dict(zip(sources, scorer.score([{s: 1.0} for s in sources]), strict=True))
    effects = {s: v[0] for s, v in served.items()}
    top_source = max(sources, key=lambda s: effects[s])
    floor = served[top_source][1] if h.keep_coverage else 0
    log.info("validation nDCG@%d per source (%d users): %s; coverage floor %d items (%s); %.0f s", k_search,
             scorer.n_users, effects, floor, top_source, time.perf_counter() - t0)
    tried = H.search_weights(scorer, effects, h.weight_grid, h.search_rounds, floor, extra, served)
    winner = H.best(tried, floor)
    chosen, seeds = winner.weights, tried[0].weights
    log.info("weight search: %d settings, chose %s; %.0f s", len(tried), chosen, time.perf_counter() - t0)

    test_c = candidates(cfg, test, products, groups, cfg.evaluation.sources, content_sim)
    bought = test.train.where(F.col(S.EVENT_TYPE) == S.PURCHASE).select(S.USER_ID, S.ITEM_ID)  # membership only
    info = H.item_information(_pairs(test.train)) if h.novelty else None
    top_n = max(max(ks), h.top_n)
    settings = {**{s: {s: 1.0} for s in sources}, HYBRID: chosen, SEEDS_RULE: seeds}
    served = H.serve(test_c, bought, catalogue, settings, top_n, h.max_per_category, h.normalise, info,
                     cfg.similarity.local_scoring_max_rows).checkpoint()  # every list from one pass
    recs = {name: served.where(F.col(H.RECOMMENDER) == name).drop(H.RECOMMENDER) for name in settings}
    log.info("test candidates of %d sources; %.0f s", len(sources), time.perf_counter() - t0)
    # read once for every recommender and k, not once per metric
    truth = test.truth
    train_pairs = _pairs(test.train).persist(StorageLevel.MEMORY_AND_DISK)
    n_users = truth.select(S.USER_ID).distinct().count()
    rows = score_all(recs, truth, train_pairs, ks, catalogue)
    rows += [(name, ks[0], "users", float(n_users)) for name in recs]
    log.info("test metrics of %d recommenders at k %s; %.0f s", len(recs), ks, time.perf_counter() - t0)
    truth.unpersist()
    validation.truth.unpersist()
    train_pairs.unpersist()
    if content_sim is not None:
        content_sim.unpersist()
    return rows, tried, winner


def groups_of(customers: DataFrame) -> DataFrame:
    """Popularity groups for evaluation: country only (segments are computed on all the data, so they would
    leak the test window)."""
    return customers.where(F.col(S.COUNTRY).isNotNull()).select(
        F.col(S.CUSTOMER_ID).alias(S.USER_ID), F.lit(P.COUNTRY).alias(P.SCOPE), F.col(S.COUNTRY).alias(P.GROUP)
    )



def sample_users(truth: DataFrame, n: int, seed: int) -> DataFrame:
    """The rows of ``truth`` of at most ``n`` of its users: those first by a seeded hash of the user id."""
    users = truth.select(S.USER_ID).distinct()
    chosen = users.orderBy(F.xxhash64(S.USER_ID, F.lit(seed)), S.USER_ID).limit(n)
    return truth.join(chosen, S.USER_ID, "left_semi")
