"""Experiment statistics (tailor.campaigns.experiment) by hand: the two-proportion z-test, sample-ratio
mismatch, CUPED, power and sample size, the mSPRT; and the false-positive rate of daily peeking, simulated."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F

from tailor.campaigns import experiment as X

# --- assignment and statistics -------------------------------------------------------------------------


def test_two_proportion_z_test_by_hand():
    # 200/1000 against 150/1000. pooled p = 0.175; se0 = sqrt(0.175 * 0.825 * 2/1000) = 0.0169926
    # z = 0.05 / 0.0169926 = 2.94245, two-sided p = 0.0032575
    # unpooled se = sqrt(0.2*0.8/1000 + 0.15*0.85/1000) = 0.0169558; 95%: 0.05 -/+ 1.959964 * se
    p = X.two_proportions(200, 1000, 150, 1000, 0.05)
    assert p.abs_lift == pytest.approx(0.05)
    assert p.rel_lift == pytest.approx(1 / 3)
    assert p.z == pytest.approx(2.94245, abs=1e-4)
    assert p.p_value == pytest.approx(0.0032575, abs=2e-6)
    assert (p.ci_low, p.ci_high) == (pytest.approx(0.016767, abs=1e-5), pytest.approx(0.083233, abs=1e-5))
    assert X.two_proportions(0, 0, 5, 10).p_value is None  # an empty arm: nothing to test
    # revenue: arms of 3 with sums 6 and 3: means 2 and 1, variances 1 and 1 -> se sqrt(2/3), z 1.2247
    assert X.mean_difference_p(3, 6.0, 14.0, 3, 3.0, 5.0) == pytest.approx(0.220671, abs=1e-5)


# --- audiences on generated data -----------------------------------------------------------------------


# --- the jobs over consecutive days --------------------------------------------------------------------



def test_holm_by_hand():
    # 0.01, 0.04, 0.03 ascending: 0.01·3 = 0.03; 0.03·2 = 0.06; 0.04·1 = 0.04, but never below the step before
    assert X.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert X.holm([0.2, None]) == [0.2, None]  # a missing p-value neither counts nor changes
    assert X.holm([0.6, 0.7]) == [1.0, 1.0]  # capped at 1


def test_sample_ratio_mismatch_by_hand():
    # 44,000 against 45,000 at 50/50: expected 44,500 each; chi2 = 2 * 500² / 44,500 = 11.2360, 1 df:
    # p = P(chi2_1 > 11.236) = 0.000802
    srm = X.sample_ratio([44_000, 45_000], [0.5, 0.5])
    assert srm.chi2 == pytest.approx(11.23596, abs=1e-5)
    assert srm.p_value == pytest.approx(0.000802, abs=2e-6)
    # 80/20 as assigned: 8,000 and 2,000 of 10,000 fit exactly
    assert X.sample_ratio([8000, 2000], [0.8, 0.2]) == X.SampleRatio(0.0, 1.0)
    # three arms: 100, 100, 130 at equal shares: expected 110 each, chi2 = (100 + 100 + 400) / 110, 2 df
    three = X.sample_ratio([100, 100, 130], [1, 1, 1])
    assert three.chi2 == pytest.approx(600 / 110)
    assert three.p_value == pytest.approx(math.exp(-600 / 110 / 2))  # chi2 with 2 df: P(> c) = e^(-c/2)
    assert X.sample_ratio([0, 0], [0.5, 0.5]).p_value is None


def _moments(xs, ys):
    return X.Moments(len(xs), sum(ys), sum(y * y for y in ys), sum(xs), sum(x * x for x in xs),
                     sum(x * y for x, y in zip(xs, ys, strict=True)))


def test_cuped_by_hand():
    # treatment x = 1, 2, 3 with y = 2, 3, 5; control x = 1, 2, 3 with y = 1, 2, 3
    # pooled: n 6, Σx 12, Σx² 28, Σy 16, Σxy 37 -> var(x) = (28 - 24)/5 = 0.8, cov = (37 - 32)/5 = 1, θ = 1.25
    # the arms' x means are equal, so the adjusted lift is the plain one: 10/3 - 2 = 4/3
    # treatment: var(y) = (38 - 100/3)/2 = 7/3, var(x) = 1, cov = (23 - 20)/2 = 1.5
    #   adjusted var = 7/3 - 2(1.25)(1.5) + 1.5625 = 0.145833; control: 1 - 2.5 + 1.5625 = 0.0625
    # var of the lift: 0.145833/3 + 0.0625/3 = 0.0694444 against 7/9 + 1/3 = 1.111111 unadjusted:
    # a reduction of 1 - 0.0625 = 0.9375; z = (4/3) / sqrt(0.0694444) = 5.0596
    c = X.cuped(_moments([1, 2, 3], [2, 3, 5]), _moments([1, 2, 3], [1, 2, 3]), 0.05)
    assert c.theta == pytest.approx(1.25)
    assert c.lift == pytest.approx(4 / 3)
    assert c.variance_reduction == pytest.approx(0.9375)
    se = math.sqrt(0.0694444444)
    assert (c.ci_low, c.ci_high) == (pytest.approx(4 / 3 - 1.959964 * se, abs=1e-5),
                                     pytest.approx(4 / 3 + 1.959964 * se, abs=1e-5))
    assert c.p_value == pytest.approx(2 * (1 - NormalDist().cdf(4 / 3 / se)), rel=1e-9)
    # arms whose pre-periods differ: θ·Δx̄ comes off the plain lift (treatment x̄ 3, control x̄ 2, θ = 1.25 as
    # the pooled moments are the same up to the shift: here worked out by the function's own definition)
    shifted = X.cuped(_moments([2, 3, 4], [3, 4, 6]), _moments([1, 2, 3], [1, 2, 3]))
    assert shifted.lift == pytest.approx((13 / 3 - 2) - shifted.theta * 1.0)
    assert X.cuped(_moments([1], [1]), _moments([1, 2], [1, 2])).lift is None  # an arm of one


def test_minimum_detectable_effect_and_sample_size_by_hand():
    # p = 0.1 (variance 0.09), 1,000 per arm, alpha 0.05, power 0.8: z = 1.959964 + 0.841621 = 2.801585;
    # MDE = 2.801585 * sqrt(0.09 * (1/1000 + 1/1000)) = 2.801585 * 0.0134164 = 0.037587
    assert X.minimum_detectable_effect(0.09, 1000, 1000) == pytest.approx(0.037587, abs=1e-6)
    # CUPED removing half the variance shrinks it by sqrt(2)
    assert X.minimum_detectable_effect(0.09, 1000, 1000, variance_reduction=0.5) == pytest.approx(
        0.037587 / math.sqrt(2), abs=1e-6)
    # to detect 0.02 at 50/50: 2.801585² * 0.09 * (2 + 2) / 0.02² = 7.848879 * 900 = 7,063.99 -> 7,064
    assert X.sample_size(0.09, 0.02, 0.5) == 7064
    # at 80/20 the factor is 1/0.8 + 1/0.2 = 6.25 instead of 4
    assert X.sample_size(0.09, 0.02, 0.8) == math.ceil(7.848879 * 0.09 * 6.25 / 0.0004 - 1e-3)


def test_msprt_by_hand():
    # Δ = 0.1, V = 0.01, τ² = 0.01: ln Λ = ½ ln(0.5) + 0.01·0.01/(2·0.01·0.02) = -0.346574 + 0.25 = -0.096574
    assert X.msprt_log_lr(0.1, 0.01, 0.01) == pytest.approx(-0.096574, abs=1e-6)
    # Δ = 0.5: 0.01·0.25/0.0004 = 6.25 -> ln Λ = 5.903426, 1/Λ = e^-6 · e^0.096574 = 0.0027301
    p, low, high = X.always_valid([0.1, 0.5, 0.0], [0.01, 0.01, 0.01], 0.01, 0.05)
    assert p[0] == 1.0  # 1/Λ > 1
    assert p[1] == pytest.approx(0.0027301, abs=1e-7)
    assert p[2] == p[1]  # always valid: never rises again
    # the confidence sequence: half-width sqrt(V(V + τ²)/τ² · (2 ln 20 + ln 2)) = sqrt(0.02 · 6.684612) = 0.365639
    assert (low[0], high[0]) == (pytest.approx(0.1 - 0.365639, abs=1e-6), pytest.approx(0.1 + 0.365639, abs=1e-6))
    assert (low[2], high[2]) == (pytest.approx(0.5 - 0.365639, abs=1e-6), pytest.approx(0.0 + 0.365639, abs=1e-6))


def _uniform(seed: int, *parts) -> F.Column:
    """A uniform in [0, 1) from a hash: the same draw however Spark partitions the rows."""
    return (F.pmod(F.xxhash64(F.lit(seed), *parts), F.lit(1 << 30)) / float(1 << 30)).cast("double")


def test_daily_peeking_keeps_the_sequential_false_positive_rate_under_alpha(spark):
    # 2,000 A/A experiments (no effect), each read out on 20 days; 100 new customers a day split 50/50 by a
    # seeded hash, all converting with probability 0.1. A fixed-horizon z-test looked at every day "finds" an
    # effect in far more than 5 % of them; the always-valid p-value of the mSPRT stays under alpha.
    experiments, looks, per_day, alpha, tau2 = 2000, 20, 100, 0.05, 0.02 ** 2
    users = spark.range(experiments * looks * per_day, numPartitions=4).select(
        (F.col("id") / (looks * per_day)).cast("long").alias("experiment"),
        ((F.col("id") / per_day).cast("long") % looks).alias("look"),
        (_uniform(7, F.col("id"), F.lit("arm")) < 0.5).alias("treated"),
        (_uniform(7, F.col("id"), F.lit("y")) < 0.1).cast("int").alias("converted"))
    daily = users.groupBy("experiment", "look").agg(
        F.sum(F.col("treated").cast("int")).alias("n_t"),
        F.sum(F.when(F.col("treated"), F.col("converted"))).alias("x_t"),
        F.sum((~F.col("treated")).cast("int")).alias("n_c"),
        F.sum(F.when(~F.col("treated"), F.col("converted"))).alias("x_c"))
    z_crit = NormalDist().inv_cdf(1 - alpha / 2)

    def readouts(pdf: pd.DataFrame) -> pd.DataFrame:
        pdf = pdf.sort_values("look")
        n_t, n_c = pdf["n_t"].cumsum().to_numpy(float), pdf["n_c"].cumsum().to_numpy(float)
        p_t, p_c = pdf["x_t"].fillna(0).cumsum().to_numpy() / n_t, pdf["x_c"].fillna(0).cumsum().to_numpy() / n_c
        var = p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c
        p, _, _ = X.always_valid(p_t - p_c, var, tau2, alpha)
        pooled = (p_t * n_t + p_c * n_c) / (n_t + n_c)
        z = (p_t - p_c) / np.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
        return pd.DataFrame({"sequential": [bool((p <= alpha).any())], "peeking": [bool((np.abs(z) >= z_crit).any())],
                             "final": [bool(abs(z[-1]) >= z_crit)]})

    rates = daily.groupBy("experiment").applyInPandas(
        readouts, "sequential boolean, peeking boolean, final boolean").agg(
        *[F.avg(F.col(c).cast("double")).alias(c) for c in ("sequential", "peeking", "final")]).first()
    assert rates["sequential"] <= alpha, rates
    assert rates["peeking"] > 0.15, rates  # the problem the sequential test solves
    assert 0.03 < rates["final"] < 0.07, rates  # one look at the end is a fair 5 % test
