"""``tailor uplift``: a finished experiment in ``contact_history`` + silver ``orders``, ``events``,
``products``, ``customers`` -> ``uplift_scores`` (run_date) for every customer known on the run date, and
``model_metrics`` (model ``uplift``): the learners' Qini curves out of sample.

The experiment is ``uplift.campaign``, or by default the campaign with the most customers whose outcome
window (``campaigns.window_days``) has ended and whose arms both hold ``uplift.min_customers``. Between
experiments of the same size (campaigns sent to the same customers, as an A/A test sent beside a real one
is) it is the one whose arms' conversion rates differ most (|z| of the two-proportion test), then the first
name: an A/A test has no effect to learn. A customer is treated when their arm is not ``control``; the
outcome is a purchase in the window after their first send (as ``analyze-experiment`` counts it). Features
are the propensity models' (``propensity.numeric_features``: the profile and the purchase-timing features)
as of the day before the campaign's first send, so nothing the send caused reaches them.

A seeded hash holds out ``uplift.test_share`` of the customers. On the rest, a T-learner and an X-learner
(:mod:`tailor.uplift.learners`) are fitted; on the held-out customers each is judged by its Qini curve and
the area under it (:mod:`tailor.uplift.qini`), beside two baselines: random targeting, and targeting by the
predicted conversion rate (a purchase propensity on the same features). ``uplift.learner`` (t) then scores
every customer as of the run date: ``uplift`` (the change in the chance of buying within the window if
contacted), its decile (10 = the most persuadable) and ``conversion``.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

from pyspark import StorageLevel
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.campaigns import experiment as X
from tailor.config import Config, warehouse
from tailor.errors import NotApplicable
from tailor.jobs.analyze_experiment import outcomes
from tailor.jobs.base import JobSummary
from tailor.jobs.train_propensity import timing
from tailor.propensity import labels as L
from tailor.propensity.model import usable_numeric
from tailor.uplift import learners as U
from tailor.uplift import qini as Q

log = logging.getLogger(__name__)

READS: frozenset[str] = frozenset({"orders", "events", "products", "customers"})
HISTORY: frozenset[str] = frozenset({"contact_history"})
WRITES: frozenset[str] = frozenset({"uplift_scores", "model_metrics"})
MODEL = "uplift"


def choose(per_user, run_date: date, window_days: int, minimum: int, named: str | None) -> str:
    """The experiment to learn from, given :func:`outcomes` of every campaign (see the module docstring);
    NotApplicable when none qualifies."""
    treated = F.col(S.ARM) != S.CONTROL
    counts = per_user.groupBy(S.CAMPAIGN).agg(
        F.sum(treated.cast("int")).alias("t"), F.sum((~treated).cast("int")).alias("c"),
        F.sum(F.when(treated, F.col("converted")).otherwise(0)).alias("yt"),
        F.sum(F.when(~treated, F.col("converted")).otherwise(0)).alias("yc")).collect()  # one row per campaign
    ok = {r[S.CAMPAIGN]: (r["t"] + r["c"], abs(X.two_proportions(r["yt"], r["t"], r["yc"], r["c"]).z or 0.0))
          for r in counts if min(r["t"], r["c"]) >= minimum}
    if named is not None:
        if named not in ok:
            raise NotApplicable(f"uplift.campaign {named!r} has no finished window with {minimum} customers in "
                                f"each arm by {run_date} (uplift.min_customers)")
        return named
    if not ok:
        raise NotApplicable(f"no experiment in contact_history has a finished {window_days}-day window with "
                            f"{minimum} customers in each arm by {run_date} (uplift.min_customers)")
    best = min(ok, key=lambda c: (-ok[c][0], -ok[c][1], c))
    log.info("uplift: experiments that qualify (customers, |z| of the conversion lift): %s; learning from %s",
             {c: (n, round(z, 2)) for c, (n, z) in sorted(ok.items())}, best)
    return best


def run(spark: SparkSession, cfg: Config, run_date: date) -> JobSummary:
    wh = warehouse(spark, cfg)
    u, cs, p = cfg.uplift, cfg.campaigns, cfg.propensity
    if not wh.exists("contact_history"):
        raise NotApplicable("contact_history does not exist: uplift learns from a finished experiment "
                            "(tailor record-sends)")
    history = wh.read("contact_history").where(F.col(S.SENT_DATE) <= F.lit(run_date))
    orders, events, products, customers = (wh.read(n) for n in ("orders", "events", "products", "customers"))
    everyone_sent = outcomes(history, orders, run_date, cs.window_days, cs.pre_period_days)
    campaign = choose(everyone_sent, run_date, cs.window_days, u.min_customers, u.campaign)
    per_user = everyone_sent.where(F.col(S.CAMPAIGN) == campaign).select(
        S.USER_ID, (F.col(S.ARM) != S.CONTROL).alias(U.TREATED), F.col("converted").cast("int").alias(U.OUTCOME),
        "first_sent")
    sent = per_user.agg(F.min("first_sent")).first()[0]
    as_of = sent - timedelta(days=1)
    feats = L.features(orders, events, products, customers, as_of, cs.window_days, cfg.features.trend_days,
                       timing(cfg))
    rows = per_user.join(feats, S.USER_ID).persist(StorageLevel.MEMORY_AND_DISK)
    summary = JobSummary(tables=["uplift_scores", "model_metrics"])
    try:
        check = rows.groupBy(U.TREATED).agg(F.count(F.lit(1)).alias("n"), F.sum(U.OUTCOME).alias("y")).collect()
        for r in check:
            if not 0 < r["y"] < r["n"]:
                raise NotApplicable(f"{campaign}: the {'treated' if r[U.TREATED] else 'control'} arm has "
                                    f"{r['y']} conversions of {r['n']}; a learner needs both outcomes in each arm")
        numeric = tuple(usable_numeric(rows, p.numeric_features))
        held = F.pmod(F.xxhash64(F.lit(cfg.seed), F.col(S.USER_ID)), F.lit(10_000)) < round(u.test_share * 10_000)
        train, test = rows.where(~held), rows.where(held)
        settings = U.Settings(numeric, cfg.seed, u.max_iter, u.max_depth, u.fit_partitions)
        fitted = U.fit(train, U.LEARNERS, settings)
        metrics: list[tuple[str, str, float]] = [("campaign", campaign, 1.0), ("features_as_of", as_of.isoformat(),
                                                                                 1.0)]
        curves = {}
        for kind, model in fitted.items():
            scored = model.uplift(test).persist(StorageLevel.MEMORY_AND_DISK)
            curves[kind] = Q.curve(scored, U.UPLIFT, points=u.qini_points)
            if kind == u.learner:
                curves["propensity"] = Q.curve(scored, "conversion", points=u.qini_points)
            scored.unpersist()
        for name, c in curves.items():
            metrics += [(f"auuc_{name}", "", c.auuc), (f"qini_coefficient_{name}", "", c.coefficient)]
            metrics += [(f"qini_{name}", f"{x:.4f}", q) for x, q in c.points]
        random = curves[u.learner].random_auuc
        n = {r[U.TREATED]: r["n"] for r in check}
        metrics += [("auuc_random", "", random), ("customers_treated", "", float(n.get(True, 0))),
                    ("customers_control", "", float(n.get(False, 0))), ("test_share", "", u.test_share),
                    ("overall_lift", "", curves[u.learner].points[-1][1])]
        everyone = L.features(orders, events, products, customers, run_date, cs.window_days,
                              cfg.features.trend_days, timing(cfg))
        scored = fitted[u.learner].uplift(everyone.select(S.USER_ID, *numeric)).persist(StorageLevel.MEMORY_AND_DISK)
        try:
            cuts = scored.agg(F.percentile_approx(U.UPLIFT, [i / 10 for i in range(1, 10)], 10_000)).first()[0]
            decile = sum((F.when(F.col(U.UPLIFT) > F.lit(c), 1).otherwise(0) for c in cuts or []), F.lit(1))
            out = scored.select(S.USER_ID, F.round(U.UPLIFT, 10).alias("uplift"), decile.cast("int").alias(
                "uplift_decile"), F.round("conversion", 10).alias("conversion"), F.lit(campaign).alias("campaign"),
                F.lit(u.learner).alias("learner"))
            summary.rows_out = wh.replace_partition(out, "uplift_scores", run_date)
        finally:
            scored.unpersist()
    finally:
        rows.unpersist()
    version = run_date.isoformat()
    wh.replace_partition(spark.createDataFrame([(version, m, k, float(v)) for m, k, v in metrics],
                                               "version string, metric string, key string, value double"),
                         "model_metrics", run_date, {"model": MODEL})
    summary.rows_in = int(sum(n.values()))
    for name, c in curves.items():
        summary.metrics[f"qini_coefficient.{name}"] = round(c.coefficient, 6)
    summary.metrics["auuc.random"] = round(random, 6)
    log.info("uplift from %s (features as of %s): Qini coefficient %s", campaign, as_of,
             {k: round(c.coefficient, 5) for k, c in curves.items()})
    return summary
