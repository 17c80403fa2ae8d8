"""ALS fit speed: Spark ML (Tailor's ``als.fit``) against the ``implicit`` library, with and without native BLAS.

Data sets, both binarised implicit feedback (every pair has preference 1):

* the MovieLens edition given with --data (ml-100k by default: 100,000 ratings, 943 users, 1,682 items; any
  folder with u.data, ratings.dat or ratings.csv), labelled with the folder's name;
* synth-1M: one million distinct (user, item) pairs drawn with numpy (seed 42) for 50,000 users and 10,000
  items, item popularity Zipf-like (exponent 0.8), user activity geometric, so a few items and users are heavy.

Each Spark setting runs in its own Python process (and so its own JVM), because netlib picks its BLAS once per
JVM: ``java`` sets ``-Ddev.ludovic.netlib.blas.allowNative=false`` (Spark's Java ``VectorBLAS``), ``native``
lets it load ``libblas.so.3`` (OpenBLAS when installed) with a thread per core, ``native-1t`` with
``OPENBLAS_NUM_THREADS=1`` (a local Tailor driver's default).
Spark is timed at ``max_iter`` and at one iteration; the marginal cost per iteration is the difference over
``max_iter - 1``, which leaves out the fixed cost of building the in/out blocks. ``implicit`` runs with two
threads (the machine's cores), both with its default conjugate-gradient solver and with the exact Cholesky
solve that Spark uses.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from benchmarks.common import movielens_label, movielens_pairs, scala_items, scratch, spark_jobs, write_results

ROOT = Path(__file__).resolve().parents[1]
RANK, REG, ALPHA, ITERS, SEED = 32, 0.1, 1.0, 10, 42
MODES = {
    "java": {"JDK_JAVA_OPTIONS": "-Ddev.ludovic.netlib.blas.allowNative=false "
                                 "-Ddev.ludovic.netlib.lapack.allowNative=false"},
    # OpenBLAS's own default, a thread per core (Tailor's local driver now defaults to one thread, native-1t)
    "native": {"OPENBLAS_NUM_THREADS": str(os.cpu_count() or 1)},
    "native-1t": {"OPENBLAS_NUM_THREADS": "1"},
    # Spark settings measured against the default (issue 31's levers): Kryo for the factor-block shuffles, and
    # no checkpoint of the factors (Tailor's checkpoint_interval 5 writes them to disk every 5 iterations)
    "native-kryo": {"TAILOR_BENCH_SPARK_CONF": json.dumps(
        {"spark.serializer": "org.apache.spark.serializer.KryoSerializer"})},
    "native-nockpt": {"TAILOR_BENCH_ALS_CHECKPOINT": "-1"},
}


def synthetic_pairs(n_pairs: int = 1_000_000, n_users: int = 50_000, n_items: int = 10_000,
                    seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """``n_pairs`` distinct (user, item) pairs, popular items and active users over-represented."""
    rng = np.random.default_rng(seed)
    item_p = 1.0 / np.arange(1, n_items + 1) ** 0.8
    item_p /= item_p.sum()
    user_p = rng.geometric(0.05, n_users).astype(float)
    user_p /= user_p.sum()
    keys = np.empty(0, dtype=np.int64)
    while keys.size < n_pairs:
        draw = 2 * (n_pairs - keys.size)
        u = rng.choice(n_users, draw, p=user_p)
        i = rng.choice(n_items, draw, p=item_p)
        keys = np.unique(np.concatenate([keys, u.astype(np.int64) * n_items + i]))
    keys = rng.permutation(keys)[:n_pairs]
    return keys // n_items, keys % n_items


def _write(pairs: tuple[np.ndarray, np.ndarray], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    u, i = pairs
    pq.write_table(pa.table({"user_idx": u.astype(np.int32), "item_idx": i.astype(np.int32),
                             "pref": np.ones(len(u), dtype=np.float32)}), path)


def spark_worker(parquet: str, out: str, iters: int = ITERS) -> None:
    """Run in a child process: time Spark ALS on ``parquet`` and write the figures to ``out`` (JSON)."""
    from tailor import log as tlog
    from tailor.config import load_config
    from tailor.recommend import als as A
    from tailor.spark import get_spark, native_blas

    tlog.setup("WARNING")
    with scratch("tailor-als-speed-") as work:
        conf = os.environ.get("TAILOR_BENCH_SPARK_CONF")
        cfg = load_config([str(ROOT / "conf" / "local.yaml")],
                          [f"warehouse={work}", f"spark.jars_dir={ROOT / '.jars'}",
                           *([f"spark.conf={conf}"] if conf else [])])
        spark = get_spark(cfg)
        data = spark.read.parquet(parquet).cache()
        n = data.count()
        params = A.AlsParams(RANK, REG, ALPHA)
        every = int(os.environ.get("TAILOR_BENCH_ALS_CHECKPOINT", "5"))
        A.fit(data, params, True, 1, SEED, every)  # warm-up: JIT, class loading, the first checkpoint
        t0 = time.perf_counter()
        A.fit(data, params, True, 1, SEED, every)
        one = time.perf_counter() - t0
        spark.sparkContext.setJobGroup("als-speed-full", "the timed fit at max_iter")
        t0 = time.perf_counter()
        A.fit(data, params, True, iters, SEED, every)
        full = time.perf_counter() - t0
        spark.sparkContext.setJobGroup("als-speed-after", "")
        Path(out).write_text(json.dumps({"rows": n, "blas": native_blas(spark), "fit_s": round(full, 2),
                                         "one_iter_fit_s": round(one, 2),
                                         "s_per_iter": round((full - one) / max(iters - 1, 1), 3),
                                         "profile": stage_profile(spark, "als-speed-full")}))
        data.unpersist()


def stage_profile(spark, group: str) -> dict:
    """Where the tasks of job group ``group`` spent their time, summed over its stages from the driver's status
    store (milliseconds): run time, and in it CPU, garbage collection, shuffle writes and shuffle fetch waits,
    plus task (de)serialisation and the shuffled bytes; ``stages_by_run_ms`` keeps the five call sites with
    the most run time. Run time over the fit's wall time and the cores gives how busy the cores were."""
    from py4j.protocol import Py4JJavaError

    store = spark.sparkContext._jsc.sc().statusStore()
    jobs = [j for j in spark_jobs(spark) if j.jobGroup().isDefined() and j.jobGroup().get() == group]
    stage_ids = {int(i) for j in jobs for i in scala_items(j.stageIds())}
    totals = dict.fromkeys(("stages", "tasks", "run_ms", "cpu_ms", "gc_ms", "shuffle_write_ms",
                            "fetch_wait_ms", "deserialize_ms", "result_serialize_ms", "shuffle_write_bytes",
                            "shuffle_read_bytes", "stages_not_retained"), 0)
    by_site: dict[str, float] = {}
    for sid in sorted(stage_ids):
        try:
            st = store.lastStageAttempt(sid)
        except Py4JJavaError:  # over spark.ui.retainedStages the store drops skipped stages first, even new ones
            totals["stages_not_retained"] += 1
            continue
        if str(st.status()) != "COMPLETE":  # skipped: its shuffle output was already there
            continue
        totals["stages"] += 1
        totals["tasks"] += int(st.numCompleteTasks())
        totals["run_ms"] += int(st.executorRunTime())
        totals["cpu_ms"] += int(st.executorCpuTime()) / 1e6  # nanoseconds
        totals["gc_ms"] += int(st.jvmGcTime())
        totals["shuffle_write_ms"] += int(st.shuffleWriteTime()) / 1e6  # nanoseconds
        totals["fetch_wait_ms"] += int(st.shuffleFetchWaitTime())
        totals["deserialize_ms"] += int(st.executorDeserializeTime())
        totals["result_serialize_ms"] += int(st.resultSerializationTime())
        totals["shuffle_write_bytes"] += int(st.shuffleWriteBytes())
        totals["shuffle_read_bytes"] += int(st.shuffleReadBytes())
        site = str(st.name())
        by_site[site] = by_site.get(site, 0) + int(st.executorRunTime())
    top = sorted(by_site.items(), key=lambda kv: -kv[1])[:5]
    return {"jobs": len(jobs), **{k: round(v, 1) for k, v in totals.items()}, "stages_by_run_ms": dict(top)}


def implicit_fit(pairs: tuple[np.ndarray, np.ndarray], use_cg: bool, iters: int = ITERS) -> dict:
    import scipy.sparse as sp
    from implicit.cpu.als import AlternatingLeastSquares
    from threadpoolctl import threadpool_limits

    u, i = pairs
    user_items = sp.csr_matrix((np.ones(len(u), dtype=np.float32), (u, i)))
    with threadpool_limits(1, "blas"):  # implicit's own advice: its threads, not BLAS's
        model = AlternatingLeastSquares(factors=RANK, regularization=REG, alpha=ALPHA, iterations=iters,
                                        use_cg=use_cg, num_threads=2, random_state=SEED)
        t0 = time.perf_counter()
        model.fit(user_items, show_progress=False)
        full = time.perf_counter() - t0
    return {"fit_s": round(full, 2), "s_per_iter": round(full / iters, 3)}


@contextlib.contextmanager
def busy(n: int):
    """``n`` processes that spin a core each for as long as the block runs: a machine that is busy with other
    work (a second job, a test run), for settings whose best value depends on it (BLAS threads)."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    try:
        yield
    finally:
        for p in spinners:
            p.kill()
            p.wait()


def main(data: str, modes: list[str], synthetic: int = 1_000_000, iters: int = ITERS, load: int = 0) -> Path:
    try:
        import implicit  # noqa: F401 (there, before the spinners start)
    except ImportError as e:
        raise SystemExit("the implicit library is missing: pip install -e '.[bench]'") from e
    with busy(load):
        return _measure(data, modes, synthetic, iters, load)


def _measure(data: str, modes: list[str], synthetic: int, iters: int, load: int) -> Path:
    import implicit

    sets = {movielens_label(data): movielens_pairs(data)}
    if synthetic:
        sets[f"synth-{synthetic:,}"] = synthetic_pairs(synthetic, max(synthetic // 20, 10), max(synthetic // 100, 10))
    rows = []
    with scratch("tailor-als-speed-") as tmp:
        for name, pairs in sets.items():
            parquet = Path(tmp) / f"{name}.parquet"
            _write(pairs, parquet)
            for label, use_cg in ((f"implicit {implicit.__version__} (CG)", True),
                                  (f"implicit {implicit.__version__} (Cholesky)", False)):
                r = implicit_fit(pairs, use_cg, iters)
                rows.append({"data": name, "engine": label, **r})
                print(f"  {name} {label}: {r}", flush=True)
            for mode in modes:
                out = Path(tmp) / f"{name}-{mode}.json"
                env = {**os.environ, **MODES[mode]}
                subprocess.run([sys.executable, "-m", "benchmarks.als_speed", str(parquet), str(out), str(iters)],
                               cwd=ROOT, env=env, check=True)
                r = json.loads(out.read_text())
                rows.append({"data": name, "engine": f"Spark ALS ({mode}: {r.pop('blas')})", **r})
                print(f"  {name} Spark {mode}: {r}", flush=True)
    base = {d: min(r["s_per_iter"] for r in rows if r["data"] == d and r["engine"].startswith("implicit"))
            for d in sets}
    table = ["| data | engine | fit s | s / iteration | × fastest implicit |",
             "| --- | --- | ---: | ---: | ---: |"]
    for r in rows:
        ratio = r["s_per_iter"] / base[r["data"]] if base[r["data"]] else float("nan")
        r["x_implicit"] = round(ratio, 1)
        table.append(f"| {r['data']} | {r['engine']} | {r['fit_s']} | {r['s_per_iter']} | {ratio:.1f} |")
    table += ["", "Where Spark's timed fit (max_iter iterations) spent its task time, from the status store:", "",
              "| data | engine | fit s | task run s | CPU s | GC s | shuffle write s | fetch wait s | shuffled MB "
              "| cores busy | top call sites (run s) |",
              "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in rows:
        p = r.get("profile")
        if not p:
            continue
        busy = p["run_ms"] / 1000 / (r["fit_s"] * (os.cpu_count() or 1))
        sites = "; ".join(f"{k} {v / 1000:.1f}" for k, v in p["stages_by_run_ms"].items())
        table.append(f"| {r['data']} | {r['engine']} | {r['fit_s']} | {p['run_ms'] / 1000:.1f} | "
                     f"{p['cpu_ms'] / 1000:.1f} | {p['gc_ms'] / 1000:.1f} | {p['shuffle_write_ms'] / 1000:.1f} | "
                     f"{p['fetch_wait_ms'] / 1000:.1f} | {p['shuffle_write_bytes'] / 2**20:.0f} | {busy:.0%} | "
                     f"{sites} |")
    facts = {"cores": os.cpu_count(), "rank": RANK, "reg_param": REG, "alpha": ALPHA, "iterations": iters,
             "spark_per_iteration": "(fit at max_iter - fit at 1) / (max_iter - 1)",
             "load": f"{load} other processes spinning a core each" if load else "idle"}
    return write_results(f"als_speed-busy{load}" if load else "als_speed", facts, rows, "\n".join(table))


if __name__ == "__main__":
    spark_worker(sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else ITERS)
