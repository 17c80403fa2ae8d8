"""``tailor rules``: silver ``orders`` (+ ``events`` for what users saw, ``products`` for titles) ->
``frequent_itemsets``,
``association_rules``, ``frequently_bought_together`` (run_date partitions replaced) and ``candidate_recs``
(run_date, source=rules).

Baskets are the purchase lines of the last ``rules.window_days`` orders (returns and cancellations never
enter), deduplicated, excluded codes removed, baskets over ``rules.max_basket_size`` left out and counted.
A guard bounds the number of frequent itemsets before FPGrowth runs and stops the job with a message naming
the setting to raise rather than running out of memory (:mod:`tailor.rules.mining`). Rules are kept at
``rules.min_confidence`` and ``rules.min_lift``; each user's last ``rules.recent_orders`` orders fire them
(a join on the antecedent, never ``FPGrowthModel.transform``).
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.asof import before_cutoff, cutoff
from tailor.config import Config, warehouse
from tailor.jobs.base import JobSummary
from tailor.rules import cross_sell as X
from tailor.wiring import TrainData, mine, rules_source

log = logging.getLogger(__name__)

READS: frozenset[str] = frozenset({"orders", "events", "products"})
WRITES: frozenset[str] = frozenset({"frequent_itemsets", "association_rules", "frequently_bought_together",
                                    "candidate_recs"})


def run(spark: SparkSession, cfg: Config, run_date: date) -> JobSummary:
    wh = warehouse(spark, cfg)
    r = cfg.rules
    since = cutoff(run_date - timedelta(days=r.window_days))
    bought = wh.read("orders").where(~F.col(S.IS_RETURN) & before_cutoff(run_date))
    lines = bought.where(F.col(S.TS) >= F.lit(since)).select(S.USER_ID, S.ORDER_ID, S.ITEM_ID, S.TS)
    span = bought.agg(F.min(S.TS).alias("first"),
                      F.countDistinct(F.when(F.col(S.TS) < F.lit(since), F.col(S.ORDER_ID))).alias("old")).first()
    summary = JobSummary(tables=["frequent_itemsets", "association_rules", "frequently_bought_together",
                                 "candidate_recs"])
    summary.metrics["orders.outside_window"] = int(span["old"] or 0)
    if span["old"]:
        days_before = (since.date() - span["first"].date()).days
        log.warning("rules.window_days=%d leaves out %d order(s) placed before %s%s", r.window_days, span["old"],
                    since.date(), f" (the data starts only {days_before} day(s) earlier: widen the window to keep "
                    "them)" if days_before <= 30 else "")
    mined = mine(cfg, lines)
    try:
        st, est = mined.stats, mined.estimate
        summary.rows_in = st.baskets
        if st.oversize:
            log.warning("rules.max_basket_size=%d leaves out %d basket(s) with more items", r.max_basket_size,
                        st.oversize)
        summary.metrics.update({
            "baskets": st.baskets, "baskets.empty": st.empty, "baskets.oversize": st.oversize,
            "items.pruned": st.pruned_items, "items": st.items, "fpgrowth.partitions": mined.partitions,
            "guard.frequent_items": est.frequent_items,
            "guard.bound": min(est.bound, 1e300),
            **({} if est.frequent_pairs is None else {"guard.frequent_pairs": est.frequent_pairs}),
            **({} if est.guess is None else {"guard.guess": est.guess, **{
                f"guard.itemsets_at_{s:g}": n for s, n in est.counted.items()}}),
        })
        summary.metrics["frequent_itemsets.rows"] = wh.replace_partition(mined.itemsets, "frequent_itemsets", run_date)
        summary.metrics["association_rules.rows"] = wh.replace_partition(mined.rules, "association_rules", run_date)
        summary.metrics["frequently_bought_together.rows"] = wh.replace_partition(
            X.with_titles(X.frequently_bought_together(mined.rules, r.fbt_top_n), wh.read("products")),
            "frequently_bought_together", run_date)
        data = TrainData(cfg, run_date, wh.read("events"))
        try:
            summary.metrics["rules.rows"] = wh.replace_partition(
                rules_source(data, mined), "candidate_recs", run_date, {S.SOURCE: "rules"})
        finally:
            data.release()
    finally:
        mined.unpersist()
    summary.rows_out = int(sum(v for k, v in summary.metrics.items() if k.endswith(".rows")))
    return summary



