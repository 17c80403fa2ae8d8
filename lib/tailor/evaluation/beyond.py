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

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from tailor import schemas as S

BEYOND = ("coverage", "novelty", "diversity")


def beyond_accuracy(recs: DataFrame, k: int, train: DataFrame, catalogue: DataFrame) -> dict[str, float]:
    """Coverage, novelty and diversity at ``k``.

    Args:
        recs: user_id, item_id, rank.
        train: user_id, item_id of the training interactions.
        catalogue: item_id, category (one row per item).
    """
    top = recs.where(F.col(S.RANK) <= k).select(S.USER_ID, S.ITEM_ID)
    n_catalogue = catalogue.select(S.ITEM_ID).distinct().count()
    covered = top.select(S.ITEM_ID).distinct().count()
    pairs = train.select(S.USER_ID, S.ITEM_ID).distinct()
    n_users = pairs.select(S.USER_ID).distinct().count()
    item_users = pairs.groupBy(S.ITEM_ID).agg(F.count(F.lit(1)).alias("_n"))
    info = top.join(item_users, S.ITEM_ID, "left").select(
        (-F.log2((F.coalesce(F.col("_n"), F.lit(0)) + 1.0) / F.lit(n_users + 1.0))).alias("_info")
    ).agg(F.avg("_info")).first()[0]
    cats = catalogue.where(F.col(S.CATEGORY).isNotNull()).select(S.ITEM_ID, F.col(S.CATEGORY).alias("_c"))
    per_cat = top.join(cats, S.ITEM_ID).groupBy(S.USER_ID, "_c").agg(
        F.count(F.lit(1)).alias("_nc")
    )
    per_user = per_cat.groupBy(S.USER_ID).agg(
        F.sum("_nc").alias("_n"), F.sum(F.col("_nc") * (F.col("_nc") - 1)).alias("_same")
    ).where(F.col("_n") >= 2)
    div = per_user.select((1.0 - F.col("_same") / (F.col("_n") * (F.col("_n") - 1))).alias("_d")).agg(
        F.avg("_d")
    ).first()[0]
    out = {"coverage": covered / n_catalogue if n_catalogue else 0.0, "novelty": float(info or 0.0)}
    if div is not None:  # not measurable when no list has two items with a category (Online Retail has none)
        out["diversity"] = float(div)
    return out
