"""The analyze-experiment job: the readout of a campaign's arms, worked out by hand."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from conftest import contract, make_cfg
from tailor import schemas as S
from tailor.campaigns import experiment as X
from tailor.config import warehouse
from tailor.errors import MissingTableError
from tailor.jobs import JOBS
from tailor.jobs.analyze_experiment import Args as ExperimentArgs
from tailor.jobs.base import execute

DAY = date(2026, 11, 1)


def test_the_analysis_by_hand(spark, tmp_path):
    cfg = make_cfg(tmp_path / "w", "campaigns.window_days=7")
    sent = date(2026, 10, 1)
    hist = [(f"T{i}", S.TREATMENT) for i in range(4)] + [(f"C{i}", S.CONTROL) for i in range(4)]
    rows = [{S.CAMPAIGN: "c", S.USER_ID: u, S.SENT_DATE: sent, S.ARM: a, S.CHANNEL: "email", "recorded_on": sent}
            for u, a in hist]
    rows.append({S.CAMPAIGN: "late", S.USER_ID: "T0", S.SENT_DATE: date(2026, 10, 28), S.ARM: S.TREATMENT,
                 S.CHANNEL: "email", "recorded_on": sent})  # its window ends after the run date: skipped
    # "broken": 40 treated, all converted, against 10 controls, none converted, where the split was 50/50
    rows += [{S.CAMPAIGN: "broken", S.USER_ID: f"B{i}", S.SENT_DATE: sent, S.ARM: S.TREATMENT if i < 40 else
              S.CONTROL, S.CHANNEL: "email", "recorded_on": sent} for i in range(50)]
    warehouse(spark, cfg).merge_upsert(
        contract(spark, S.CONTACT_HISTORY, rows), "contact_history", ["campaign", "user_id"])

    def line(u, day, amount, ret=False):
        return {S.EVENT_ID: f"{u}{day}{amount}", S.ORDER_ID: "o", S.USER_ID: u, S.ITEM_ID: "i",
                S.TS: datetime(2026, 10, day, 12), S.QUANTITY: 1, S.PRICE: abs(amount), S.AMOUNT: amount,
                S.IS_RETURN: ret, S.SOURCE: "t", S.INGEST_DATE: DAY}

    orders = [line("T0", 2, 10.0), line("T0", 3, -4.0, True),  # converted, net 6
              line("T1", 8, 20.0),  # the last day of the window: in
              line("T2", 1, 50.0),  # the send day: out
              line("T3", 9, 30.0),  # the day after the window: out
              line("C0", 5, 12.0), line("C1", 4, -5.0, True),  # C1: a return alone is not a conversion
              *[line(f"B{i}", 3, 1.0) for i in range(40)]]
    pre = {"T0": (28, 8.0), "T1": (30, 2.0), "C0": (20, 4.0), "C3": (2, 9.0)}  # Sept: days before the send
    orders += [{**line(u, 1, amount), S.EVENT_ID: f"pre{u}", S.TS: datetime(2026, 9, d, 12)}
               for u, (d, amount) in pre.items()]  # C3's 2 Sept is 29 days before: outside the 28-day pre-period
    warehouse(spark, cfg).merge_upsert(contract(spark, S.ORDERS, orders), "orders", [S.EVENT_ID])
    run = date(2026, 11, 1)
    execute("analyze-experiment", JOBS["analyze-experiment"], spark, cfg, run,
            args=ExperimentArgs(expected_shares=(("c", 0.5), ("broken", 0.5))))
    res = warehouse(spark, cfg).read_run("experiment_results", run).orderBy("campaign").collect()
    assert [r.campaign for r in res] == ["broken", "c"]
    broken, r = res
    # SRM: 40 against 10 at 50/50: chi2 = 2 · 15² / 25 = 18, p = 2.2e-5 < 0.001: failed, never significant
    assert broken.srm_chi2 == pytest.approx(18.0) and broken.srm_p_value == pytest.approx(2.21e-5, rel=1e-2)
    assert broken.srm_failed is True and broken.p_value < 1e-6 and broken.significant is False
    # c: 4 against 4 as assigned
    assert (r.srm_chi2, r.srm_p_value, r.srm_failed, r.expected_treatment_share) == (0.0, 1.0, False, 0.5)
    # CUPED: pre-period (28 days before 1 Oct) conversion x and revenue q per customer, outcome y and revenue r:
    #   T0 x 1 q 8, y 1 r 6; T1 x 1 q 2, y 1 r 20; T2, T3 x 0, y 0 (their orders are outside the window)
    #   C0 x 1 q 4, y 1 r 12; C1 x 0, y 0 r -5; C2 0; C3 0 (2 Sept is outside the pre-period)
    conv = X.cuped(X.Moments(4, 2, 2, 2, 2, 2), X.Moments(4, 1, 1, 1, 1, 1))
    rev = X.cuped(X.Moments(4, 26, 36 + 400, 10, 64 + 4, 48 + 40), X.Moments(4, 7, 144 + 25, 4, 16, 48))
    assert r.cuped_abs_lift == pytest.approx(conv.lift) and r.cuped_variance_reduction == pytest.approx(
        conv.variance_reduction)
    assert r.cuped_theta == pytest.approx(conv.theta) and conv.theta == pytest.approx(1.0)  # y = x here
    assert r.cuped_revenue_lift_per_user == pytest.approx(rev.lift)
    assert r.cuped_revenue_variance_reduction == pytest.approx(rev.variance_reduction)
    # one look (every window completed on 8 Oct): the always-valid p is 1/Λ of that look, capped at 1
    var = 0.5 * 0.5 / 4 + 0.25 * 0.75 / 4
    seq, low, high = X.always_valid([0.25], [var], 0.02 ** 2, 0.05)
    assert r.looks == 1 and r.sequential_p_value == pytest.approx(seq[0])
    assert (r.sequential_ci_low, r.sequential_ci_high) == (pytest.approx(low[0]), pytest.approx(high[0]))
    assert (r.n_treatment, r.conversions_treatment, r.n_control, r.conversions_control) == (4, 2, 4, 1)
    p = X.two_proportions(2, 4, 1, 4, 0.05)
    assert (r.abs_lift, r.p_value, r.ci_low) == (pytest.approx(0.25), pytest.approx(p.p_value), pytest.approx(p.ci_low))
    assert (r.revenue_treatment, r.revenue_control) == (pytest.approx(26.0), pytest.approx(7.0))
    assert r.revenue_per_user_treatment == pytest.approx(6.5) and r.significant is False
    execute("analyze-experiment", JOBS["analyze-experiment"], spark, cfg, run)
    again = warehouse(spark, cfg).read_run("experiment_results", run).orderBy("campaign").collect()
    assert len(again) == 2 and again[1].srm_p_value is None  # c is not configured: no share, no SRM check
    with pytest.raises(MissingTableError, match="nope"):
        execute("analyze-experiment", JOBS["analyze-experiment"], spark, cfg, run,
                args=ExperimentArgs(campaigns=("nope",)))


def test_an_a_b_n_campaign_compares_each_arm_with_the_control_holm_corrected(spark, tmp_path):
    defs = '[{"name": "abn", "rule": "true", "arms": {"offer-a": 0.4, "offer-b": 0.4}}]'
    cfg = make_cfg(tmp_path / "w", "campaigns.window_days=7", f"campaigns.definitions={defs}")
    sent = date(2026, 10, 1)
    arms = {"offer-a": 10, "offer-b": 10, S.CONTROL: 5}  # exactly 40/40/20
    bought = {"offer-a": 6, "offer-b": 2, S.CONTROL: 1}
    rows, orders = [], []
    for arm, n in arms.items():
        for i in range(n):
            u = f"{arm}-{i}"
            rows.append({S.CAMPAIGN: "abn", S.USER_ID: u, S.SENT_DATE: sent, S.ARM: arm, S.CHANNEL: "email",
                         "recorded_on": sent})
            if i < bought[arm]:
                orders.append({S.EVENT_ID: u, S.ORDER_ID: "o", S.USER_ID: u, S.ITEM_ID: "i",
                               S.TS: datetime(2026, 10, 3, 12), S.QUANTITY: 1, S.PRICE: 5.0, S.AMOUNT: 5.0,
                               S.IS_RETURN: False, S.SOURCE: "t", S.INGEST_DATE: DAY})
    wh = warehouse(spark, cfg)
    wh.merge_upsert(contract(spark, S.CONTACT_HISTORY, rows), "contact_history", ["campaign", "user_id"])
    wh.merge_upsert(contract(spark, S.ORDERS, orders), "orders", [S.EVENT_ID])
    execute("analyze-experiment", JOBS["analyze-experiment"], spark, cfg, DAY)
    got = {r.arm: r for r in wh.read_run("experiment_results", DAY).collect()}
    assert set(got) == {"offer-a", "offer-b"}
    a, b = got["offer-a"], got["offer-b"]
    assert (a.n_treatment, a.conversions_treatment, a.n_control, a.conversions_control) == (10, 6, 5, 1)
    pa, pb = X.two_proportions(6, 10, 1, 5).p_value, X.two_proportions(2, 10, 1, 5).p_value
    assert (a.p_value, b.p_value) == (pytest.approx(pa), pytest.approx(pb))
    # Holm over two arms: the smaller p doubled, the larger at least that and at most 1
    assert pa < pb and a.p_value_holm == pytest.approx(min(1.0, 2 * pa))
    assert b.p_value_holm == pytest.approx(max(min(1.0, 2 * pa), min(1.0, pb)))
    # SRM: 10/10/5 against 0.4/0.4/0.2 fits exactly
    assert (a.srm_chi2, a.srm_p_value, a.srm_failed) == (pytest.approx(0.0, abs=1e-12), 1.0, False)
    assert (a.expected_treatment_share, b.expected_treatment_share) == (0.4, 0.4)
