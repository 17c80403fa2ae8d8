"""Arm and holdout assignment (tailor.assign): a stable salted hash with the configured split."""

from __future__ import annotations

from pyspark.sql import functions as F

from tailor import assign
from tailor import schemas as S

# --- assignment and statistics -------------------------------------------------------------------------

def test_assignment_is_a_stable_salted_hash_with_the_configured_split(spark):
    users = spark.range(100_000).select(F.format_string("U%07d", "id").alias(S.USER_ID))
    arms = users.select(S.USER_ID, assign.arm("s1", "win-back", 0.8, S.USER_ID).alias("a"))
    share = arms.where(F.col("a") == S.TREATMENT).count() / 100_000
    assert abs(share - 0.8) < 0.004  # 3 standard errors at 100k
    again = users.repartition(7).select(S.USER_ID, assign.arm("s1", "win-back", 0.8, S.USER_ID).alias("b"))
    assert arms.join(again, S.USER_ID).where("a != b").count() == 0  # any partitioning, any run
    some = [r[S.USER_ID] for r in users.limit(50).collect()]
    spark_units = {r[0]: r[1] for r in users.limit(50).select(S.USER_ID, assign.unit("s1", "k", S.USER_ID)).collect()}
    assert all(spark_units[u] == assign.unit_py("s1", "k", u) for u in some)
    # another salt or another campaign re-randomises: about 80% x 80% + 20% x 20% agree, not all
    other = users.select(S.USER_ID, assign.arm("s2", "win-back", 0.8, S.USER_ID).alias("b"))
    agree = arms.join(other, S.USER_ID).where("a = b").count() / 100_000
    assert 0.66 < agree < 0.70


def test_several_arms_split_by_cumulative_share(spark):
    users = spark.range(50_000).select(F.format_string("U%07d", "id").alias(S.USER_ID))
    shares = (("offer-a", 0.3), ("offer-b", 0.5))
    got = users.select(S.USER_ID, assign.unit("s", "abn", S.USER_ID).alias("u"),
                       assign.arms("s", "abn", shares, S.USER_ID).alias("a"))
    # by the unit: [0, 0.3) offer-a, [0.3, 0.8) offer-b, the rest control
    wrong = got.where("(u < 0.3 and a != 'offer-a') or (u >= 0.3 and u < 0.8 and a != 'offer-b') "
                      "or (u >= 0.8 and a != 'control')")
    assert wrong.count() == 0
    counts = {r.a: r["count"] / 50_000 for r in got.groupBy("a").count().collect()}
    assert abs(counts["offer-a"] - 0.3) < 0.007 and abs(counts["control"] - 0.2) < 0.006
    # one arm named treatment is the two-arm assignment
    one = users.select(S.USER_ID, assign.arms("s", "k", ((S.TREATMENT, 0.8),), S.USER_ID).alias("x"),
                       assign.arm("s", "k", 0.8, S.USER_ID).alias("y"))
    assert one.where("x != y").count() == 0


# --- audiences on generated data -----------------------------------------------------------------------


# --- the jobs over consecutive days --------------------------------------------------------------------

