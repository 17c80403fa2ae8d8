"""``tailor evaluate`` on a real warehouse: the synthetic shop at a scale, or Online Retail, time split.

For each target: a fresh warehouse, ``tailor ingest``, then ``tailor evaluate`` (every source refitted on
the events before ``run_date - horizon`` and scored on the purchases of new items in the horizon; blend
weights searched one horizon earlier). The ``evaluations`` table is printed as one row per recommender, with
the hybrid's margin over the best single source and its coverage beside that source's.
"""

from __future__ import annotations

import shutil
import time
from datetime import date
from pathlib import Path

from benchmarks.common import machine_facts, scratch, write_results

ROOT = Path(__file__).resolve().parents[1]
TARGETS = {
    # name -> (run date, config overrides)
    "S": (date(2026, 11, 23), ["synthetic.scale=S"]),
    "M": (date(2026, 11, 23), ["synthetic.scale=M"]),
    "L": (date(2026, 11, 23), ["synthetic.scale=L"]),
    "online_retail": (date(2011, 12, 10), [
        "ingest.source=online_retail", "ingest.max_reject_ratio=0.5",
        "sources.online_retail.path={data}/online_retail/online_retail.parquet",
        # wholesale baskets: at 0.001 the year's 18k invoices give hundreds of thousands of rules
        "rules.min_support=0.005",
    ]),
}
HYBRIDS = ("hybrid", "hybrid_seeds_rule")


def run_target(name: str, data: str, workdir: Path, overrides: list[str]) -> tuple[list[dict], dict]:
    from pyspark.sql import functions as F

    from tailor.config import load_config, warehouse
    from tailor.jobs import JOBS
    from tailor.jobs.base import execute
    from tailor.spark import get_spark

    run_date, settings = TARGETS[name]
    where = workdir / f"warehouse-{name}"
    cfg = load_config([str(ROOT / "conf" / "local.yaml")],
                      [f"warehouse={where}", f"spark.jars_dir={ROOT / '.jars'}",
                       *[s.format(data=data) for s in settings], *overrides])
    spark = get_spark(cfg)
    t0 = time.perf_counter()
    execute("ingest", JOBS["ingest"], spark, cfg, run_date)
    t1 = time.perf_counter()
    summary = execute("evaluate", JOBS["evaluate"], spark, cfg, run_date)
    t2 = time.perf_counter()
    rows = [r.asDict() for r in warehouse(spark, cfg).read("evaluations").where(
        F.col("run_date") == run_date).select("recommender", "k", "metric", "value").collect()]  # small
    shutil.rmtree(where, ignore_errors=True)
    weights = {k.removeprefix("weight."): v for k, v in summary.metrics.items() if k.startswith("weight.")}
    return rows, {"ingest_s": round(t1 - t0, 1), "evaluate_s": round(t2 - t1, 1), "weights": weights}


def _margin(a: float, b: float) -> str:
    return f"{a / b - 1:+.1%}" if b else "n/a"


def table(name: str, rows: list[dict], k: int, info: dict) -> list[str]:
    ks = {r["k"] for r in rows if r["metric"] == "ndcg"}
    k = k if k in ks else min(ks)  # evaluation.k without the k asked for: its smallest
    by: dict[str, dict[str, float]] = {}
    for r in rows:
        if r["k"] == k or r["metric"] == "users":
            by.setdefault(r["recommender"], {})[r["metric"]] = r["value"]
    singles = {r: m for r, m in by.items() if r not in HYBRIDS}
    best = max(singles, key=lambda r: singles[r]["ndcg"])
    out = [f"## {name}", "",
           f"ingest {info['ingest_s']} s, evaluate {info['evaluate_s']} s; test users "
           f"{int(by[best].get('users', 0))}; chosen weights {info['weights']}", "",
           f"| recommender | nDCG@{k} | P@{k} | R@{k} | MAP@{k} | hit | coverage | novelty | diversity |",
           "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for rec, m in sorted(by.items(), key=lambda kv: -kv[1]["ndcg"]):
        out.append(f"| {rec} | {m['ndcg']:.4f} | {m['precision']:.4f} | {m['recall']:.4f} | {m['map']:.4f} | "
                   f"{m['hit_rate']:.4f} | {m['coverage']:.3f} | {m['novelty']:.2f} | "
                   f"{m.get('diversity', float('nan')):.3f} |")
    h = by["hybrid"]
    out += ["", f"hybrid against the best single source ({best}): nDCG {h['ndcg']:.4f} vs "
            f"{by[best]['ndcg']:.4f} ({_margin(h['ndcg'], by[best]['ndcg'])}), coverage {h['coverage']:.3f} vs "
            f"{by[best]['coverage']:.3f}; ahead of every source: "
            f"{'yes' if all(h['ndcg'] > m['ndcg'] for m in singles.values()) else 'no'}", ""]
    return out


def main(targets: list[str], data: str, overrides: list[str], k: int = 10) -> Path:
    from tailor.config import load_config
    from tailor.spark import get_spark

    results, lines = [], []
    with scratch("tailor-evaluations-") as workdir:
        for name in targets:
            print(f"target {name}", flush=True)
            rows, info = run_target(name, data, workdir, overrides)
            results.append({"target": name, **info, "rows": rows})
            lines += table(name, rows, k, info)
            print("\n".join(table(name, rows, k, info)), flush=True)
    facts = machine_facts(get_spark(load_config([str(ROOT / "conf" / "local.yaml")])))
    return write_results("evaluations", {**facts, "targets": targets, "overrides": overrides}, results,
                         "\n".join(lines))
