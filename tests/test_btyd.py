"""BG/NBD and Gamma-Gamma (tailor.clv.btyd): likelihoods worked out by hand, parameters recovered from data
simulated with known ones, and the predictions' properties."""

import math

import numpy as np
import pytest

from tailor.clv import btyd as B

ONES = {"r": 1.0, "alpha": 1.0, "a": 1.0, "b": 1.0}


def test_bgnbd_log_likelihood_of_five_customers_by_hand():
    # r = alpha = a = b = 1, so lnΓ(1) = lnΓ(2) = 0 and ln alpha = 0:
    #   x=0, T=1:         A1 = 0, A2 = lnΓ(2)+lnΓ(1)-lnΓ(1)-lnΓ(2) = 0, L = (1+T)^-1 = 1/2
    #   x=1, t_x=1, T=2:  A1 = lnΓ(2) = 0, A2 = -lnΓ(3) = -ln 2, e^A3 = 3^-2, e^A4 = (a/b)·2^-2
    #                     L = 1/2 · (1/9 + 1/4) = 13/72
    #   x=2, t_x=3, T=3:  A1 = lnΓ(3) = ln 2, A2 = lnΓ(3) - lnΓ(4) = -ln 3, e^A3 = 4^-3, e^A4 = 1/2 · 4^-3
    #                     L = 2/3 · 3/128 = 1/64
    #   x=0, T=3:         L = 4^-1 = 1/4
    #   x=1, t_x=3, T=3:  L = 1/2 · (4^-2 + 4^-2) = 1/16 (bought at the very end: alive or not, alike)
    x, t_x, T = np.array([0, 1, 2, 0, 1]), np.array([0, 1, 3, 0, 3]), np.array([1, 2, 3, 3, 3])
    got = B.bgnbd_log_likelihood(1.0, 1.0, 1.0, 1.0, x, t_x, T)
    assert got == pytest.approx(np.log([1 / 2, 13 / 72, 1 / 64, 1 / 4, 1 / 16]), rel=1e-12)


def test_gamma_gamma_log_likelihood_by_hand():
    # p=1, q=2, v=1, one purchase of 1: ∫ ν e^{-ν} · ν e^{-ν} dν = Γ(3)/2^3 = 1/4
    # p=1, q=1, v=1, two purchases averaging 1: the mean is Gamma(2, 2ν), density 4ν² e^{-2ν} at 1,
    #   and ∫ 4ν² e^{-2ν} e^{-ν} dν = 4 · 2/27 = 8/27
    assert B.gamma_gamma_log_likelihood(1.0, 2.0, 1.0, np.array([1]), np.array([1.0]))[0] == pytest.approx(
        math.log(1 / 4), rel=1e-12)
    assert B.gamma_gamma_log_likelihood(1.0, 1.0, 1.0, np.array([2]), np.array([1.0]))[0] == pytest.approx(
        math.log(8 / 27), rel=1e-12)


def _simulate_bgnbd(n, r, alpha, a, b, T, rng):
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    x, t_x = np.zeros(n, dtype=int), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T:
                break
            x[i] += 1
            t_x[i] = t
            if rng.random() < p[i]:  # drops out right after this repeat purchase
                break
    return x, t_x, np.full(n, float(T))


def test_bgnbd_fit_recovers_known_parameters_from_simulated_customers():
    rng = np.random.default_rng(7)
    truth = {"r": 0.5, "alpha": 4.0, "a": 0.8, "b": 2.5}
    x, t_x, T = _simulate_bgnbd(20_000, *truth.values(), 52, rng)
    fit = B.fit_bgnbd(x, np.round(t_x), T)  # whole weeks, as the job's grouping by days would round them
    assert fit.converged
    for k, v in truth.items():
        assert fit.params[k] == pytest.approx(v, rel=0.15), k
    # grouping identical summaries and weighting them gives the same fit
    rows = np.stack([x, np.round(t_x), T], axis=1)
    distinct, counts = np.unique(rows, axis=0, return_counts=True)
    grouped = B.fit_bgnbd(distinct[:, 0], distinct[:, 1], distinct[:, 2], counts)
    assert len(distinct) < len(x) / 5
    assert grouped.params == pytest.approx(fit.params, rel=1e-4)


def test_gamma_gamma_fit_recovers_known_parameters():
    rng = np.random.default_rng(11)
    p, q, v = 6.0, 4.0, 15.0
    n = 20_000
    nu = rng.gamma(q, 1 / v, n)
    x = rng.integers(1, 10, n)
    m = np.array([rng.gamma(p, 1 / nu[i], x[i]).mean() for i in range(n)])
    fit = B.fit_gamma_gamma(x, m)
    got = fit.params
    # p and v trade off against each other (p·v/(q - 1), the population's mean order value, is what the data
    # pins down): the mean and q within a few per cent, p and v each within 15 %
    assert got["p"] * got["v"] / (got["q"] - 1) == pytest.approx(p * v / (q - 1), rel=0.03)
    assert got["q"] == pytest.approx(q, rel=0.05)
    assert got == pytest.approx({"p": p, "q": q, "v": v}, rel=0.15)
    # and the fit is the maximum: the true parameters explain these data no better
    assert fit.log_likelihood >= B.gamma_gamma_log_likelihood(p, q, v, x, m).mean()


def test_p_alive_is_one_without_a_repeat_purchase_and_falls_with_time_since_the_last():
    params = {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.43}
    assert B.p_alive(params, np.array([0, 0]), np.array([0.0, 0.0]), np.array([1.0, 50.0])).tolist() == [1.0, 1.0]
    later = B.p_alive(params, np.full(4, 3), np.full(4, 10.0), np.array([10.0, 20.0, 30.0, 40.0]))
    assert later[0] > later[1] > later[2] > later[3] > 0
    # by hand for r = alpha = a = b = 1, x = 1, t_x = 1, T = 3: 1 / (1 + 1/1 · (4/2)^2) = 1/5
    assert B.p_alive(ONES, np.array([1]), np.array([1.0]), np.array([3.0]))[0] == pytest.approx(0.2)


def test_a_customer_just_acquired_expects_what_the_population_does():
    params = {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.43}
    t = np.array([1.0, 10.0, 39.0])
    # x = t_x = T = 0: the conditional expectation (eq. 10) is the unconditional one (eq. 7)
    got = B.expected_purchases(params, t, np.zeros(3), np.zeros(3), np.zeros(3))
    assert got == pytest.approx(B.expected_purchases_new(params, t), rel=1e-10)
    assert got[0] < got[1] < got[2]


def test_lifetime_value_without_discount_is_value_times_expected_purchases():
    params = {"r": 0.24, "alpha": 4.4, "a": 0.79, "b": 2.43}
    x, t_x, T = np.array([0, 2, 5]), np.array([0.0, 10.0, 30.0]), np.array([20.0, 30.0, 31.0])
    clv = B.lifetime_value(params, np.array([10.0, 10.0, 20.0]), x, t_x, T, 12, 0.0, 4.0)
    # the months telescope: Σ (E[Y(4i)] - E[Y(4(i-1))]) = E[Y(48)]
    assert clv == pytest.approx(np.array([10.0, 10.0, 20.0]) * B.expected_purchases(params, 48.0, x, t_x, T))
    discounted = B.lifetime_value(params, np.array([10.0, 10.0, 20.0]), x, t_x, T, 12, 0.01, 4.0)
    assert np.all(discounted < clv)


def test_expected_order_value_by_hand():
    # p=1, q=2, v=1: one purchase of 1 gives p(v + m·x)/(px + q - 1) = 2/2 = 1; none gives pv/(q-1) = 1;
    # two purchases averaging 4 give (1 + 8)/(2 + 1) = 3
    got = B.expected_order_value({"p": 1.0, "q": 2.0, "v": 1.0}, np.array([1, 0, 2]), np.array([1.0, np.nan, 4.0]))
    assert got.tolist() == pytest.approx([1.0, 1.0, 3.0])
    assert np.isnan(B.expected_order_value({"p": 1.0, "q": 0.9, "v": 1.0}, np.array([1]), np.array([1.0]))[0])
