"""Approximate Jaccard similarity with MinHash LSH, for user bases too large for the exact self-join.

Each entity's set of baskets (an item's users, or a user's items) is hashed into a sparse binary vector
(``HashingTF``, 2^22 buckets by default: collisions merge baskets and nudge Jaccard up by roughly
set size / buckets); ``MinHashLSH.approxSimilarityJoin`` then joins entities whose MinHash signatures
collide in at least one of ``hash_tables`` bands and whose estimated Jaccard distance is below
``1 - min_jaccard``. Spark computes the distance exactly on the hashed vectors, so every pair returned is
scored exactly; what LSH can lose is recall (pairs never compared). More hash tables raise recall and cost.
"""

from __future__ import annotations

from pyspark.ml.feature import HashingTF, MinHashLSH
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from tailor.schemas import CO_COUNT, ENTITY, METHOD, NEIGHBOUR, SCORE
from tailor.similarity.pairs import top_k_per

LSH_METHOD = "minhash_jaccard"


def minhash_jaccard(
    df: DataFrame,
    by: str,
    entity: str,
    min_jaccard: float = 0.1,
    hash_tables: int = 5,
    num_features: int = 1 << 22,
    seed: int = 42,
    min_co: int = 1,
    top_k: int = 50,
) -> DataFrame:
    """Top-``top_k`` neighbours per entity with Jaccard >= ``min_jaccard``, found by MinHash LSH.

    Returns:
        ``entity``, ``neighbour``, ``score`` (Jaccard), ``co_count`` (shared baskets, recovered from the
        Jaccard index and the two set sizes), ``method`` = "minhash_jaccard".
    """
    sets = df.groupBy(entity).agg(F.collect_set(F.col(by).cast("string")).alias("_set")).withColumn(
        "_n", F.size("_set")
    )
    vec = HashingTF(inputCol="_set", outputCol="_v", numFeatures=num_features, binary=True).transform(sets)
    model = MinHashLSH(inputCol="_v", outputCol="_h", numHashTables=hash_tables, seed=seed).fit(vec)
    joined = model.approxSimilarityJoin(vec, vec, 1.0 - min_jaccard, distCol="_d")
    pairs = joined.select(
        F.col(f"datasetA.{entity}").alias("a"), F.col(f"datasetB.{entity}").alias("b"),
        F.col("datasetA._n").alias("na"), F.col("datasetB._n").alias("nb"), (1.0 - F.col("_d")).alias(SCORE),
    ).where(F.col("a") != F.col("b"))
    co = F.round(F.col(SCORE) * (F.col("na") + F.col("nb")) / (1.0 + F.col(SCORE))).cast("int")
    return (
        pairs.select(F.col("a").alias(ENTITY), F.col("b").alias(NEIGHBOUR), SCORE, co.alias(CO_COUNT))
        .where(F.col(CO_COUNT) >= min_co)
        .transform(top_k_per(ENTITY, top_k, SCORE, NEIGHBOUR))
        .drop("rank")
        .withColumn(METHOD, F.lit(LSH_METHOD))
    )
