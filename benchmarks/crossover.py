"""The crossover: at what size of data does Spark earn its place against a single-machine peer?

Baskets and interactions with Online Retail's shape, at 1×, 4×, 16× and 64× its size:

* **Base.** Online Retail through Tailor's ingest (as ``benchmarks.run rules`` does): each invoice's distinct
  products is a basket (about 18,500), and each customer's distinct products an interaction row.
* **Scaled ×k** (:func:`scale_sets`, seeded). ``k·N`` baskets are drawn with replacement from the base
  baskets, so the items-per-basket curve is the base's; each item of a drawn basket is then replaced, with
  probability ``SUBSTITUTE``, by an item drawn from the base's item-popularity curve (duplicates inside a
  basket collapse), so the copies are not identical and the popularity curve is kept. Interactions are scaled
  the same way over customers: ``k·U`` customers, each a copy of a random base customer's item set with the
  same substitution.
* **Rules.** Tailor: baskets read from Parquet by Spark, then the guard, FPGrowth, the itemsets and the rules
  (confidence ≥ 0.5), all materialised, in one warm local session. mlxtend (the notebook recipe): the same
  Parquet read by pandas, ``TransactionEncoder`` to a dense one-hot frame, ``fpgrowth``, ``association_rules``
  (confidence ≥ 0.5). mlxtend runs in a child process under an address-space limit (``--limit-gb``, 16 by
  default) that reports its peak resident memory, or that it ran out of the limit.
* **ALS.** Per iteration, as in ``benchmarks.run als-speed``: ``implicit``'s default solver (conjugate
  gradient, two threads) against Tailor's ``als.fit`` (Spark, ``(fit at 10 iterations - fit at 1) / 9``).

The crossover is the smallest size at which Tailor's time is at most the peer's, or the peer fails.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

from benchmarks.common import machine_facts, scratch, write_results

ROOT = Path(__file__).resolve().parents[1]
OR_DATE = date(2011, 12, 10)
SUBSTITUTE = 0.05
SEED = 42


def base_sets(data: str, work: Path) -> tuple[list[list[str]], tuple[np.ndarray, np.ndarray]]:
    """Online Retail's baskets (item lists) and (customer, item) index pairs, through Tailor's ingest."""
    from pyspark.sql import functions as F

    from tailor import schemas as S
    from tailor.config import load_config, warehouse
    from tailor.jobs import JOBS
    from tailor.jobs.base import execute
    from tailor.rules import mining as R
    from tailor.spark import get_spark

    cfg = load_config([str(ROOT / "conf" / "local.yaml")], [
        f"warehouse={work / 'or'}", f"spark.jars_dir={ROOT / '.jars'}", "ingest.source=online_retail",
        "ingest.max_reject_ratio=0.5", f"sources.online_retail.path={data}/online_retail/online_retail.parquet"])
    spark = get_spark(cfg)
    execute("ingest", JOBS["ingest"], spark, cfg, OR_DATE)
    lines = warehouse(spark, cfg).read("orders").where(~F.col(S.IS_RETURN))
    bask, _ = R.baskets(lines.select(S.ORDER_ID, S.ITEM_ID), 1_000_000)
    baskets = [list(r[R.ITEMS]) for r in bask.orderBy(R.BASKET).collect()]  # benchmark only: ~18,500 rows
    bask.unpersist()
    pairs = lines.select(S.USER_ID, S.ITEM_ID).distinct().toPandas()  # benchmark only: ~270,000 rows
    users = pairs[S.USER_ID].astype("category").cat.codes.to_numpy()
    items = pairs[S.ITEM_ID].astype("category").cat.codes.to_numpy()
    return baskets, (users.astype(np.int64), items.astype(np.int64))


def _resample(groups: list[np.ndarray], k: int, n_items: int, popularity: np.ndarray,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``k·len(groups)`` groups drawn with replacement, items substituted by popularity: (group, item) pairs,
    distinct, sorted by group."""
    sizes = np.array([len(g) for g in groups])
    flat = np.concatenate(groups)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pick = rng.integers(0, len(groups), k * len(groups))
    lengths = sizes[pick]
    group = np.repeat(np.arange(len(pick), dtype=np.int64), lengths)
    offset = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    item = flat[np.repeat(starts[pick], lengths) + offset]
    swap = rng.random(item.size) < SUBSTITUTE
    item[swap] = rng.choice(n_items, int(swap.sum()), p=popularity)
    keys = np.unique(group * n_items + item)
    return keys // n_items, keys % n_items


def scale_sets(baskets: list[list[str]], pairs: tuple[np.ndarray, np.ndarray], k: int, seed: int = SEED):
    """(basket ids, item names) and (user, item) pairs at ``k`` times the base size."""
    rng = np.random.default_rng(seed + k)
    names = np.array(sorted({i for b in baskets for i in b}))
    code = {n: j for j, n in enumerate(names)}
    groups = [np.array([code[i] for i in b], dtype=np.int64) for b in baskets]
    counts = np.bincount(np.concatenate(groups), minlength=len(names)).astype(float)
    b_ids, b_items = _resample(groups, k, len(names), counts / counts.sum(), rng)
    users, items = pairs
    n_items = int(items.max()) + 1
    order = np.argsort(users, kind="stable")
    cut = np.flatnonzero(np.diff(users[order])) + 1
    per_user = np.split(items[order], cut)
    pop = np.bincount(items, minlength=n_items).astype(float)
    u, i = _resample(per_user, k, n_items, pop / pop.sum(), rng)
    return (b_ids, names[b_items]), (u, i)


def write_baskets(ids: np.ndarray, items: np.ndarray, path: Path) -> int:
    import pyarrow as pa
    import pyarrow.parquet as pq

    cut = np.flatnonzero(np.diff(ids)) + 1
    offsets = np.concatenate([[0], cut, [len(ids)]]).astype(np.int32)
    values = pa.array(items.astype(str))
    if isinstance(values, pa.ChunkedArray):  # pyarrow chunks a large numpy string array
        values = values.combine_chunks()
    col = pa.ListArray.from_arrays(pa.array(offsets), values)
    pq.write_table(pa.table({"basket_id": np.arange(len(offsets) - 1, dtype=np.int64), "items": col}), path,
                   row_group_size=200_000)
    return len(offsets) - 1


def tailor_rules(spark, cfg, path: Path, support: float) -> dict:
    """The baskets read from ``path`` and mined as the rules benchmark mines them (guard, FPGrowth with its
    itemsets persisted for the rules, rules), timed from the read."""
    from collections import Counter

    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from benchmarks.rules_bench import _mine_timed

    t0 = time.perf_counter()
    bask = spark.read.parquet(str(path)).persist(StorageLevel.MEMORY_AND_DISK)
    size = bask.agg(F.count(F.lit(1)).alias("n"), F.sum(F.size("items")).alias("items")).first()
    n = int(size["n"])
    sets, rules, _ = _mine_timed(cfg, bask, n, int(size["items"] or 0), support, 0.5, 1.0)
    took = time.perf_counter() - t0
    bask.unpersist()
    return {"seconds": round(took, 1), "itemsets": len(sets), "rules": len(rules),
            "by_size": dict(Counter(len(r["items"]) for r in sets))}


def mlxtend_child(path: str, support: float, out: str) -> None:
    """Run in a child process under an address-space limit: the notebook recipe, timed, with peak RSS."""
    import pandas as pd
    import pyarrow.parquet as pq
    from mlxtend.frequent_patterns import association_rules, fpgrowth
    from mlxtend.preprocessing import TransactionEncoder

    t0 = time.perf_counter()
    rows = pq.read_table(path, columns=["items"]).column("items").to_pylist()
    te = TransactionEncoder()
    onehot = pd.DataFrame(te.fit(rows).transform(rows), columns=te.columns_)
    del rows
    sets = fpgrowth(onehot, min_support=support, use_colnames=True)
    rules = association_rules(sets, metric="confidence", min_threshold=0.5)
    took = time.perf_counter() - t0
    sizes = sets["itemsets"].map(len).value_counts().to_dict()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # Spark's FPGrowth makes rules with one item as consequent only; mlxtend makes every split of an itemset
    one = int((rules["consequents"].map(len) == 1).sum())
    Path(out).write_text(json.dumps({"seconds": round(took, 1), "itemsets": len(sets), "rules": len(rules),
                                     "rules_one_consequent": one,
                                     "by_size": {int(k): int(v) for k, v in sizes.items()},
                                     "peak_mb": round(peak_mb)}))


def run_mlxtend(path: Path, support: float, limit_gb: float) -> dict:
    out = path.with_suffix(".mlxtend.json")
    limit = int(limit_gb * 2**30)

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "benchmarks.crossover", "mlxtend", str(path), str(support),
                           str(out)], cwd=ROOT, preexec_fn=cap, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["?"])[-1][:200]
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        return {"failed": tail, "seconds": round(time.perf_counter() - t0, 1), "peak_mb": round(peak)}
    return json.loads(out.read_text())


def run_als(pairs: tuple[np.ndarray, np.ndarray], work: Path, label: str) -> dict:
    from benchmarks import als_speed

    parquet = work / f"als-{label}.parquet"
    als_speed._write(pairs, parquet)
    peer = als_speed.implicit_fit(pairs, use_cg=True)
    out = work / f"als-{label}.json"
    subprocess.run([sys.executable, "-m", "benchmarks.als_speed", str(parquet), str(out)], cwd=ROOT, check=True)
    ours = json.loads(out.read_text())
    return {"pairs": len(pairs[0]), "implicit_s_per_iter": peer["s_per_iter"],
            "tailor_s_per_iter": ours["s_per_iter"],
            "ratio": round(ours["s_per_iter"] / max(peer["s_per_iter"], 1e-9), 2)}


def _crossover(points: list[tuple[int, float, float | None]]) -> str:
    for k, ours, theirs in points:
        if theirs is None or ours <= theirs:
            return f"{k}×"
    return "not reached"


def main(data: str, scales: list[int], support: float, limit_gb: float, parts: list[str]) -> Path:
    from tailor.config import load_config
    from tailor.spark import get_spark

    rules_rows, als_rows = [], []
    with scratch("tailor-crossover-") as work:
        baskets, pairs = base_sets(data, work)
        cfg = load_config([str(ROOT / "conf" / "local.yaml")],
                          [f"warehouse={work / 'w'}", f"spark.jars_dir={ROOT / '.jars'}"])
        spark = get_spark(cfg)
        for k in scales:
            (b_ids, b_items), scaled_pairs = scale_sets(baskets, pairs, k)
            if "rules" in parts:
                path = work / f"baskets-{k}x.parquet"
                n = write_baskets(b_ids, b_items, path)
                ours = tailor_rules(spark, cfg, path, support)
                theirs = run_mlxtend(path, support, limit_gb)
                same = ({int(k): v for k, v in theirs["by_size"].items()} == ours["by_size"]
                        if "failed" not in theirs else None)  # mlxtend's come back through JSON: string keys
                row = {"scale": k, "baskets": n, "lines": len(b_ids), "tailor": ours, "mlxtend": theirs,
                       "same_itemset_counts": same}
                rules_rows.append(row)
                print(f"  rules {k}x: {json.dumps(row)}", flush=True)
                path.unlink()
            if "als" in parts:
                row = {"scale": k, **run_als(scaled_pairs, work, f"{k}x")}
                als_rows.append(row)
                print(f"  als {k}x: {json.dumps(row)}", flush=True)
        facts = machine_facts(spark)
    md = []
    if rules_rows:
        md += [f"## Association rules at minSupport {support} (confidence ≥ 0.5), mlxtend under {limit_gb:g} GB",
               "", "| scale | baskets | lines | Tailor s | mlxtend s | Tailor / mlxtend | mlxtend peak MB | "
               "itemsets (Tailor, mlxtend) | rules (Tailor, mlxtend: one-item consequents / all) | "
               "same counts by size |",
               "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |"]
        for r in rules_rows:
            t, m = r["tailor"], r["mlxtend"]
            m_s = f"failed: {m['failed']}" if "failed" in m else m["seconds"]
            ratio = f"{t['seconds'] / m['seconds']:.2f}" if "failed" not in m else "peer failed"
            md.append(f"| {r['scale']}× | {r['baskets']:,} | {r['lines']:,} | {t['seconds']} | {m_s} | {ratio} | "
                      f"{m.get('peak_mb', '')} | {t['itemsets']}, {m.get('itemsets', '')} | {t['rules']}, "
                      f"{m.get('rules_one_consequent', '')} / {m.get('rules', '')} | {r['same_itemset_counts']} |")
        md += ["", "Crossover (Tailor at most mlxtend's time, or mlxtend fails): " + _crossover(
            [(r["scale"], r["tailor"]["seconds"], None if "failed" in r["mlxtend"] else r["mlxtend"]["seconds"])
             for r in rules_rows]), ""]
    if als_rows:
        md += ["## ALS per iteration (rank 32, implicit feedback)", "",
               "| scale | interactions | implicit CG s / iteration | Tailor (Spark) s / iteration | ratio |",
               "| ---: | ---: | ---: | ---: | ---: |"]
        md += [f"| {r['scale']}× | {r['pairs']:,} | {r['implicit_s_per_iter']} | {r['tailor_s_per_iter']} | "
               f"{r['ratio']} |" for r in als_rows]
        md += ["", "Crossover (Tailor at most implicit's time): " + _crossover(
            [(r["scale"], r["tailor_s_per_iter"], r["implicit_s_per_iter"]) for r in als_rows])]
    facts = {**facts, "support": support, "substitute": SUBSTITUTE, "seed": SEED, "limit_gb": limit_gb}
    return write_results("crossover", facts, rules_rows + als_rows, "\n".join(md))


if __name__ == "__main__":
    if sys.argv[1] == "mlxtend":
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        mlxtend_child(sys.argv[2], float(sys.argv[3]), sys.argv[4])
