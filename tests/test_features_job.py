"""The features and segments jobs end to end on a small synthetic shop: complete, consistent, idempotent."""

from datetime import date

import pytest

from conftest import SHOP_RUN_DATE, run_twice
from tailor.cli import EXIT_FAILED, main
from tailor.config import warehouse

RUN = date.fromisoformat(SHOP_RUN_DATE)
WRITTEN = ["user_features", "user_segments", "segment_profiles"]


@pytest.fixture(scope="module")
def twice(spark, shop):
    cfg = shop("segments.k_max=4")
    summaries, first, second = run_twice(spark, cfg, ["features", "segments"], WRITTEN)
    return cfg, summaries, first, second


def test_every_customer_has_one_profile_and_one_segment(spark, twice):
    cfg, (feat_summary, seg_summary), _, _ = twice
    customers = warehouse(spark, cfg).read("customers").count()
    uf = warehouse(spark, cfg).read_run("user_features", RUN)
    us = warehouse(spark, cfg).read_run("user_segments", RUN)
    assert uf.count() == uf.select("user_id").distinct().count() == customers == feat_summary.rows_out
    assert us.count() == customers
    assert us.join(uf, "user_id", "left_anti").count() == 0
    # buyers are clustered, everyone else is segment -1; RFM agrees on who bought
    no_purchase = us.where("segment_id = -1").select("user_id")
    assert no_purchase.exceptAll(uf.where("frequency = 0").select("user_id")).count() == 0
    assert uf.where("frequency = 0").count() == feat_summary.metrics["rfm.no_purchase"]
    assert 2 <= seg_summary.metrics["k"] <= 4


def test_profiles_add_up(spark, twice):
    cfg, _, _, _ = twice
    prof = warehouse(spark, cfg).read_run("segment_profiles", RUN).collect()
    assert sum(p["size"] for p in prof) == warehouse(spark, cfg).read("customers").count()
    assert sum(p.customer_share for p in prof) == pytest.approx(1.0)
    assert sum(p.revenue_share for p in prof) == pytest.approx(1.0)
    assert len({p.segment for p in prof}) == len(prof)


def test_rerun_for_the_same_date_leaves_tables_as_one_run(twice):
    _, _, first, second = twice
    assert first == second


def test_segments_before_features_is_a_clear_failure(tmp_path, capsys):
    code = main(["segments", "--conf", "conf/local.yaml", "--set", f"warehouse={tmp_path}", "--run-date",
                 "2026-11-23"])
    assert code == EXIT_FAILED
    assert "table 'user_features' does not exist" in capsys.readouterr().err
