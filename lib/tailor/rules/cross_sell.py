"""What the rules are for: frequently-bought-together lists and rule-based personalised recommendations.

Recommendations never go through ``FPGrowthModel.transform``, which collects every rule to the driver and
broadcasts them. A rule fires for a user when all of its antecedent is among the items of the user's recent
baskets: the rules are exploded by antecedent item, joined with the user's items on that item, and a
(user, rule) pair whose matched count equals the antecedent's size fires. Each consequent keeps its best
rule (confidence, then lift); seen items are excluded; the top N are ranked. Only the best
``rules.max_rules_per_item`` rules of each antecedent item take part (:func:`usable`): at a low support
Online Retail yields hundreds of thousands of rules, and a wholesale customer's hundreds of recent items
would otherwise join with all of them.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.rules.mining import ANTECEDENT, CONSEQUENT

ANCHOR_SEPARATOR = " + "


def frequently_bought_together(rules: DataFrame, top_n: int) -> DataFrame:
    """item_id, consequent, support, confidence, lift, rank: the single-item rules, best ``top_n``
    consequents per item by confidence, then lift, then id."""
    single = rules.where(F.size(ANTECEDENT) == 1).withColumn(S.ITEM_ID, F.element_at(ANTECEDENT, 1))
    w = Window.partitionBy(S.ITEM_ID).orderBy(F.desc("confidence"), F.desc("lift"), F.asc(CONSEQUENT))
    return single.withColumn(S.RANK, F.row_number().over(w)).where(F.col(S.RANK) <= top_n).select(
        S.ITEM_ID, CONSEQUENT, "support", "confidence", "lift", F.col(S.RANK).cast("int").alias(S.RANK))


def with_titles(fbt: DataFrame, products: DataFrame) -> DataFrame:
    """``fbt`` with ``title`` and ``consequent_title`` from the catalogue (null where a product has none, or is
    not in it)."""
    titles = products.select(S.PRODUCT_ID, S.TITLE)
    return (fbt.join(titles.withColumnRenamed(S.PRODUCT_ID, S.ITEM_ID), S.ITEM_ID, "left")
            .join(titles.select(F.col(S.PRODUCT_ID).alias(CONSEQUENT), F.col(S.TITLE).alias("consequent_title")),
                  CONSEQUENT, "left")
            .select(*fbt.columns, S.TITLE, "consequent_title"))


def recent_items(lines: DataFrame, recent_orders: int) -> DataFrame:
    """user_id, item_id of each user's last ``recent_orders`` orders (purchase lines: user_id, order_id,
    item_id, ts; ties in time broken by order id)."""
    orders = lines.groupBy(S.USER_ID, S.ORDER_ID).agg(F.max(S.TS).alias("_t"))
    w = Window.partitionBy(S.USER_ID).orderBy(F.desc("_t"), F.desc(S.ORDER_ID))
    last = orders.withColumn("_r", F.row_number().over(w)).where(F.col("_r") <= recent_orders)
    return lines.join(last.select(S.USER_ID, S.ORDER_ID), [S.USER_ID, S.ORDER_ID], "left_semi").select(
        S.USER_ID, S.ITEM_ID).distinct()


def usable(rules: DataFrame, per_item: int) -> DataFrame:
    """The rules cross-sell may fire: each one is among the best ``per_item`` (confidence, lift) of every
    item in its antecedent, so no item reaches more than ``per_item`` rules and a user with n recent items
    costs at most n·per_item joined rows, however many rules were mined."""
    by_item = rules.select(ANTECEDENT, CONSEQUENT, "confidence", "lift", F.explode(ANTECEDENT).alias("_i"))
    w = Window.partitionBy("_i").orderBy(F.desc("confidence"), F.desc("lift"), F.asc(CONSEQUENT),
                                         F.asc(F.array_join(ANTECEDENT, "\u0001")))
    ranked = by_item.withColumn("_r", F.row_number().over(w)).groupBy(ANTECEDENT, CONSEQUENT).agg(
        F.max("_r").alias("_worst"))
    return rules.join(ranked.where(F.col("_worst") <= per_item).select(ANTECEDENT, CONSEQUENT),
                      [ANTECEDENT, CONSEQUENT], "left_semi")


def recommend(rules: DataFrame, recent: DataFrame, seen: DataFrame, top_n: int) -> DataFrame:
    """Candidate rows (user_id, item_id, score = the best firing rule's confidence, rank, anchor = its
    antecedent joined by `` + ``).

    Args:
        rules: antecedent, consequent, confidence, lift (bound them with :func:`usable` first).
        recent: user_id, item_id the rules may fire on.
        seen: user_id, item_id never to recommend.
    """
    r = rules.select(ANTECEDENT, CONSEQUENT, "confidence", "lift", F.size(ANTECEDENT).alias("_size"))
    by_item = r.select("*", F.explode(ANTECEDENT).alias(S.ITEM_ID))
    fired = recent.select(S.USER_ID, S.ITEM_ID).distinct().join(by_item, S.ITEM_ID).groupBy(
        S.USER_ID, ANTECEDENT, CONSEQUENT, "confidence", "lift", "_size").agg(
        F.count(F.lit(1)).alias("_matched")).where(F.col("_matched") == F.col("_size"))
    best = fired.groupBy(S.USER_ID, F.col(CONSEQUENT).alias(S.ITEM_ID)).agg(
        F.max_by(F.struct("confidence", "lift", ANTECEDENT),
                 F.struct("confidence", "lift", F.sort_array(ANTECEDENT, asc=False))).alias("_b"))
    best = best.join(seen.select(S.USER_ID, S.ITEM_ID), [S.USER_ID, S.ITEM_ID], "left_anti")
    w = Window.partitionBy(S.USER_ID).orderBy(F.desc("_b.confidence"), F.desc("_b.lift"), F.asc(S.ITEM_ID))
    return best.withColumn(S.RANK, F.row_number().over(w)).where(F.col(S.RANK) <= top_n).select(
        S.USER_ID, S.ITEM_ID, F.col("_b.confidence").alias(S.SCORE), F.col(S.RANK).cast("int").alias(S.RANK),
        F.array_join(F.col(f"_b.{ANTECEDENT}"), ANCHOR_SEPARATOR).alias(S.ANCHOR))
