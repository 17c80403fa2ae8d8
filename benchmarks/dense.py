"""The dense-pivot baseline the seeds copy: pivot users x items in pandas, then cosine of every item pair.

For each scale the synthetic shop's interactions are built with Spark (Tailor's own weights) and written to
a Parquet file; a separate Python process then does what the notebooks do (``toPandas``-sized data,
``pivot_table(...).fillna(0)``, column-normalise, ``X.T @ X``) and reports its wall time and peak RSS. The
process is given ``--limit-gb`` of address space, so a pivot that cannot fit fails with MemoryError instead of
taking the machine down.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

from benchmarks.common import scratch

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
limit = int(float(sys.argv[2]) * 1024**3)
resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
import numpy as np, pandas as pd
t0 = time.perf_counter()
out = {"ok": False}
try:
    df = pd.read_parquet(sys.argv[1])
    m = df.pivot_table(index="user_id", columns="item_id", values="weight", aggfunc="sum").fillna(0.0)
    x = m.to_numpy(dtype=np.float64)
    x /= np.maximum(np.linalg.norm(x, axis=0), 1e-12)
    sim = x.T @ x
    out = {"ok": True, "users": int(x.shape[0]), "items": int(x.shape[1]), "pairs_nonzero": int((sim > 0).sum())}
except MemoryError as e:
    out["error"] = "MemoryError"
out["seconds"] = round(time.perf_counter() - t0, 2)
out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
print(json.dumps(out))
"""


def main(scales: list[str], limit_gb: float = 16.0) -> list[dict]:
    from tailor import quarantine as Q
    from tailor import schemas as S
    from tailor.config import load_config
    from tailor.ingest import validate as V
    from tailor.ingest.sources import ADAPTERS
    from tailor.similarity.interactions import interactions
    from tailor.spark import get_spark
    from tailor.wiring import source_inputs

    results = []
    with scratch("tailor-dense-") as work:
        for scale in scales:
            cfg = load_config([str(ROOT / "conf" / "local.yaml")],
                              [f"warehouse={work / 'wh'}", f"synthetic.scale={scale}", "synthetic.dirty_fraction=0",
                               f"spark.jars_dir={ROOT / '.jars'}"])
            spark = get_spark(cfg)
            run_date = date(2026, 11, 23)
            inputs = source_inputs(cfg, run_date)
            landed = ADAPTERS["synthetic"].land(spark, inputs, run_date)
            standard = ADAPTERS["synthetic"].standardize(landed, inputs)["events"]
            flagged = standard.transform(V.validate_events(run_date, 24, 1.0, 5.0))
            events = Q.accepted(flagged, S.EVENTS, "synthetic", run_date)
            out = work / f"inter-{scale}.parquet"
            interactions(events, cfg.interactions.weights, run_date).select("user_id", "item_id", "weight") \
                .write.mode("overwrite").parquet(str(out))
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-c", CHILD, str(out), str(limit_gb)], capture_output=True,
                                  text=True)
            line = (proc.stdout.strip().splitlines() or ["{}"])[-1]
            try:
                res = json.loads(line)
            except json.JSONDecodeError:
                res = {"ok": False, "error": (proc.stderr.strip().splitlines() or ["crashed"])[-1]}
            res.update({"scale": scale, "wall_s": round(time.perf_counter() - t0, 2), "limit_gb": limit_gb})
            print(f"  dense pivot {scale}: {res}", flush=True)
            results.append(res)
    return results


if __name__ == "__main__":
    print(main(sys.argv[1:] or ["S", "M"]))
