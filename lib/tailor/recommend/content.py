"""Content-based recommendations from product text.

Each product becomes an L2-normalised TF-IDF vector with Spark ML: ``RegexTokenizer`` over title and
description, ``StopWordsRemover``, plus one token each for category and brand (``category=kitchen``,
``brand=hearthly``, so they never merge with words), then ``CountVectorizer`` -> ``IDF`` -> ``Normalizer``.

Item-item similarity is the cosine of those vectors, computed through an inverted index: the vectors are
exploded to (term, item, weight) and self-joined on the term, so only items that share a term are ever
paired (no cartesian product). Terms held by more than ``max_items_per_term`` products are left out (of the
join and of the norms): they carry the lowest IDF and would cost Σ df² pairs.

A user's interest vector is the affinity-weighted mean of the vectors of the items they interacted with;
its dot product with an item ``j`` is ``Σ_i a_i (v_i · v_j) / Σ_i a_i``, i.e. the affinity-weighted mean of
content similarities. So content recommendations are item-CF over the content neighbours, restricted to
each item's ``top_k`` neighbours; the per-user constant ``Σ a_i`` and the norm of the mean do not change the
ranking. Items nobody has interacted with yet are reached this way as soon as they share words with
something a user touched.
"""

from __future__ import annotations

from pyspark.ml import Pipeline
from pyspark.ml.feature import IDF, CountVectorizer, Normalizer, RegexTokenizer, StopWordsRemover
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from tailor import schemas as S
from tailor.similarity.local import LOCAL_MAX_ROWS
from tailor.similarity.pairs import similarity

TERM, WEIGHT = "term", "w"
METHOD = "tfidf"


def _tag(prefix: str, col: str) -> F.Column:
    value = F.lower(F.trim(F.col(col)))
    tag = F.concat(F.lit(prefix + "="), F.regexp_replace(value, r"\s+", "_"))
    return F.when(value.isNotNull() & (value != ""), tag)


@F.udf(T.ArrayType(T.StructType([T.StructField(TERM, T.IntegerType()), T.StructField(WEIGHT, T.DoubleType())])))
def _entries(v):
    return [(int(i), float(x)) for i, x in zip(v.indices, v.values, strict=True) if x != 0.0] if v is not None else []


def item_vectors(products: DataFrame, min_df: int = 2, vocab_size: int = 1 << 18) -> DataFrame:
    """Sparse L2-normalised TF-IDF vectors, exploded: ``item_id``, ``term`` (vocabulary index), ``w``.

    A term must appear in at least ``min_df`` products: one only a single product has cannot make it
    similar to anything. No such term (a catalogue of one product, or without text): no rows.
    """
    docs = products.select(
        F.col(S.PRODUCT_ID).alias(S.ITEM_ID),
        F.concat_ws(" ", F.coalesce(S.TITLE, F.lit("")), F.coalesce(S.DESCRIPTION, F.lit(""))).alias("_text"),
        F.array_compact(F.array(_tag("category", S.CATEGORY), _tag("brand", S.BRAND))).alias("_tags"),
    )
    pipeline = Pipeline(stages=[
        RegexTokenizer(inputCol="_text", outputCol="_raw", pattern=r"[^\p{L}\p{N}]+", minTokenLength=2),
        StopWordsRemover(inputCol="_raw", outputCol="_words"),
    ])
    words = pipeline.fit(docs).transform(docs).select(S.ITEM_ID, F.concat("_words", "_tags").alias("_tokens"))
    shared = (words.select(S.ITEM_ID, F.explode(F.array_distinct("_tokens")).alias("_t")).groupBy("_t").count()
              .where(F.col("count") >= min_df).limit(1).count())
    if not shared:  # Spark's CountVectorizer refuses an empty vocabulary ("requirement failed")
        return products.sparkSession.createDataFrame([], f"{S.ITEM_ID} string, {TERM} int, {WEIGHT} double")
    tfidf = Pipeline(stages=[
        CountVectorizer(inputCol="_tokens", outputCol="_tf", minDF=float(min_df), vocabSize=vocab_size),
        IDF(inputCol="_tf", outputCol="_tfidf"),
        Normalizer(inputCol="_tfidf", outputCol="_v", p=2.0),
    ]).fit(words)
    vectors = tfidf.transform(words)
    return vectors.select(S.ITEM_ID, F.explode(_entries("_v")).alias("_e")).select(
        S.ITEM_ID, F.col(f"_e.{TERM}").alias(TERM), F.col(f"_e.{WEIGHT}").alias(WEIGHT)
    )


def content_similarity(vectors: DataFrame, top_k: int = 50, max_items_per_term: int = 1000,
                       local_max_rows: int = LOCAL_MAX_ROWS) -> DataFrame:
    """Top-``top_k`` content neighbours per item: ``entity``, ``neighbour``, ``score`` (cosine),
    ``co_count`` (shared terms), ``method`` = ``tfidf``; grouped or joined by ``local_max_rows`` (see
    :func:`tailor.similarity.pairs.similarity`)."""
    df = vectors.groupBy(TERM).agg(F.count(F.lit(1)).alias("_df"))
    usable = vectors.join(df.where(F.col("_df") <= max_items_per_term).select(TERM), TERM)
    sim = similarity(usable, TERM, S.ITEM_ID, WEIGHT, "cosine", min_co=1, shrinkage=0.0, top_k=top_k,
                     local_max_rows=local_max_rows)
    return sim.withColumn(S.METHOD, F.lit(METHOD))
