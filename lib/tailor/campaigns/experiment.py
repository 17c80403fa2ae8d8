"""The statistics of an experiment's outcome (assignment to arms is :mod:`tailor.assign`), worked on a handful
of aggregated numbers per arm, on the driver.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

_N = NormalDist()


@dataclass(frozen=True)
class Proportions:
    """Treatment against control on a yes/no outcome."""

    rate_treatment: float | None
    rate_control: float | None
    abs_lift: float | None
    rel_lift: float | None
    z: float | None
    p_value: float | None
    ci_low: float | None
    ci_high: float | None


def two_proportions(x_t: int, n_t: int, x_c: int, n_c: int, alpha: float = 0.05) -> Proportions:
    """Two-sided two-proportion z-test with the pooled standard error, and the Wald (unpooled) interval of
    ``rate_t - rate_c`` at confidence ``1 - alpha``. Undefined parts are None (an empty arm; no variance)."""
    if n_t == 0 or n_c == 0:
        return Proportions(x_t / n_t if n_t else None, x_c / n_c if n_c else None, *([None] * 6))
    p_t, p_c = x_t / n_t, x_c / n_c
    diff = p_t - p_c
    rel = diff / p_c if p_c > 0 else None
    pooled = (x_t + x_c) / (n_t + n_c)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
    z = diff / se0 if se0 > 0 else None
    p = 2 * (1 - _N.cdf(abs(z))) if z is not None else None
    se = math.sqrt(p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    q = _N.inv_cdf(1 - alpha / 2)
    return Proportions(p_t, p_c, diff, rel, z, p, diff - q * se, diff + q * se)


def mean_difference_p(n_t: int, s_t: float, ss_t: float, n_c: int, s_c: float, ss_c: float) -> float | None:
    """Two-sided p-value of the difference of two means (Welch's standard error, normal approximation,
    fine at the sizes campaigns have), from each arm's count, sum and sum of squares."""
    if n_t < 2 or n_c < 2:
        return None
    m_t, m_c = s_t / n_t, s_c / n_c
    v_t = max(ss_t - n_t * m_t * m_t, 0.0) / (n_t - 1)
    v_c = max(ss_c - n_c * m_c * m_c, 0.0) / (n_c - 1)
    se = math.sqrt(v_t / n_t + v_c / n_c)
    if se == 0:
        return None
    return 2 * (1 - _N.cdf(abs((m_t - m_c) / se)))
