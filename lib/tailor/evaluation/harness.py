"""Folds that never leak, and the scoring of recommendation lists against them.

A :class:`Fold` is training events plus the truth to predict. Two ways to make one:

- :func:`time_fold`: train on events up to ``as_of``; truth is each user's purchases in the following
  ``horizon_days``, of items the user had not interacted with before (recommenders never repeat those);
- :func:`per_user_fold`: each user's interactions split 75/25 in a seeded hash order (the recommenders
  project's stratified split); train on the events of the 75 %, truth is the 25 %.

:func:`score_all` scores any number of lists in two scans. Fitting the recommenders on a fold and learning
the hybrid's weights is :func:`tailor.wiring.evaluate`, beside the jobs' own wiring of each recommender.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import reduce

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.asof import before_cutoff, cutoff
from tailor.evaluation.beyond import beyond_by
from tailor.evaluation.ranking import ranking_by
from tailor.evaluation.split import per_user_split
from tailor.similarity.interactions import interactions

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


def pairs(events: DataFrame) -> DataFrame:
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


def sample_users(truth: DataFrame, n: int, seed: int) -> DataFrame:
    """The rows of ``truth`` of at most ``n`` of its users: those first by a seeded hash of the user id."""
    users = truth.select(S.USER_ID).distinct()
    chosen = users.orderBy(F.xxhash64(S.USER_ID, F.lit(seed)), S.USER_ID).limit(n)
    return truth.join(chosen, S.USER_ID, "left_semi")
