"""Beyond accuracy: catalogue coverage, novelty and intra-list diversity of top-k lists, computed distributed.

With ``L_u`` the first ``k`` recommendations of user ``u`` (every user that has recommendations):

- coverage@k = |∪_u L_u| / catalogue size;
- novelty@k = the mean over all recommended (u, i) of -log2 p(i), where p(i) = (n_i + 1) / (N + 1), n_i the
  training users who interacted with i and N all training users (add-one, so an item nobody touched yet
  is finite and the most novel);
- diversity@k (intra-list, by category) = the mean over users with at least two recommendations of the
  share of pairs in ``L_u`` whose categories differ: 1 - Σ_c n_c (n_c - 1) / (n (n - 1)). Items with no
  category are left out of it; with none left (a catalogue without categories) it is not reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.evaluation.ranking import GROUP, K, at_each_k

BEYOND = ("coverage", "novelty", "diversity")


def beyond_by(recs: DataFrame, ks: Sequence[int], names: Iterable[str], by: str, train: DataFrame,
              catalogue: DataFrame) -> dict[tuple[str, int], dict[str, float]]:
    """Coverage, novelty and diversity for each value of the column ``by`` of ``recs`` (e.g. the
    recommender) and each k of ``ks``, from one scan of ``recs`` (and three counts).

    Args:
        recs: ``by``, user_id, item_id, rank.
        names: the values of ``by`` to report; one with no recommendation covers nothing.
        train: user_id, item_id of the training interactions.
        catalogue: item_id, category (one row per item).
    """
    top = at_each_k(recs.select(F.col(by).alias(GROUP), S.USER_ID, S.ITEM_ID, S.RANK), ks).drop(S.RANK)
    n_catalogue = catalogue.select(S.ITEM_ID).distinct().count()
    pairs = train.select(S.USER_ID, S.ITEM_ID).distinct()
    n_users = pairs.select(S.USER_ID).distinct().count()
    item_users = pairs.groupBy(S.ITEM_ID).agg(F.count(F.lit(1)).alias("_n"))
    info = -F.log2((F.coalesce(F.col("_n"), F.lit(0)) + 1.0) / F.lit(n_users + 1.0))
    spread = top.join(item_users, S.ITEM_ID, "left").groupBy(GROUP, K).agg(
        F.countDistinct(S.ITEM_ID).alias("_covered"), F.avg(info).alias("_info"))
    cats = catalogue.where(F.col(S.CATEGORY).isNotNull()).select(S.ITEM_ID, F.col(S.CATEGORY).alias("_c"))
    per_cat = top.join(cats, S.ITEM_ID).groupBy(GROUP, K, S.USER_ID, "_c").agg(F.count(F.lit(1)).alias("_nc"))
    per_user = per_cat.groupBy(GROUP, K, S.USER_ID).agg(
        F.sum("_nc").alias("_n"), F.sum(F.col("_nc") * (F.col("_nc") - 1)).alias("_same")
    ).where(F.col("_n") >= 2)
    div = per_user.groupBy(GROUP, K).agg(F.avg(1.0 - F.col("_same") / (F.col("_n") * (F.col("_n") - 1))).alias("_d"))
    got = {(r[GROUP], r[K]): r for r in spread.join(div, [GROUP, K], "left").collect()}  # one row per (name, k)
    out = {}
    for key in ((n, k) for n in names for k in ks):
        r = got.get(key)
        m = {"coverage": r["_covered"] / n_catalogue if r and n_catalogue else 0.0,
             "novelty": float(r["_info"] or 0.0) if r else 0.0}
        if r is not None and r["_d"] is not None:  # not measurable when no list has two items with a category
            m["diversity"] = float(r["_d"])
        out[key] = m
    return out


def beyond_accuracy(recs: DataFrame, k: int, train: DataFrame, catalogue: DataFrame) -> dict[str, float]:
    """Coverage, novelty and diversity at ``k`` of one recommender's ``recs`` (user_id, item_id, rank)."""
    return beyond_by(recs.withColumn(GROUP, F.lit("")), [k], [""], GROUP, train, catalogue)[("", k)]
