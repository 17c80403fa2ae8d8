"""``tailor campaign``: silver ``customers``, ``user_features``, ``user_segments``, ``propensity_scores`` and
``recommendations`` of the run date, ``contact_history`` and the suppression files -> ``campaign_audiences``
(run_date): one row per targeted customer with their campaign, arm, offers and reason.

The steps and their order are in :mod:`tailor.campaigns.audience`. The run date's partition is replaced,
so a re-run (even after ``record-sends`` recorded that day's sends) leaves the same audience.
"""

from __future__ import annotations

import logging
from datetime import date

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from tailor import sandbox
from tailor import schemas as S
from tailor.campaigns import audience as A
from tailor.config import Config, warehouse
from tailor.errors import MissingTableError, NotApplicable
from tailor.jobs.base import JobSummary

log = logging.getLogger(__name__)

READS: frozenset[str] = frozenset({"customers", "user_features"})
SOFT_READS: dict[str, str] = {
    "user_segments": "campaigns per segment, or whose rule uses segments, are skipped with the reason",
    "propensity_scores": "campaigns whose rule uses a score are skipped with the reason",
    "customer_value": "campaigns whose rule uses P(alive), CLV or expected purchases are skipped with the reason",
    "recommendations": "campaigns with offers are skipped with the reason; offers: 0 campaigns still run",
    "uplift_scores": "campaigns whose rule uses uplift are skipped with the reason, and no customer is left out "
                     "for a non-positive expected gain",
}
HISTORY: frozenset[str] = frozenset({"contact_history"})
WRITES: frozenset[str] = frozenset({"campaign_audiences"})


def _optional(spark: SparkSession, cfg: Config, name: str, run_date: date) -> DataFrame | None:
    wh = warehouse(spark, cfg)
    try:
        return wh.read_run(name, run_date)
    except (MissingTableError, NotApplicable):  # never written for the date, or written empty
        return None


def run(spark: SparkSession, cfg: Config, run_date: date) -> JobSummary:
    wh = warehouse(spark, cfg)
    cs = cfg.campaigns
    summary = JobSummary(tables=["campaign_audiences"])
    for d in cs.definitions:  # before anything is read: a rule outside the language is a config error
        sandbox.check(spark, d.rule, d.name)
    customers = wh.read("customers")
    features = wh.read_run("user_features", run_date)
    recs = _optional(spark, cfg, "recommendations", run_date)
    segments = _optional(spark, cfg, "user_segments", run_date)
    scores = _optional(spark, cfg, "propensity_scores", run_date)
    value = _optional(spark, cfg, "customer_value", run_date)
    uplift = _optional(spark, cfg, "uplift_scores", run_date)
    history = wh.read("contact_history") if wh.exists("contact_history") else None

    segment_names = ([r[0] for r in segments.select(S.SEGMENT).distinct().collect()]  # at most k_max + 1
                     if segments is not None else None)
    skipped: dict[str, str] = {}
    definitions = []
    for d in cs.definitions:
        if d.per_segment and segment_names is None:
            skipped[d.name] = "it is per segment, and user_segments has no rows for the run date"
        elif d.offers > 0 and recs is None:
            skipped[d.name] = "it sends offers, and recommendations has no rows for the run date"
        else:
            definitions.append(d)
    models = [r[0] for r in scores.select("model").distinct().collect()] if scores is not None else []
    buyers = features.where(F.col("frequency") > 0)
    median = buyers.approxQuantile("monetary_total", [0.5], 0.001)
    people = A.eligible(customers, A.suppressed_ids(spark, cs.suppression_files), cs)
    attrs = A.attributes(people, features, segments, scores, sorted(models), cs.propensity_algorithm,
                         median[0] if median else None, value, cfg.clv.horizons_days, uplift, cs.contact_cost)
    gain_filtered = uplift is not None and cs.positive_gain_only
    if gain_filtered:  # before assignment: both arms lose the same customers
        summary.metrics["not_positive_gain"] = attrs.where(~F.coalesce(F.col("expected_gain") > 0, F.lit(False))
                                                           ).count()
        attrs = attrs.where(F.col("expected_gain") > 0)
    elif cs.positive_gain_only:
        log.info("no uplift_scores for %s: no customer is left out for their expected gain", run_date)
    campaigns = []
    for c in A.expand(definitions, cs, segment_names):
        try:
            A.condition(attrs, c)
            campaigns.append(c)
        except A.MissingAttributesError as e:
            skipped[c.name] = e.why
    for name, why in skipped.items():
        log.warning("campaign %s skipped: %s", name, why)
        summary.metrics[f"skipped.{name}"] = 1
    if not campaigns:
        raise NotApplicable("no campaign can run: " + "; ".join(f"{n}: {w}" for n, w in skipped.items()))
    qualified = A.qualify(attrs, campaigns).persist(StorageLevel.MEMORY_AND_DISK)
    capped = A.over_cap(history, run_date, cs, [c.name for c in campaigns])
    allowed = qualified if capped is None else qualified.join(capped, S.USER_ID, "left_anti")
    chosen = A.pick(allowed).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        most = max(c.offers for c in campaigns)
        out = A.assign(chosen, campaigns, A.top_offers(recs, most) if most and recs is not None else None, cs.salt)
        summary.rows_out = wh.replace_partition(out, "campaign_audiences", run_date)
        opted = A.opted_in(customers).count()
        n_people = people.count()
        qualified_users = qualified.select(S.USER_ID).distinct().count()
        n_chosen = chosen.count()
        summary.rows_in = opted
        summary.metrics.update({
            "opted_in": opted,
            "suppressed_or_held_out": opted - n_people,
            "qualified": qualified_users,
            "capped": qualified_users - n_chosen,
            "no_offer": n_chosen - summary.rows_out,
        })
        written = wh.read_run("campaign_audiences", run_date) if summary.rows_out else None
        if written is not None:
            for r in written.groupBy(S.CAMPAIGN, S.ARM).count().collect():  # campaigns x 2 rows
                summary.metrics[f"{r[S.CAMPAIGN]}.{r[S.ARM]}"] = r["count"]
    finally:
        qualified.unpersist()
        chosen.unpersist()
    log.info("campaign audiences for %s: %d customers in %d campaigns", run_date, summary.rows_out,
             len(campaigns))
    return summary
