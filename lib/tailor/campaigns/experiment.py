"""Experiments: deterministic assignment to arms, and the statistics of their outcome.

Assignment is a salted hash, so it needs no state and gives the same answer in every run, on every
executor and in Python: ``unit(salt, key, customer)`` is the first 13 hex digits of
SHA-256(``salt:key:customer``) read as a fraction of 16^13 (52 bits, exact in a double), uniform on [0, 1).
A customer is in treatment when ``unit < treatment_share``. The key is the campaign name, so a customer's
arm in one campaign never depends on other campaigns, on the audience's size or on the run; the global
holdout uses the key :data:`HOLDOUT_KEY`.

The statistics are worked on a handful of aggregated numbers per arm, on the driver.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from statistics import NormalDist

from pyspark.sql import Column
from pyspark.sql import functions as F

from tailor import schemas as S

HOLDOUT_KEY = "__global_holdout__"
_HEX_DIGITS = 13
_SCALE = float(16**_HEX_DIGITS)


def unit(salt: str, key: str, customer: Column | str) -> Column:
    """The assignment hash as a Spark column: a double in [0, 1)."""
    c = F.col(customer) if isinstance(customer, str) else customer
    digest = F.sha2(F.concat_ws(":", F.lit(salt), F.lit(key), c.cast("string")), 256)
    return F.conv(F.substring(digest, 1, _HEX_DIGITS), 16, 10).cast("double") / _SCALE


def unit_py(salt: str, key: str, customer: str) -> float:
    """The same hash in Python (for tests, and for anyone checking an assignment by hand)."""
    digest = hashlib.sha256(f"{salt}:{key}:{customer}".encode()).hexdigest()
    return int(digest[:_HEX_DIGITS], 16) / _SCALE


def arm(salt: str, key: str, treatment_share: float, customer: Column | str) -> Column:
    return F.when(unit(salt, key, customer) < treatment_share, F.lit(S.TREATMENT)).otherwise(F.lit(S.CONTROL))


def in_holdout(salt: str, fraction: float, customer: Column | str) -> Column:
    return unit(salt, HOLDOUT_KEY, customer) < fraction


# --- statistics -------------------------------------------------------------------------------------------

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
