"""FPGrowth on Online Retail against mlxtend, a support curve, and the planted bundles of the synthetic shop.

1. **Online Retail** through Tailor's ingest (cancellations become returns, non-product codes and lines
   without a customer are quarantined), baskets = each invoice's distinct products, no size cap. At one
   support level Tailor's frequent itemsets are compared with ``mlxtend.frequent_patterns.fpgrowth`` on the
   very same baskets (one-hot encoded; encoding time reported apart), with wall times, and the top rules by
   lift are listed. Head to head at minSupport 0.02 and 0.01: Tailor's guard + FPGrowth + rules against
   mlxtend's ``fpgrowth`` + ``association_rules`` (confidence ≥ 0.5), the median of three runs of each.
2. **The curve**: frequent itemsets, rules and wall time (guard + FPGrowth + rules) against minSupport.
3. **Planted bundles**: the synthetic shop's anchors buy their partners in the same order half the time.
   The shop is ingested at a scale, rules are mined with the defaults, and the planted (anchor -> partner)
   pairs are compared with the rules found: recall, and the share of the top rules by lift that are planted.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

from benchmarks.common import machine_facts, write_results

ROOT = Path(__file__).resolve().parents[1]
OR_DATE = date(2011, 12, 10)
SHOP_DATE = date(2026, 11, 23)


def _spark_cfg(work: Path, overrides: list[str]):
    from tailor.config import load_config
    from tailor.spark import get_spark

    cfg = load_config([str(ROOT / "conf" / "local.yaml")],
                      [f"warehouse={work}", f"spark.jars_dir={ROOT / '.jars'}", *overrides])
    return get_spark(cfg), cfg


def _ingest(spark, cfg, run_date: date) -> None:
    from tailor.jobs import JOBS
    from tailor.jobs.base import execute

    execute("ingest", JOBS["ingest"], spark, cfg, run_date)


def _mine_timed(cfg, bask, n: int, items: int, support: float, confidence: float, lift: float):
    """Mined as the rules job mines (tailor.wiring.mine): FPGrowth's partitions from ``items``, the baskets'
    items in all, unless rules.num_partitions is set."""
    from tailor.rules import mining as R

    parts = R.chosen_partitions(bask, items, cfg.rules.num_partitions)
    t0 = time.perf_counter()
    R.guard(bask, n, support, cfg.rules.max_itemsets, cfg.rules.max_pair_work, parts)
    t1 = time.perf_counter()
    model = R.fpgrowth(bask, support, confidence, parts)
    model.freqItemsets.persist()  # as the rules job does (tailor.wiring.mine): the rules reuse the itemsets
    sets = R.itemsets(model, n).collect()  # benchmark only: a few thousand rows at most
    t2 = time.perf_counter()
    rules = R.rules(model, lift).collect()
    t3 = time.perf_counter()
    model.freqItemsets.unpersist()
    return sets, rules, {"guard_s": round(t1 - t0, 2), "fpgrowth_s": round(t2 - t1, 2),
                         "rules_s": round(t3 - t2, 2)}


def _same_itemsets(sets, peer, n: int) -> bool:
    """Tailor's itemsets (rows with items and freq) are mlxtend's (itemsets and support over n baskets)."""
    return {frozenset(r["items"]): r.freq for r in sets} == {
        frozenset(x): round(sup * n) for x, sup in zip(peer["itemsets"], peer["support"], strict=True)}


def online_retail(data: str, support: float, curve: list[float], head_to_head: tuple[float, ...] = (0.02, 0.01),
                  repeats: int = 3, overrides: tuple[str, ...] = ()) -> tuple[dict, list[str]]:
    import pandas as pd
    from mlxtend.frequent_patterns import association_rules, fpgrowth
    from mlxtend.preprocessing import TransactionEncoder
    from pyspark.sql import functions as F

    from tailor import schemas as S
    from tailor.config import warehouse
    from tailor.rules import mining as R

    work = Path(tempfile.mkdtemp(prefix="tailor-rules-or-"))
    spark, cfg = _spark_cfg(work, [
        "ingest.source=online_retail", "ingest.max_reject_ratio=0.5",
        f"sources.online_retail.path={data}/online_retail/online_retail.parquet", *overrides])
    _ingest(spark, cfg, OR_DATE)
    lines = warehouse(spark, cfg).read("orders").where(~F.col(S.IS_RETURN))
    bask, stats = R.baskets(lines.select(S.ORDER_ID, S.ITEM_ID), 1_000_000)
    n = stats.baskets
    sets, rules, times = _mine_timed(cfg, bask, n, stats.items, support, 0.5, 1.0)

    rows = [list(r["items"]) for r in bask.collect()]  # ~20k baskets: the peer needs them in pandas
    t0 = time.perf_counter()
    te = TransactionEncoder()
    onehot = pd.DataFrame(te.fit(rows).transform(rows), columns=te.columns_)
    t1 = time.perf_counter()
    peer = fpgrowth(onehot, min_support=support, use_colnames=True)
    t2 = time.perf_counter()
    peer_rules = association_rules(peer, metric="confidence", min_threshold=0.5)
    t3 = time.perf_counter()
    same = _same_itemsets(sets, peer, n)
    names = {r[S.PRODUCT_ID]: r[S.TITLE] for r in warehouse(spark, cfg).read("products").select(
        S.PRODUCT_ID, S.TITLE).collect()}  # benchmark only: the catalogue has ~4k products

    def name(i: str) -> str:
        return f"{names.get(i, i)} ({i})"

    top = sorted(rules, key=lambda r: (-r.lift, -r.confidence))[:10]
    out = {"baskets": n, "support": support, "itemsets": len(sets), "mlxtend_itemsets": len(peer),
           "identical": same, **times, "mlxtend_encode_s": round(t1 - t0, 2), "mlxtend_fpgrowth_s": round(t2 - t1, 2),
           "mlxtend_rules_s": round(t3 - t2, 2), "rules": len(rules), "mlxtend_rules": len(peer_rules)}
    tailor_s = times["guard_s"] + times["fpgrowth_s"] + times["rules_s"]
    peer_s = out["mlxtend_fpgrowth_s"] + out["mlxtend_rules_s"]
    out["ratio"] = round(tailor_s / max(peer_s, 1e-9), 2)
    lines_md = [
        "## Online Retail", "",
        f"{n} baskets (invoices with at least one product; {stats.empty} empty after cleaning). minSupport "
        f"{support}: Tailor {len(sets)} itemsets, mlxtend {len(peer)}; identical (items and counts): "
        f"**{same}**.", "",
        "| | seconds |", "| --- | ---: |",
        f"| Tailor guard | {times['guard_s']} |", f"| Tailor FPGrowth (itemsets) | {times['fpgrowth_s']} |",
        f"| Tailor rules | {times['rules_s']} |",
        f"| mlxtend one-hot encoding | {out['mlxtend_encode_s']} |",
        f"| mlxtend fpgrowth | {out['mlxtend_fpgrowth_s']} |",
        f"| mlxtend association_rules (confidence ≥ 0.5: {len(peer_rules)} rules; Tailor {len(rules)}) | "
        f"{out['mlxtend_rules_s']} |",
        f"| ratio Tailor (guard + FPGrowth + rules) / mlxtend (fpgrowth + association_rules) | {out['ratio']:.2f} |",
        "", f"Top rules by lift (confidence ≥ 0.5), of {len(rules)}:", "",
        "| antecedent | consequent | support | confidence | lift | leverage | conviction |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    lines_md += [f"| {' + '.join(name(i) for i in r.antecedent)} | {name(r.consequent)} | {r.support:.4f} | "
                 f"{r.confidence:.3f} | {r.lift:.2f} | {r.leverage:.4f} | {r.conviction:.2f} |" for r in top]
    lines_md += ["", "Reference (a public notebook, minSupport 0.02): PINK -> GREEN REGENCY TEACUP AND SAUCER, "
                 "confidence 0.894, lift 21.9.", "", "### Support curve", "",
                 "| minSupport | itemsets | rules (conf ≥ 0.5) | guard s | FPGrowth s | rules s |",
                 "| ---: | ---: | ---: | ---: | ---: | ---: |"]
    points = []
    for s in curve:
        c_sets, c_rules, c_t = _mine_timed(cfg, bask, n, stats.items, s, 0.5, 1.0)
        points.append({"support": s, "itemsets": len(c_sets), "rules": len(c_rules), **c_t})
        lines_md.append(f"| {s} | {len(c_sets)} | {len(c_rules)} | {c_t['guard_s']} | {c_t['fpgrowth_s']} | "
                        f"{c_t['rules_s']} |")
        print(lines_md[-1], flush=True)
    out["curve"] = points
    lines_md += ["", f"### Head to head, median of {repeats} runs each (Tailor: guard + FPGrowth + rules, warm "
                 "session; mlxtend: fpgrowth + association_rules on the encoded frame)", "",
                 "| minSupport | itemsets | identical | Tailor s | mlxtend s | ratio |",
                 "| ---: | ---: | --- | ---: | ---: | ---: |"]
    heads = []
    for s in head_to_head:
        ours_t, theirs_t = [], []
        for _ in range(repeats):
            h_sets, _, h_t = _mine_timed(cfg, bask, n, stats.items, s, 0.5, 1.0)
            ours_t.append(h_t["guard_s"] + h_t["fpgrowth_s"] + h_t["rules_s"])
            t0 = time.perf_counter()
            h_peer = fpgrowth(onehot, min_support=s, use_colnames=True)
            association_rules(h_peer, metric="confidence", min_threshold=0.5)
            theirs_t.append(time.perf_counter() - t0)
        h_same = _same_itemsets(h_sets, h_peer, n)
        a, b = statistics.median(ours_t), statistics.median(theirs_t)
        heads.append({"support": s, "itemsets": len(h_sets), "identical": h_same, "tailor_s": round(a, 2),
                      "mlxtend_s": round(b, 2), "ratio": round(a / b, 2)})
        lines_md.append(f"| {s} | {len(h_sets)} | {h_same} | {a:.2f} | {b:.2f} | {a / b:.2f} |")
        print(lines_md[-1], flush=True)
    out["head_to_head"] = heads
    bask.unpersist()
    shutil.rmtree(work, ignore_errors=True)
    return out, lines_md


def planted(scale: str, overrides: tuple[str, ...] = ()) -> tuple[dict, list[str]]:
    from pyspark.sql import functions as F

    from tailor.config import warehouse
    from tailor.ingest import synthetic as syn
    from tailor.wiring import mine, purchase_lines

    work = Path(tempfile.mkdtemp(prefix="tailor-rules-shop-"))
    spark, cfg = _spark_cfg(work, [f"synthetic.scale={scale}", *overrides])
    _ingest(spark, cfg, SHOP_DATE)
    sy = cfg.synthetic
    spec = syn.shop_spec(sy.scale, cfg.seed, SHOP_DATE, sy.days, sy.dirty_fraction, sy.users, sy.items)
    items = spark.range(spec.items).select(F.col("id").cast("int").alias("idx"))
    truth = {(a, b) for a, b in items.select(
        F.format_string("P%06d", "idx").alias("a"),
        F.explode(syn._partners(spec, F.col("idx"))).alias("p")).select(
        "a", F.format_string("P%06d", "p").alias("b")).collect()}  # one row per planted pair
    t0 = time.perf_counter()
    events = warehouse(spark, cfg).read("events")
    m = mine(cfg, purchase_lines(events, SHOP_DATE, cfg.rules.window_days))
    took = time.perf_counter() - t0
    single = [r for r in m.rules.where(F.size("antecedent") == 1).collect()]  # benchmark only
    found = {(r.antecedent[0], r.consequent) for r in single}
    by_lift = sorted(single, key=lambda r: (-r.lift, -r.confidence))
    k = len(truth)
    top_k = {(r.antecedent[0], r.consequent) for r in by_lift[:k]}
    out = {"scale": scale, "baskets": m.stats.baskets, "planted": k, "rules": len(single),
           "recall": len(truth & found) / k if k else None,
           "precision_top_k_by_lift": len(truth & top_k) / k if k else None, "seconds": round(took, 1)}
    m.unpersist()
    shutil.rmtree(work, ignore_errors=True)
    md = ["", f"## Planted bundles, synthetic shop {scale}", "",
          f"{m.stats.baskets} baskets, rules mined at minSupport {cfg.rules.min_support} (minConfidence "
          f"{cfg.rules.min_confidence}) in {out['seconds']} s (baskets, guard, FPGrowth, rules).",
          f"Planted anchor -> partner pairs: {k}; found among the single-item rules: {len(truth & found)} "
          f"(recall {out['recall']:.3f}); planted among the top {k} rules by lift: {len(truth & top_k)} "
          f"({out['precision_top_k_by_lift']:.3f}). Single-item rules in all: {len(single)}."]
    return out, md


def main(data: str, support: float, curve: list[float], scale: str | None,
         planted_overrides: tuple[str, ...] = (), overrides: tuple[str, ...] = ()) -> Path:
    results, md = {}, []
    results["online_retail"], part = online_retail(data, support, curve, overrides=overrides)
    md += part
    print("\n".join(part), flush=True)
    if scale:
        results["planted"], part = planted(scale, planted_overrides)
        md += part
        print("\n".join(part), flush=True)
    from pyspark.sql import SparkSession

    facts = machine_facts(SparkSession.getActiveSession())
    return write_results("rules", facts, [results], "\n".join(md))
