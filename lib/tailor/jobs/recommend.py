"""``tailor recommend``: ``candidate_recs`` (run_date, every source in ``hybrid.sources`` that has rows) +
silver ``events`` and ``products`` -> ``recommendations`` (run_date).

Each source's candidates are normalised per user (``hybrid.normalise``) and blended with weights:
``hybrid.weights`` when set, else the ones ``tailor evaluate`` learned most recently (``tuning_results``,
model ``hybrid``, chosen), else equal. Items the user bought and items missing from the catalogue are
removed, at most ``hybrid.max_per_category`` per category are kept, and ``hybrid.top_n`` per user are
written with the source that contributed most, its anchor and a reason. A user only popularity knows (a new
one) gets their segment's, country's or everyone's best sellers. A positive ``novelty`` weight adds each
candidate's self-information (from the events up to run_date), min-max normalised per user.

When the catalogue has at most ``plans.grouped_max_rows`` items (``plans.hybrid: auto``), each group of users is served
in numpy from one shuffle of the candidates (:func:`tailor.recommend.hybrid.serve`); Spark's plan otherwise.
"""

from __future__ import annotations

import logging
from datetime import date

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.asof import before_cutoff
from tailor.config import Config, warehouse
from tailor.errors import MissingTableError, NotApplicable
from tailor.jobs.base import JobSummary
from tailor.recommend import hybrid as H
from tailor.wiring import HYBRID

log = logging.getLogger(__name__)

READS: frozenset[str] = frozenset({"candidate_recs", "events", "products"})
SOFT_READS: dict[str, str] = {"tuning_results": "hybrid.weights when set, else equal weights"}
WRITES: frozenset[str] = frozenset({"recommendations"})


def weights(spark: SparkSession, cfg: Config, run_date: date, sources: list[str]) -> tuple[dict[str, float], str]:
    """The blend weights for ``sources`` (and the novelty term) and where they came from (config, learned
    <date>, equal)."""
    wh = warehouse(spark, cfg)
    terms = [*sources, H.NOVELTY]
    if cfg.hybrid.weights:
        return {s: float(cfg.hybrid.weights.get(s, 0.0)) for s in terms}, "config"
    try:
        learned = (
            wh.read("tuning_results")
            .where((F.col("model") == HYBRID) & F.col("chosen") & (F.col(S.RUN_DATE) <= F.lit(run_date)))
            .orderBy(F.desc(S.RUN_DATE))
            .select("params", S.RUN_DATE)
            .first()
        )
    except MissingTableError:
        learned = None
    if learned is not None:
        w = {s: float(learned["params"].get(s, 0.0)) for s in terms}
        if any(w[s] > 0 for s in sources):
            return w, f"learned {learned[S.RUN_DATE]}"
    return {s: 1.0 for s in sources}, "equal"


def with_titles(recs: DataFrame, products: DataFrame) -> DataFrame:
    """Reasons that name the anchor item by its title where the catalogue has one ("customers who liked
    "Milk, whole" also liked this" rather than "... liked 13176 ..."); ``anchor`` keeps the id."""
    titles = products.where(F.col(S.TITLE).isNotNull()).select(
        F.col(S.PRODUCT_ID).alias("_anchor"), F.concat(F.lit('"'), F.col(S.TITLE), F.lit('"')).alias("_title"))
    named = recs.join(titles, F.col(S.ANCHOR) == F.col("_anchor"), "left")
    reason = H.reason(F.col(S.SOURCE), F.coalesce(F.col("_title"), F.col(S.ANCHOR)))
    return named.withColumn(H.REASON, reason).select(*recs.columns)


def run(spark: SparkSession, cfg: Config, run_date: date) -> JobSummary:
    wh = warehouse(spark, cfg)
    h = cfg.hybrid
    cands = wh.read_run("candidate_recs", run_date).where(F.col(S.SOURCE).isin(h.sources))
    present = sorted(r[0] for r in cands.select(S.SOURCE).distinct().collect())  # at most len(sources) rows
    if not present:
        raise NotApplicable(f"no candidates from hybrid.sources {h.sources} for {run_date}; the candidate sources "
                            "that ran found none")
    w, origin = weights(spark, cfg, run_date, present)
    log.info("blending %s with weights %s (%s)", present, w, origin)
    events = wh.read("events")
    bought = events.where(before_cutoff(run_date) & (F.col(S.EVENT_TYPE) == S.PURCHASE)).select(
        S.USER_ID, S.ITEM_ID)  # repeats are harmless: both plans only test membership
    catalogue = wh.read("products").select(F.col(S.PRODUCT_ID).alias(S.ITEM_ID), S.CATEGORY)
    info = None
    if w.get(H.NOVELTY, 0.0) > 0:
        info = H.item_information(events.where(before_cutoff(run_date)).select(S.USER_ID, S.ITEM_ID))
    summary = JobSummary(tables=["recommendations"])
    summary.rows_in = cands.count()
    recs = H.serve(cands, bought, catalogue, {HYBRID: w}, h.top_n, h.max_per_category, h.normalise, info,
                   cfg.plans.max_rows("hybrid"), summary.rows_in).drop(H.RECOMMENDER)
    recs = with_titles(recs, wh.read("products"))
    summary.rows_out = wh.replace_partition(recs, "recommendations", run_date)
    summary.metrics.update({f"weight.{s}": v for s, v in w.items()})
    summary.metrics["weights_learned"] = float(origin.startswith("learned"))
    return summary
