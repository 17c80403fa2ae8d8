"""The statistics of an experiment's outcome (assignment to arms is :mod:`tailor.assign`), worked on a handful
of aggregated numbers per arm, on the driver: the fixed-horizon tests, the sample-ratio-mismatch gate, CUPED
variance reduction, power and sample size, and always-valid sequential p-values and confidence sequences.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from scipy.stats import chi2 as _chi2

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


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm's step-down adjustment of ``p_values`` (None stays None and is not counted): with the m p-values
    in ascending order, p₍ᵢ₎ becomes max over j <= i of min(1, (m − j + 1)·p₍ⱼ₎). Rejecting adjusted p-values
    below alpha keeps the chance of any false rejection under alpha."""
    known = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    out: list[float | None] = [None] * len(p_values)
    running, m = 0.0, len(known)
    for rank, (p, i) in enumerate(known):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


# --- sample-ratio mismatch ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleRatio:
    """A chi-square goodness-of-fit test of the arms' counts against the shares they were assigned with."""

    chi2: float | None
    p_value: float | None


def sample_ratio(counts: Sequence[int], shares: Sequence[float]) -> SampleRatio:
    """Σ (observed − expected)² / expected over the arms, expected = total · share (shares are normalised),
    against a chi-square with (arms − 1) degrees of freedom. None where there is nothing to test (no
    customer, one arm, a share of 0)."""
    total, weight = sum(counts), sum(shares)
    if total == 0 or len(counts) < 2 or weight <= 0 or any(s <= 0 for s in shares):
        return SampleRatio(None, None)
    expected = [total * s / weight for s in shares]
    chi2 = sum((o - e) ** 2 / e for o, e in zip(counts, expected, strict=True))
    return SampleRatio(chi2, float(_chi2.sf(chi2, len(counts) - 1)))


# --- CUPED ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Moments:
    """One arm's sums of an outcome y and its pre-period covariate x: n, Σy, Σy², Σx, Σx², Σxy."""

    n: int
    sy: float
    syy: float
    sx: float
    sxx: float
    sxy: float

    @classmethod
    def binary(cls, n: int, sy: float, sx: float, sxy: float) -> Moments:
        """The moments of a 0/1 outcome and a 0/1 covariate, where Σy² = Σy and Σx² = Σx."""
        return cls(n, sy, sy, sx, sx, sxy)

    def __add__(self, o: Moments) -> Moments:
        return Moments(self.n + o.n, self.sy + o.sy, self.syy + o.syy, self.sx + o.sx, self.sxx + o.sxx,
                       self.sxy + o.sxy)

    def var_y(self) -> float:
        return (self.syy - self.sy * self.sy / self.n) / (self.n - 1)

    def var_x(self) -> float:
        return (self.sxx - self.sx * self.sx / self.n) / (self.n - 1)

    def cov(self) -> float:
        return (self.sxy - self.sx * self.sy / self.n) / (self.n - 1)


@dataclass(frozen=True)
class Cuped:
    """The treatment-minus-control difference of means adjusted by CUPED (Deng, Xu, Kohavi and Walker 2013)."""

    theta: float | None
    lift: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    variance_reduction: float | None
    """1 − the adjusted lift's variance / the unadjusted one's."""


def cuped(t: Moments, c: Moments, alpha: float = 0.05) -> Cuped:
    """θ = cov(x, y) / var(x) over both arms pooled; each arm's adjusted mean is ȳ − θ·(x̄ − x̄ of both
    arms), with variance var(y) − 2θ·cov(x, y) + θ²·var(x) within the arm, so the adjusted lift is
    Δȳ − θ·Δx̄ with a normal interval and two-sided p-value. Without variance in x, θ = 0 (no adjustment)."""
    if t.n < 2 or c.n < 2:
        return Cuped(None, None, None, None, None, None)
    pooled = t + c
    vx = pooled.var_x()
    theta = pooled.cov() / vx if vx > 0 else 0.0
    lift = (t.sy / t.n - c.sy / c.n) - theta * (t.sx / t.n - c.sx / c.n)

    def adjusted(m: Moments) -> float:
        return max(m.var_y() - 2 * theta * m.cov() + theta * theta * m.var_x(), 0.0) / m.n

    var_adj = adjusted(t) + adjusted(c)
    var_raw = t.var_y() / t.n + c.var_y() / c.n
    reduction = 1 - var_adj / var_raw if var_raw > 0 else None
    if var_adj <= 0:
        return Cuped(theta, lift, None, None, None, reduction)
    se = math.sqrt(var_adj)
    q = _N.inv_cdf(1 - alpha / 2)
    return Cuped(theta, lift, lift - q * se, lift + q * se, 2 * (1 - _N.cdf(abs(lift / se))), reduction)


# --- power --------------------------------------------------------------------------------------------


def minimum_detectable_effect(variance: float, n_t: int, n_c: int, alpha: float = 0.05, power: float = 0.8,
                              variance_reduction: float = 0.0) -> float | None:
    """The smallest absolute difference of means a two-sided test at ``alpha`` detects with ``power``:
    (z₁₋α/₂ + z_power) · sqrt(σ² · (1 − reduction) · (1/n_t + 1/n_c)); σ² = p(1 − p) for a proportion p."""
    if n_t <= 0 or n_c <= 0:
        return None
    z = _N.inv_cdf(1 - alpha / 2) + _N.inv_cdf(power)
    return z * math.sqrt(variance * (1 - variance_reduction) * (1 / n_t + 1 / n_c))


def sample_size(variance: float, effect: float, treatment_share: float, alpha: float = 0.05, power: float = 0.8,
                variance_reduction: float = 0.0) -> int | None:
    """The number of customers (both arms) a two-sided test at ``alpha`` needs to detect an absolute
    ``effect`` with ``power`` when ``treatment_share`` of them are treated:
    (z₁₋α/₂ + z_power)² · σ² · (1 − reduction) · (1/s + 1/(1 − s)) / effect², rounded up."""
    if effect == 0 or not 0 < treatment_share < 1:
        return None
    z = _N.inv_cdf(1 - alpha / 2) + _N.inv_cdf(power)
    n = z * z * variance * (1 - variance_reduction) * (1 / treatment_share + 1 / (1 - treatment_share)) / effect ** 2
    return math.ceil(n - 1e-9)


# --- sequential readouts ----------------------------------------------------------------------------------


def msprt_log_lr(diff: np.ndarray, var: np.ndarray, tau2: float) -> np.ndarray:
    """ln Λ of the mixture sequential probability ratio test (Johari, Pekelis and Walsh 2017) for a difference
    of means ``diff`` with variance ``var``, mixing the effect over N(0, τ²):
    Λ = sqrt(V / (V + τ²)) · exp(τ²·Δ² / (2V(V + τ²)))."""
    diff, var = np.asarray(diff, dtype=float), np.asarray(var, dtype=float)
    return 0.5 * np.log(var / (var + tau2)) + tau2 * diff * diff / (2 * var * (var + tau2))


def always_valid(diff: np.ndarray, var: np.ndarray, tau2: float, alpha: float = 0.05) -> tuple[
        np.ndarray, np.ndarray, np.ndarray]:
    """(p-values, interval lows, interval highs) after each look, in order: p_n = min(p_{n−1}, 1/Λ_n), and
    the confidence sequence Δ ± sqrt(V(V + τ²)/τ² · (2 ln(1/α) + ln((V + τ²)/V))), intersected with the
    earlier looks'. Both stay valid however often, and whenever, one looks: P(ever p ≤ α | no effect) ≤ α.
    A look without variance (an empty arm) keeps the previous values."""
    diff, var = np.asarray(diff, dtype=float), np.asarray(var, dtype=float)
    p, lows, highs = np.ones(len(diff)), np.full(len(diff), -np.inf), np.full(len(diff), np.inf)
    best, low, high = 1.0, -np.inf, np.inf
    for i, (d, v) in enumerate(zip(diff, var, strict=True)):
        if v > 0 and np.isfinite(v):
            best = min(best, float(np.exp(-min(msprt_log_lr(d, v, tau2), 700.0))))
            half = math.sqrt(v * (v + tau2) / tau2 * (2 * math.log(1 / alpha) + math.log((v + tau2) / v)))
            low, high = max(low, d - half), min(high, d + half)
        p[i], lows[i], highs[i] = best, low, high
    return p, lows, highs
