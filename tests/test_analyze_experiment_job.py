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
              line("C0", 5, 12.0), line("C1", 4, -5.0, True)]  # C1: a return alone is not a conversion
    warehouse(spark, cfg).merge_upsert(contract(spark, S.ORDERS, orders), "orders", [S.EVENT_ID])
    run = date(2026, 11, 1)
    execute("analyze-experiment", JOBS["analyze-experiment"], spark, cfg, run)
    res = warehouse(spark, cfg).read_run("experiment_results", run).collect()
    assert [r.campaign for r in res] == ["c"]
    r = res[0]
    assert (r.n_treatment, r.conversions_treatment, r.n_control, r.conversions_control) == (4, 2, 4, 1)
    p = X.two_proportions(2, 4, 1, 4, 0.05)
    assert (r.abs_lift, r.p_value, r.ci_low) == (pytest.approx(0.25), pytest.approx(p.p_value), pytest.approx(p.ci_low))
    assert (r.revenue_treatment, r.revenue_control) == (pytest.approx(26.0), pytest.approx(7.0))
    assert r.revenue_per_user_treatment == pytest.approx(6.5) and r.significant is False
    execute("analyze-experiment", JOBS["analyze-experiment"], spark, cfg, run)
    assert warehouse(spark, cfg).read_run("experiment_results", run).count() == 1
    with pytest.raises(MissingTableError, match="nope"):
        execute("analyze-experiment", JOBS["analyze-experiment"], spark, cfg, run,
                args=ExperimentArgs(campaigns=("nope",)))
