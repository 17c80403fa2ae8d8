"""Experiment statistics (tailor.campaigns.experiment): the two-proportion z-test by hand."""

from __future__ import annotations

import pytest

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

