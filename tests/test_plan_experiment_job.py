"""plan-experiment: the minimum detectable effects, CUPED's expected reduction and the audience needed, from a
hand-made audience and history, worked out by hand."""

from __future__ import annotations

import math
from datetime import date, datetime

import pytest

from conftest import contract, make_cfg
from tailor import schemas as S
from tailor.config import warehouse
from tailor.errors import MissingTableError
from tailor.jobs import TOOLS
from tailor.jobs.base import execute

RUN = date(2026, 11, 1)


def test_the_plan_by_hand(spark, tmp_path):
    cfg = make_cfg(tmp_path / "w", "campaigns.window_days=7", "campaigns.pre_period_days=28")
    wh = warehouse(spark, cfg)
    audience = [(f"T{i}", S.TREATMENT) for i in range(6)] + [("C0", S.CONTROL), ("C1", S.CONTROL)]
    wh.replace_partition(contract(spark, S.CAMPAIGN_AUDIENCES, [
        {S.CAMPAIGN: "c", S.USER_ID: u, S.OFFERS: [], S.REASON: "r", S.ARM: a, "priority": 1, S.RUN_DATE: RUN}
        for u, a in audience]).drop(S.RUN_DATE), "campaign_audiences", RUN)

    def line(u, when, amount):
        return {S.EVENT_ID: f"{u}{when}", S.ORDER_ID: "o", S.USER_ID: u, S.ITEM_ID: "i",
                S.TS: datetime.fromisoformat(when), S.QUANTITY: 1, S.PRICE: amount, S.AMOUNT: amount,
                S.IS_RETURN: False, S.SOURCE: "t", S.INGEST_DATE: RUN}

    # the window is (25 Oct, 1 Nov]; the pre-period the 28 days before it, (27 Sep, 25 Oct]
    wh.merge_upsert(contract(spark, S.ORDERS, [
        line("T0", "2026-10-30 10:00:00", 10.0), line("T1", "2026-10-26 00:00:00", 20.0),
        line("C0", "2026-11-01 23:59:00", 5.0),
        line("T0", "2026-10-01 10:00:00", 4.0), line("T2", "2026-10-25 23:00:00", 7.0),  # the pre-period
        line("C1", "2026-09-27 12:00:00", 3.0),  # before the pre-period
        line("T3", "2026-11-02 09:00:00", 99.0),  # after the run date
    ]), "orders", [S.EVENT_ID])
    execute("plan-experiment", TOOLS["plan-experiment"], spark, cfg, RUN,
            args=TOOLS["plan-experiment"].args(target_lift=0.5))
    r = wh.read_run("experiment_plans", RUN).collect()[0]
    assert (r.campaign, r.audience, r.n_treatment, r.n_control, r.treatment_share) == ("c", 8, 6, 2, 0.75)
    # conversion y: T0, T1, C0 of 8 -> 0.375, variance 0.234375; z = 1.959964 + 0.841621 = 2.801585
    # MDE = 2.801585 * sqrt(0.234375 * (1/6 + 1/2)) = 2.801585 * 0.395285 = 1.107425
    assert r.base_rate == 0.375 and r.mde_conversion == pytest.approx(1.107425, abs=1e-5)
    assert r.mde_conversion_relative == pytest.approx(1.107425 / 0.375, abs=1e-4)
    # pre-period x: T0, T2. var x = (2 - 4/8)/7, var y = (3 - 9/8)/7, cov = (1 - 6/8)/7: ρ² = 1/45
    assert r.cuped_reduction_conversion == pytest.approx(1 / 45)
    assert r.mde_conversion_cuped == pytest.approx(1.107425 * math.sqrt(1 - 1 / 45), abs=1e-5)
    # revenue r: 10, 20, 5 -> 35/8 = 4.375, var (525 - 35²/8)/7 = 53.125; MDE = z * sqrt(53.125 * 2/3) = 16.6728
    assert r.revenue_per_user == 4.375 and r.revenue_sd == pytest.approx(math.sqrt(53.125))
    assert r.mde_revenue == pytest.approx(16.6728, abs=1e-3)
    # pre-period revenue q: T0 4, T2 7: var q = (65 - 121/8)/7 = 7.125, cov = (40 - 11·35/8)/7 = -1.160714
    # ρ² = 1.160714² / (7.125 · 53.125) = 0.0035593
    assert r.cuped_reduction_revenue == pytest.approx(0.0035593, abs=1e-6)
    # a +50 % lift on conversion is 0.1875 absolute; at 75/25: 2.801585² · 0.234375 · (1/0.75 + 1/0.25) / 0.1875²
    # = 7.848879 · 1.25 / 0.03515625 = 279.07 -> 280
    assert r.target_lift == 0.5 and r.needed_conversion == 280
    assert r.needed_conversion_cuped < r.needed_conversion
    with pytest.raises(MissingTableError, match="tailor campaign"):
        execute("plan-experiment", TOOLS["plan-experiment"], spark, cfg, RUN,
                args=TOOLS["plan-experiment"].args(campaigns=("nope",)))
