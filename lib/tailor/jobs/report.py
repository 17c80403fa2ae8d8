"""``tailor report``: the run date's tables -> one self-contained HTML page, ``<report.dir>/tailor-report-<run
date>.html`` (default ``<warehouse>/reports``), with its figures embedded.

Sections: data quality (rows accepted, quarantined by reason), segments (sizes, feature means), customer value
(CLV and P(alive) by CLV decile, the BG/NBD holdout backtest, the fitted parameters), evaluation
(the table at ``evaluation.search_k``, precision@k and recall@k per recommender), propensity (ROC curves,
decile lift and the reliability diagram before and after calibration, per model), association rules (the
strongest), campaigns (audience sizes by arm; A/B results with the SRM gate, CUPED and the always-valid
readout; the uplift models' Qini curves)
and the day's run log. Every figure is drawn from an aggregate Spark has already reduced to a few hundred
rows at most; no table is collected whole. A section whose table has no rows for the run date says which job
writes it.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.config import Config, warehouse
from tailor.jobs.base import JobSummary
from tailor.reporting import figures as G
from tailor.reporting.page import Section, Table, render

log = logging.getLogger(__name__)

READS: frozenset[str] = frozenset()
SOFT_READS: dict[str, str] = {  # literal, so that the pipeline can read it without importing Spark
    "quarantine": "the quality section says the run date has no rows",
    "segment_profiles": "the segments section says the run date has no rows",
    "evaluations": "the evaluation section says the run date has no rows",
    "model_metrics": "the propensity section says the run date has no rows",
    "customer_value": "the customer value section says the run date has no rows",
    "association_rules": "the rules section says the run date has no rows",
    "campaign_audiences": "the campaigns section shows experiments only",
    "experiment_results": "the campaigns section shows audiences only",
    "products": "rules show item ids without titles",
}
WRITES: frozenset[str] = frozenset()

TOP_RULES = 15
RULES_PLOTTED = 300
MAX_RUNS = 500


def output_path(cfg: Config, run_date: date) -> str:
    folder = cfg.report.dir or f"{cfg.warehouse_uri}/reports"
    return f"{folder.rstrip('/')}/tailor-report-{run_date.isoformat()}.html"


def _day(spark: SparkSession, cfg: Config, name: str, run_date: date):
    """The run date's rows of ``name``, or None when the table does not exist."""
    wh = warehouse(spark, cfg)
    if not wh.exists(name):
        return None
    return wh.read(name).where(F.col(S.RUN_DATE) == F.lit(run_date))


def _missing(key: str, title: str, table: str, job: str) -> Section:
    return Section(key, title, note=f"no {table} rows for this run date: run `tailor {job}`")


def _missing_for(spark, cfg, run_date, key: str, title: str, table: str, job: str) -> Section:
    """The note of a section without data: why, when the runs table knows (the job was not applicable, or
    failed, or ran and wrote nothing), else which job to run."""
    runs = _day(spark, cfg, "runs", run_date)
    last = None if runs is None else (runs.where(F.col("job") == job).orderBy(F.desc("started_at"))
                                      .select("status", "error").first())
    if last is None:
        return _missing(key, title, table, job)
    if last["status"] == "succeeded":
        return Section(key, title, note=f"`tailor {job}` ran for this run date and wrote no {table} rows")
    return Section(key, title, note=f"`tailor {job}` {last['status'].replace('_', ' ')}: {last['error']}")


def quality(spark, cfg, run_date) -> Section:
    title = "Data quality"
    q = _day(spark, cfg, "quarantine", run_date)
    runs = _day(spark, cfg, "runs", run_date)
    ingest = None
    if runs is not None:
        ingest = (runs.where((F.col("job") == "ingest") & (F.col("status") == "succeeded"))
                  .orderBy(F.col("ended_at").desc()).select("metrics").first())
    if ingest is None:
        return _missing_for(spark, cfg, run_date, "quality", title, "successful ingest", "ingest")
    metrics = ingest["metrics"] or {}
    accepted = {k.split(".", 1)[1]: v for k, v in metrics.items() if k.startswith("accepted.")}
    landed = {k.split(".", 1)[1]: v for k, v in metrics.items() if k.startswith("input.")}
    reasons = [] if q is None else [
        (r["source"], r["entity"], r["reason"], int(r["n"]))
        for r in q.groupBy("source", "entity", "reason").agg(F.count(F.lit(1)).alias("n"))
        .orderBy(F.col("n").desc()).collect()]  # one row per (source, entity, reason)
    section = Section("quality", title, tables=[
        Table(["entity", "rows in", "accepted", "quarantined"],
              [[e, int(landed.get(e, 0)), int(accepted[e]), int(landed.get(e, 0) - accepted[e])]
               for e in sorted(accepted)]),
        Table(["source", "entity", "reason", "rows"], [list(r) for r in reasons])])
    labels = [f"{e}: accepted" for e in sorted(accepted)] + [f"{e}/{why}" for _, e, why, _ in reasons]
    values = [float(accepted[e]) for e in sorted(accepted)] + [float(n) for *_, n in reasons]
    section.images.append(("rows accepted and quarantined",
                           G.bars(labels, values, "Rows accepted, and quarantined by reason", "rows")))
    return section


def segments(spark, cfg, run_date) -> Section:
    title = "Customer segments"
    prof = _day(spark, cfg, "segment_profiles", run_date)
    rows = [] if prof is None else prof.orderBy(S.SEGMENT_ID).collect()  # one row per segment
    if not rows:
        return _missing_for(spark, cfg, run_date, "segments", title, "segment_profiles", "segments")
    names = [f"{r[S.SEGMENT_ID]}: {r[S.SEGMENT]}" for r in rows]
    features = sorted(set().union(*(r["feature_means"].keys() for r in rows)))
    means = [[float(r["feature_means"].get(f) or 0.0) for f in features] for r in rows]
    k, sil = rows[0]["k"], rows[0]["silhouette"]
    return Section("segments", title, images=[
        ("segment sizes", G.bars(names, [float(r["size"]) for r in rows], f"Customers per segment (k = {k}"
                                 + ("" if sil is None else f", silhouette {sil:.3f}") + ")", "customers")),
        ("segment feature means", G.heatmap(names, features, means, "Feature means by segment")),
    ], tables=[Table(["segment", "customers", "customer share", "revenue share"],
                     [[n, int(r["size"]), float(r["customer_share"]), float(r["revenue_share"])]
                      for n, r in zip(names, rows, strict=True)])])


def value(spark, cfg, run_date) -> Section:
    title = "Customer value"
    cv = _day(spark, cfg, "customer_value", run_date)
    deciles = [] if cv is None else cv.where(F.col("clv_decile").isNotNull()).groupBy("clv_decile").agg(
        F.count(F.lit(1)).alias("n"), F.avg("clv").alias("clv"), F.avg("p_alive").alias("p_alive"),
        F.sum("clv").alias("total")).orderBy("clv_decile").collect()  # at most 10 rows
    if not deciles:
        return _missing_for(spark, cfg, run_date, "value", title, "customer_value", "clv")
    mm = _day(spark, cfg, "model_metrics", run_date)
    val = {} if mm is None else {(r["metric"], r["key"]): r["value"] for r in mm.where(F.col("model") == "clv")
                                 .collect()}  # tens of rows
    labels = [f"decile {r['clv_decile']}" for r in deciles]
    images = [("CLV by decile", G.grouped_bars(labels, {"mean CLV": [float(r["clv"]) for r in deciles]},
                                               "Mean lifetime value by CLV decile (1 = top)", "CLV")),
              ("P(alive) by decile", G.grouped_bars(labels, {"mean P(alive)": [float(r["p_alive"]) for r in deciles]},
                                                    "Mean P(alive) by CLV decile", "P(alive)"))]
    buckets = sorted((k for (m, k) in val if m == "holdout_predicted"), key=int)
    tables = [Table(["parameter", "value"], [[f"{m.split('_param')[0]} {k}", v] for (m, k), v in sorted(val.items())
                                              if m.endswith("_param")])]
    if buckets:
        names = [f"{b}+" if b == buckets[-1] and int(b) >= 7 else b for b in buckets]
        images.append(("holdout", G.grouped_bars(
            names, {"predicted": [val[("holdout_predicted", b)] for b in buckets],
                    "actual": [val[("holdout_actual", b)] for b in buckets]},
            f"Repeat purchases in the last {val.get(('holdout_days', ''), 0):.0f} days, by earlier repeat purchases",
            "mean per customer")))
        tables.append(Table(["earlier repeat purchases", "customers", "predicted", "actual"],
                            [[n, int(val[("holdout_customers", b)]), val[("holdout_predicted", b)],
                              val[("holdout_actual", b)]] for n, b in zip(names, buckets, strict=True)]))
    total = sum(float(r["total"]) for r in deciles) or 1.0
    share = Table(["CLV decile", "customers", "mean CLV", "mean P(alive)", "share of total CLV"],
                  [[r["clv_decile"], int(r["n"]), float(r["clv"]), float(r["p_alive"]), float(r["total"]) / total]
                   for r in deciles])
    return Section("value", title, images=images, tables=[share, *tables])


def evaluation(spark, cfg, run_date) -> Section:
    title = "Recommender evaluation"
    ev = _day(spark, cfg, "evaluations", run_date)
    rows = [] if ev is None else ev.select("recommender", "split", "k", "metric", "value").collect()  # ~500 rows
    if not rows:
        return _missing_for(spark, cfg, run_date, "evaluation", title, "evaluations", "evaluate")
    ks = sorted({r["k"] for r in rows})
    k0 = cfg.evaluation.search_k if cfg.evaluation.search_k in ks else ks[0]
    metrics = ["precision", "recall", "ndcg", "map", "hit_rate", "coverage", "novelty", "diversity"]
    at = {(r["recommender"], r["metric"]): r["value"] for r in rows if r["k"] == k0}
    recs = sorted({r["recommender"] for r in rows}, key=lambda name: -(at.get((name, "ndcg")) or 0.0))
    table = Table(["recommender", *[f"{m}@{k0}" for m in metrics]],
                  [[name, *[at.get((name, m)) for m in metrics]] for name in recs])
    panels = {m: {name: [(float(r["k"]), float(r["value"])) for r in rows
                         if r["recommender"] == name and r["metric"] == m] for name in recs}
              for m in ("precision", "recall")}
    return Section("evaluation", title, images=[
        ("precision and recall at k", G.curves({f"{m}@k": v for m, v in panels.items()}, "k"))],
        tables=[table])


CALIBRATION_METRICS = ("brier", "brier_uncalibrated", "ece", "ece_uncalibrated", "decile_calibration_gap",
                       "calibration_predicted", "calibration_observed", "calibration_predicted_uncalibrated",
                       "calibration_observed_uncalibrated")


def propensity(spark, cfg, run_date) -> Section:
    title = "Propensity models"
    mm = _day(spark, cfg, "model_metrics", run_date)
    rows = [] if mm is None else mm.where(F.col("metric").isin(
        "roc_fpr", "roc_tpr", "lift", "roc_auc", "pr_auc", "capture", *CALIBRATION_METRICS)).collect()  # ~170 per model
    if not rows:
        return _missing_for(spark, cfg, run_date, "propensity", title, "model_metrics", "train-propensity")
    models = sorted({r["model"] for r in rows})
    val = {(r["model"], r["metric"], r["key"]): r["value"] for r in rows}
    roc = {}
    for m in models:
        keys = sorted(k for (mm_, metric, k) in val if mm_ == m and metric == "roc_fpr")
        auc = val.get((m, "roc_auc", ""))
        label = m if auc is None else f"{m} (AUC {auc:.3f})"
        roc[label] = [(val[(m, "roc_fpr", k)], val[(m, "roc_tpr", k)]) for k in keys if (m, "roc_tpr", k) in val]
    deciles = [str(d) for d in range(10, 0, -1)]
    lift = {m: [val.get((m, "lift", d), 0.0) for d in deciles] for m in models}
    table = Table(["model", "ROC AUC", "PR AUC", "top-decile lift", "top-decile capture", "Brier (raw)", "Brier",
                   "ECE (raw)", "ECE", "largest decile gap"],
                  [[m, *[val.get((m, metric, k)) for metric, k in (
                      ("roc_auc", ""), ("pr_auc", ""), ("lift", "10"), ("capture", "10"), ("brier_uncalibrated", ""),
                      ("brier", ""), ("ece_uncalibrated", ""), ("ece", ""), ("decile_calibration_gap", ""))]]
                   for m in models])

    def reliability(suffix: str) -> dict[str, list[tuple[float, float]]]:
        return {m: [(v, val[(m, f"calibration_observed{suffix}", k)]) for (m_, metric, k), v in val.items()
                    if m_ == m and metric == f"calibration_predicted{suffix}"
                    and (m, f"calibration_observed{suffix}", k) in val] for m in models}

    return Section("propensity", title, images=[
        ("ROC curves", G.curves({"ROC on the out-of-time validation window": roc}, "false positive rate",
                                "true positive rate", diagonal=True)),
        ("decile lift", G.grouped_bars([f"decile {d}" for d in deciles], lift, "Lift by score decile (10 = top)",
                                       "lift over the base rate", baseline=1.0)),
        ("reliability", G.curves({"calibrated scores": reliability(""),
                                  "raw (class-weighted) scores": reliability("_uncalibrated")},
                                 "mean predicted probability (ten equal-width bins)", "observed rate",
                                 diagonal=True)),
    ], tables=[table])


def rules(spark, cfg, run_date) -> Section:
    title = "Association rules"
    ar = _day(spark, cfg, "association_rules", run_date)
    if ar is None:
        return _missing_for(spark, cfg, run_date, "rules", title, "association_rules", "rules")
    plotted = (ar.orderBy(F.col("lift").desc(), F.col("confidence").desc(), F.col("support").desc())
               .select("antecedent", "consequent", "support", "confidence", "lift").limit(RULES_PLOTTED).collect())
    if not plotted:
        r = cfg.rules
        return Section("rules", title, note=f"0 rules for this run date at rules.min_support={r.min_support:g}, "
                       f"min_confidence={r.min_confidence:g}, min_lift={r.min_lift:g} (see the rules job's metrics "
                       "in the run log)")
    top = plotted[:TOP_RULES]
    names = _titles(spark, cfg, {i for r in top for i in [*r["antecedent"], r["consequent"]]})
    return Section("rules", title, images=[
        ("rules by support and confidence",
         G.scatter([r["support"] for r in plotted], [r["confidence"] for r in plotted], [r["lift"] for r in plotted],
                   f"The {len(plotted)} rules of highest lift", "support (log)", "confidence", "lift"))],
        tables=[Table(["if bought", "then", "support", "confidence", "lift"],
                      [[", ".join(names.get(i, i) for i in r["antecedent"]),
                        names.get(r["consequent"], r["consequent"]), r["support"], r["confidence"], r["lift"]]
                       for r in top])])


def _titles(spark, cfg, items: set[str]) -> dict[str, str]:
    """item id -> "title (id)" for the few items a section shows (ids alone when products has no title)."""
    if not items or not warehouse(spark, cfg).exists("products"):
        return {}
    rows = (warehouse(spark, cfg).read("products").where(F.col(S.PRODUCT_ID).isin(*sorted(items))
            & F.col(S.TITLE).isNotNull()).select(S.PRODUCT_ID, S.TITLE).collect())  # at most len(items) rows
    return {r[S.PRODUCT_ID]: f"{r[S.TITLE]} ({r[S.PRODUCT_ID]})" for r in rows}


def campaigns(spark, cfg, run_date) -> Section:
    title = "Campaigns and experiments"
    aud = _day(spark, cfg, "campaign_audiences", run_date)
    exp = _day(spark, cfg, "experiment_results", run_date)
    sizes = [] if aud is None else aud.groupBy(S.CAMPAIGN, S.ARM).agg(F.count(F.lit(1)).alias("n")).collect()
    results = [] if exp is None else exp.orderBy(S.CAMPAIGN, "arm").collect()  # one row per campaign and arm
    mm = _day(spark, cfg, "model_metrics", run_date)
    qini = [] if mm is None else mm.where((F.col("model") == "uplift") & F.col("metric").startswith("qini_")
                                          & (F.col("key") != "")).collect()  # ~60 rows
    if not sizes and not results and not qini:
        return _missing_for(spark, cfg, run_date, "campaigns", title, "campaign_audiences or experiment_results",
                            "campaign")
    section = Section("campaigns", title)
    if sizes:
        names = sorted({r[S.CAMPAIGN] for r in sizes})
        arms = sorted({r[S.ARM] for r in sizes})
        n = {(r[S.CAMPAIGN], r[S.ARM]): float(r["n"]) for r in sizes}
        section.images.append(("audience sizes", G.grouped_bars(
            names, {a: [n.get((c, a), 0.0) for c in names] for a in arms}, "Audience by campaign and arm",
            "customers")))
        section.tables.append(Table(["campaign", *arms], [[c, *[int(n.get((c, a), 0)) for a in arms]]
                                                          for c in names]))
    if results:
        names = [_arm_label(r) for r in results]
        rate_t = [r["rate_treatment"] or 0.0 for r in results]
        rate_c = [r["rate_control"] or 0.0 for r in results]
        ci = [(rc + (r["ci_low"] or 0.0), rc + (r["ci_high"] or 0.0)) for r, rc in zip(results, rate_c, strict=True)]
        section.images.append(("experiment conversion", G.grouped_bars(
            names, {"control": rate_c, "treatment": rate_t}, "Conversion by arm (bars: treatment's CI of the lift)",
            "conversion rate", errors={"treatment": ci})))
        section.tables.append(Table(
            ["campaign", "treated", "control", "rate treated", "rate control", "lift", "CI low", "CI high", "p",
             "significant"],
            [[_arm_label(r), int(r["n_treatment"]), int(r["n_control"]), r["rate_treatment"], r["rate_control"],
              r["abs_lift"], r["ci_low"], r["ci_high"], r["p_value"], r["significant"]] for r in results]))
        section.tables.append(Table(
            ["campaign", "sample ratio", "treated share (assigned)", "SRM p", "CUPED lift", "CUPED CI",
             "variance removed", "always-valid p", "confidence sequence", "looks"],
            [[_arm_label(r), _srm_verdict(r), _share(r), r["srm_p_value"], r["cuped_abs_lift"],
              _interval(r["cuped_ci_low"], r["cuped_ci_high"]), r["cuped_variance_reduction"],
              r["sequential_p_value"], _interval(r["sequential_ci_low"], r["sequential_ci_high"]), r["looks"]]
             for r in results]))
    if qini:
        lines: dict[str, list[tuple[float, float]]] = {}
        for r in qini:
            lines.setdefault(r["metric"].removeprefix("qini_"), []).append((float(r["key"]), r["value"]))
        lines["random"] = [(0.0, 0.0), (1.0, max(lines[next(iter(lines))])[1])]
        section.images.append(("qini", G.curves(
            {"Qini curve of the uplift models (held-out customers)": lines}, "share of customers targeted",
            "incremental conversions per treated customer")))
    return section


def _arm_label(r) -> str:
    arm = r["arm"] if "arm" in r.asDict() else None
    return r[S.CAMPAIGN] if arm in (None, S.TREATMENT) else f"{r[S.CAMPAIGN]} / {arm}"


def _srm_verdict(r) -> str:
    if r["srm_failed"] is None:
        return "not checked: no assigned share known (campaigns.expected_shares)"
    if r["srm_failed"]:
        return ("MISMATCH: the arms do not match the assigned split, so the lift is not reported as significant; "
                "look for what dropped or added customers in one arm")
    return "as assigned"


def _share(r) -> str:
    n = (r["n_treatment"] or 0) + (r["n_control"] or 0)
    treated = f"{r['n_treatment'] / n:.3f}" if n else "n/a"
    assigned = "?" if r["expected_treatment_share"] is None else f"{r['expected_treatment_share']:.3f}"
    return f"{treated} ({assigned})"


def _interval(low, high) -> str:
    return "n/a" if low is None or high is None else f"{low:+.4f} to {high:+.4f}"


def run_log(spark, cfg, run_date) -> Section:
    title = "Run log"
    runs = _day(spark, cfg, "runs", run_date)
    rows = [] if runs is None else runs.orderBy("started_at").limit(MAX_RUNS).collect()
    if not rows:
        return _missing_for(spark, cfg, run_date, "runs", title, "runs", "pipeline")
    t0 = rows[0]["started_at"]
    return Section("runs", title, images=[("run timeline", G.timeline(
        [r["job"] for r in rows], [(r["started_at"] - t0).total_seconds() for r in rows],
        [r["duration_s"] for r in rows], [r["status"] == "succeeded" for r in rows], "Jobs of the day"))],
        tables=[Table(["job", "status", "started (UTC)", "seconds", "rows out", "exit code", "error"],
                      [[r["job"], r["status"], r["started_at"].strftime("%H:%M:%S"), float(r["duration_s"]),
                        r["rows_out"], r["exit_code"], r["error"]] for r in rows])])


SECTIONS = (quality, segments, value, evaluation, propensity, rules, campaigns, run_log)


def _write_text(spark: SparkSession, uri: str, text: str) -> None:
    """Write ``text`` to ``uri``: a local path directly, any other store through Hadoop's FileSystem."""
    if "://" not in uri or uri.startswith("file:"):
        local = Path(uri.removeprefix("file://").removeprefix("file:"))
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_text(text, encoding="utf-8")
        return
    jvm = spark.sparkContext._jvm
    target = jvm.org.apache.hadoop.fs.Path(uri)
    fs = target.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    out = fs.create(target, True)
    try:
        out.write(bytearray(text.encode("utf-8")))
    finally:
        out.close()


def run(spark: SparkSession, cfg: Config, run_date: date) -> JobSummary:
    sections = [build(spark, cfg, run_date) for build in SECTIONS]
    page = render(sections, run_date, f"warehouse {cfg.warehouse_uri}; Spark {spark.version}")
    path = output_path(cfg, run_date)
    _write_text(spark, path, page)
    empty = [s.key for s in sections if not s.images]
    log.info("report written to %s (%d KB); sections without data: %s", path, len(page) // 1024, empty or "none")
    return JobSummary(rows_in=sum(1 for s in sections if s.images or s.tables), rows_out=len(sections), metrics={
        "sections": len(sections), "sections.empty": len(empty),
        "images": sum(len(s.images) for s in sections), "bytes": len(page)})
