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


# --- audiences on generated data -----------------------------------------------------------------------


# --- the jobs over consecutive days --------------------------------------------------------------------

