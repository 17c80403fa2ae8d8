"""Buy-till-you-die models on a customer summary: BG/NBD for how often and how long a customer buys (Fader,
Hardie and Lee 2005, "Counting your customers the easy way") and Gamma-Gamma for how much (Fader, Hardie and
Lee 2005, "RFM and CLV"), with the predictions a marketer asks for. Plain numpy and scipy: the fit sees one
row per distinct summary, weighted by how many customers share it, so its input is bounded by the calendar
(and, for Gamma-Gamma, by the cents of an average order), not by the number of customers.

A customer's summary, in one time unit (days or weeks):

* ``x``: repeat purchases (distinct purchase periods after the first);
* ``t_x``: time from the first purchase to the last;
* ``T``: time from the first purchase to the end of observation;
* ``m``: the mean value of the repeat purchases (Gamma-Gamma only, customers with ``x > 0``).

BG/NBD: while alive, a customer buys as a Poisson process of rate λ ~ Gamma(r, α); after each purchase they
drop out with probability p ~ Beta(a, b). One customer's likelihood (the paper's equation 6), as logs:

    A1 = lnΓ(r + x) − lnΓ(r) + r·ln α
    A2 = lnΓ(a + b) + lnΓ(b + x) − lnΓ(b) − lnΓ(a + b + x)
    A3 = −(r + x)·ln(α + T)                            alive at T
    A4 = ln a − ln(b + x − 1) − (r + x)·ln(α + t_x)    dropped out after the last purchase (x > 0 only)
    ln L = A1 + A2 + ln(e^A3 + [x > 0]·e^A4)

Gamma-Gamma: each purchase's value is Gamma(p, ν) with ν ~ Gamma(q, γ) per customer, so the mean ``m`` of
``x`` purchases has the log density

    ln f = lnΓ(px + q) − lnΓ(px) − lnΓ(q) + q·ln γ + (px − 1)·ln m + px·ln x − (px + q)·ln(γ + m·x)

Parameters are fitted by maximum likelihood over their logarithms (so they stay positive), from all ones,
with L-BFGS-B and then Nelder-Mead from where it stopped, which leaves the optimum where the gradient is flat
to the optimiser's tolerance (the reference implementation, ``lifetimes``, uses Nelder-Mead alone).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1


@dataclass(frozen=True)
class Fit:
    """A fitted model: parameters by name, the mean log-likelihood per customer, and how the optimiser ended."""

    params: dict[str, float]
    log_likelihood: float
    converged: bool
    iterations: int
    customers: float
    message: str = ""


def bgnbd_log_likelihood(r: float, alpha: float, a: float, b: float, x: np.ndarray, t_x: np.ndarray,
                         T: np.ndarray) -> np.ndarray:
    """ln L of each summary row under BG/NBD (the module docstring's A1..A4)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    # for x = 0 the dropout term is absent: keep its value finite (b + 0 - 1 may be negative) and mask it
    a4 = np.where(repeat, np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) - (r + x) * np.log(alpha + t_x),
                  -np.inf)
    top = np.maximum(a3, a4)
    return a1 + a2 + top + np.log(np.exp(a3 - top) + np.exp(a4 - top))


def gamma_gamma_log_likelihood(p: float, q: float, v: float, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """ln f of each repeat buyer's mean purchase value ``m`` over ``x`` purchases under Gamma-Gamma."""
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    px = p * x
    return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(v) + (px - 1) * np.log(m) + px * np.log(x)
            - (px + q) * np.log(v + m * x))


def _fit(names: tuple[str, ...], nll, weights: np.ndarray, max_iter: int) -> Fit:
    total = float(np.sum(weights))

    def objective(log_params: np.ndarray) -> float:
        with np.errstate(all="ignore"):  # the optimiser's far probes overflow; such a point is just rejected
            value = nll(np.exp(log_params)) / total
        return value if np.isfinite(value) else 1e300

    start = np.zeros(len(names))
    first = minimize(objective, start, method="L-BFGS-B", options={"maxiter": max_iter, "ftol": 1e-14,
                                                                   "gtol": 1e-10})
    best = minimize(objective, first.x, method="Nelder-Mead",
                    options={"maxiter": max_iter, "xatol": 1e-10, "fatol": 1e-14})
    if best.fun > first.fun:
        best = first
    params = dict(zip(names, (float(v) for v in np.exp(best.x)), strict=True))
    return Fit(params, -float(best.fun), bool(best.success), int(first.nit + best.nit), total, str(best.message))


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weights: np.ndarray | None = None,
              max_iter: int = 5000) -> Fit:
    """BG/NBD parameters ``r``, ``alpha``, ``a``, ``b`` by maximum likelihood over summary rows, each counted
    ``weights`` times (the number of customers sharing it; 1 each when None)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    if len(x) == 0:
        raise ValueError("no customers to fit BG/NBD on")
    return _fit(("r", "alpha", "a", "b"), lambda p: -np.sum(w * bgnbd_log_likelihood(*p, x, t_x, T)), w, max_iter)


def fit_gamma_gamma(x: np.ndarray, m: np.ndarray, weights: np.ndarray | None = None, max_iter: int = 5000) -> Fit:
    """Gamma-Gamma parameters ``p``, ``q``, ``v`` over repeat buyers (``x > 0``, ``m > 0``)."""
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    if len(x) == 0 or np.any(x <= 0) or np.any(m <= 0):
        raise ValueError("Gamma-Gamma needs repeat buyers with a positive mean purchase value")
    return _fit(("p", "q", "v"), lambda p: -np.sum(w * gamma_gamma_log_likelihood(*p, x, m)), w, max_iter)


def _dropout_odds(params: dict[str, float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """a/(b + x − 1) · ((α + T)/(α + t_x))^(r + x): the odds that a customer left right after their last
    purchase rather than being still alive at T; 0 without a repeat purchase (no one leaves before one)."""
    r, alpha, a, b = params["r"], params["alpha"], params["a"], params["b"]
    repeat = x > 0
    log_odds = np.log(a) - np.log(np.where(repeat, b + x - 1, 1.0)) + (r + x) * (
        np.log(alpha + T) - np.log(alpha + t_x))
    return np.where(repeat, np.exp(log_odds), 0.0)


def p_alive(params: dict[str, float], x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """P(still a customer at T | x, t_x, T) = 1 / (1 + the dropout odds). BG/NBD lets a customer drop out
    only after a purchase, so with no repeat purchase it is 1; it falls as T − t_x (the time since the last
    purchase) grows."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    return 1.0 / (1.0 + _dropout_odds(params, x, t_x, T))


def _off_one(a: float) -> float:
    """``a`` moved a millionth away from 1, where the expectations' (a + b + x − 1)/(a − 1) · [...] is 0/0
    (a removable singularity: the bracket vanishes too); the result moves by about as little."""
    return 1.0 + 1e-6 if abs(a - 1.0) < 1e-6 else a


def expected_purchases(params: dict[str, float], t: float | np.ndarray, x: np.ndarray, t_x: np.ndarray,
                       T: np.ndarray) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T], the paper's equation 10:

        (a + b + x − 1)/(a − 1) · [1 − ((α + T)/(α + T + t))^(r + x) · ₂F₁(r + x, b + x; a + b + x − 1; t/(α + T + t))]
        / (1 + [x > 0] · a/(b + x − 1) · ((α + T)/(α + t_x))^(r + x))
    """
    r, alpha, a, b = params["r"], params["alpha"], _off_one(params["a"]), params["b"]
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    t = np.asarray(t, dtype=float)
    z = t / (alpha + T + t)
    head = (a + b + x - 1) / (a - 1)
    body = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(r + x, b + x, a + b + x - 1, z)
    return head * body / (1 + _dropout_odds(params, x, t_x, T))


def expected_purchases_new(params: dict[str, float], t: float | np.ndarray) -> np.ndarray:
    """E[purchases in (0, t]] of a customer just acquired (the paper's equation 7), for the holdout check
    of customers who had not bought yet."""
    r, alpha, a, b = params["r"], params["alpha"], _off_one(params["a"]), params["b"]
    t = np.asarray(t, dtype=float)
    return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))


def median_time_to_next(params: dict[str, float], x: np.ndarray, T: np.ndarray) -> np.ndarray:
    """The median wait from T to the next purchase if the customer is still alive: their rate's posterior is
    Gamma(r + x, α + T), so P(no purchase in t) = ((α + T)/(α + T + t))^(r + x), which is ½ at
    t = (α + T)·(2^(1/(r + x)) − 1). Pair it with :func:`p_alive`: the wait of a customer who left is
    forever."""
    r, alpha = params["r"], params["alpha"]
    x, T = np.asarray(x, dtype=float), np.asarray(T, dtype=float)
    return (alpha + T) * np.expm1(np.log(2.0) / (r + x))


def expected_order_value(params: dict[str, float], x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """E[value of a purchase | x, m] under Gamma-Gamma: p(γ + m·x)/(px + q − 1), a weighted mean of the
    population's p·γ/(q − 1) and the customer's own ``m``; the population mean where ``x`` is 0 or ``m``
    unknown. NaN when q ≤ 1 (the model then has no finite mean)."""
    p, q, v = params["p"], params["q"], params["v"]
    x = np.asarray(x, dtype=float)
    m = np.nan_to_num(np.asarray(m, dtype=float), nan=0.0)
    if q <= 1:
        return np.full_like(x, np.nan)
    seen = x > 0
    return np.where(seen, p * (v + m * x) / (p * x + q - 1), p * v / (q - 1))


def lifetime_value(bgnbd: dict[str, float], value: np.ndarray, x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
                   months: int, monthly_discount: float, month: float) -> np.ndarray:
    """Discounted value over the next ``months`` months of ``month`` time units each: Σᵢ value ·
    (E[Y(i·month)] − E[Y((i − 1)·month)]) / (1 + d)^i, each month's purchases discounted at its end."""
    total = np.zeros(np.shape(np.asarray(x, dtype=float)))
    before = np.zeros_like(total)
    for i in range(1, months + 1):
        upto = expected_purchases(bgnbd, month * i, x, t_x, T)
        total += np.asarray(value, dtype=float) * (upto - before) / (1 + monthly_discount) ** i
        before = upto
    return total
