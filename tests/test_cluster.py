"""Tailor run for real: a Spark standalone master and two workers on loopback, the whole pipeline submitted to
it with the packaged artifact, a worker lost mid-job, drivers killed with SIGKILL during Delta writes, and two
jobs committing to one table at once.

Expensive, so the pipeline uses one setting per model search (``LIGHT``; the searches are tested elsewhere),
and by default a 300-customer shop so that the suite stays within CI's budget.
``TAILOR_CLUSTER_SHOP=S make test-cluster`` runs the same tests on the S shop (2,000 customers)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from conftest import ROOT, SMALL_DATA_CONF, make_cfg
from standalone import PARALLEL_GC, Cluster, spark_env, submit_cmd
from tailor import schemas as S
from tailor import tables
from tailor.cli import main
from tailor.config import warehouse
from test_page import check_full_report

pytestmark = [pytest.mark.slow, pytest.mark.cluster]

RUN = date(2026, 11, 23)
SHOP = [] if os.environ.get("TAILOR_CLUSTER_SHOP") == "S" else [
    "--set", "synthetic.users=300", "--set", "synthetic.items=60", "--set", "synthetic.days=120"]
LIGHT = ["--conf", str(ROOT / "conf" / "local.yaml"), *SHOP, "--set", "spark.shuffle_partitions=2",
         "--set", "segments.k_max=4",
         "--set", "als.max_iter=5", "--set", "als.num_blocks=2", "--set", "propensity.max_iter=10",
         "--set", 'propensity.lr_grid={"regParam": [0.01], "elasticNetParam": [0.0]}',
         "--set", 'propensity.gbt_grid={"maxDepth": [3]}', "--set", "hybrid.weight_grid=[0.0,1.0]",
         "--set", "hybrid.search_rounds=1", "--set", "evaluation.k=[5,10]",
         "--set", 'evaluation.sources=["item_cf","popular","trending"]',
         "--set", f"spark.conf={json.dumps(SMALL_DATA_CONF)}", "--run-date", RUN.isoformat()]
EXECUTOR = {"spark.executor.memory": "1500m", "spark.executor.cores": "1", "spark.driver.memory": "2g",
            "spark.executor.extraJavaOptions": PARALLEL_GC}
# the killed drivers live for seconds: the client JIT alone (C1) starts them about 20 % sooner
SHORT_LIVED = {"spark.driver.extraJavaOptions": f"{PARALLEL_GC} -XX:TieredStopAtLevel=1"}
NOT_COMPARED = {"runs"}  # one row per attempt, with timings and random run ids: a log, not a result
TIMINGS: dict[str, float] = {}


def _rounded(col, dtype):
    """``col`` with every double in it (also inside arrays, maps and structs) cast to float, and maps as
    their entries sorted by key (Spark cannot hash a map)."""
    from pyspark.sql.types import ArrayType, DoubleType, MapType, StructType

    if isinstance(dtype, DoubleType):
        return col.cast("float")
    if isinstance(dtype, ArrayType):
        return F.transform(col, lambda x: _rounded(x, dtype.elementType))
    if isinstance(dtype, MapType):
        entries = StructType().add("key", dtype.keyType).add("value", dtype.valueType)
        return _rounded(F.array_sort(F.map_entries(col)), ArrayType(entries))
    if isinstance(dtype, StructType):
        return F.struct(*[_rounded(col[f.name], f.dataType).alias(f.name) for f in dtype.fields])
    return col


def _fingerprint(spark, cfg, name: str) -> tuple[int, int]:
    """(rows, order-free checksum of every row), computed in Spark. Doubles enter as floats (7 significant
    digits): sums merged in another order differ in their last bits between a cluster and local mode."""
    df = warehouse(spark, cfg).read(name)
    if name == "model_versions":  # the path is under the warehouse; the metadata repeats model_metrics as JSON
        df = df.select("model", "version", S.RUN_DATE, F.regexp_extract("path", r"(models/.*)$", 1).alias("path"))
    cols = [_rounded(F.col(f.name), f.dataType) for f in df.schema.fields]
    row = df.agg(F.count(F.lit(1)).alias("n"),
                 F.coalesce(F.sum(F.xxhash64(*cols).cast("decimal(38,0)")), F.lit(0)).alias("h")).first()
    return int(row["n"]), int(row["h"])


def _fingerprints(spark, cfg) -> dict[str, tuple[int, int]]:
    names = [n for n in tables.REGISTRY if n not in NOT_COMPARED]
    names += [tables.bronze_name("synthetic", e) for e in ("events", "products", "customers")]
    return {n: _fingerprint(spark, cfg, n) for n in names if warehouse(spark, cfg).exists(n)}


@pytest.fixture(scope="module")
def artifact(tmp_path_factory) -> Path:
    """dist/tailor.zip as ``make dist`` builds it: the wheel, which --py-files can ship as a zip."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(out.glob("tailor-*-py3-none-any.whl"))
    zipped = out / "tailor.zip"
    zipped.write_bytes(wheel.read_bytes())
    return zipped


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("standalone"))
    t0 = time.perf_counter()
    try:
        c.start(workers=2)
        TIMINGS["cluster start"] = time.perf_counter() - t0
        yield c
    finally:
        c.stop()
        print("\nwall times (s):\n" + "\n".join(f"  {k}: {v:.1f}" for k, v in TIMINGS.items()))


@pytest.fixture(scope="module")
def runs(spark, cluster, artifact, tmp_path_factory):
    """The pipeline through spark-submit on the cluster and, at the same time, in local mode.
    (Developing these tests: TAILOR_CLUSTER_REUSE=<a pipelines folder of an earlier run> skips both runs.)"""
    reuse = os.environ.get("TAILOR_CLUSTER_REUSE")
    if reuse:
        root = Path(reuse)
        return root / "cluster-wh", root / "local-wh", subprocess.CompletedProcess([], 0, (root / "out").read_text(),
                                                                                    (root / "err").read_text())
    root = tmp_path_factory.mktemp("pipelines")
    on_cluster, local = root / "cluster-wh", root / "local-wh"
    # The two runs overlap: the cluster's driver and executors are separate JVMs, and a small pipeline leaves
    # the cores idle a fifth of the time while a driver plans and commits, so together they take less than in turn.
    t0 = time.perf_counter()
    with open(root / "out", "w") as out, open(root / "err", "w") as err:
        proc = subprocess.Popen(
            submit_cmd(cluster.url, "pipeline", *LIGHT, "--set", f"warehouse={on_cluster}", py_files=artifact,
                       conf=EXECUTOR),
            stdout=out, stderr=err, text=True, cwd=root, env=spark_env(), start_new_session=True)
        try:
            # one job at a time here, two at once on the cluster (pipeline.parallelism): equal tables prove both
            local_rc = main(["pipeline", *LIGHT, "--set", f"warehouse={local}", "--set", "pipeline.parallelism=1"])
            TIMINGS["pipeline in local mode (alongside)"] = time.perf_counter() - t0
            proc.wait(timeout=1800)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
    TIMINGS["pipeline on the cluster (alongside)"] = time.perf_counter() - t0
    done = subprocess.CompletedProcess(proc.args, proc.returncode, (root / "out").read_text(),
                                       (root / "err").read_text())
    assert done.returncode == 0, done.stderr[-4000:]
    assert local_rc == 0
    return on_cluster, local, done


def test_the_cluster_run_used_the_cluster_and_the_artifact(runs):
    _, _, done = runs
    started = next(line for line in done.stderr.splitlines() + done.stdout.splitlines()
                   if '"msg": "pipeline started"' in line)
    assert '"master": "spark://127.0.0.1:' in started
    assert '"driver": "' in started and "tailor.zip/tailor/__init__.py" in started.split('"driver": "')[1]
    assert "tailor.zip/tailor/__init__.py" in started.split('"executor": "')[1]
    assert "pipeline succeeded" in done.stdout


def test_the_cluster_run_writes_the_tables_a_local_run_writes(spark, runs):
    on_cluster, local, _ = runs
    got, want = _fingerprints(spark, make_cfg(on_cluster)), _fingerprints(spark, make_cfg(local))
    assert set(got) == set(want)
    assert len(want) >= 25
    differ = {n: (got[n], want[n]) for n in want if got[n] != want[n]}
    assert differ == {}
    statuses = {(r.job, r.status) for r in warehouse(spark, make_cfg(on_cluster)).read("runs").collect()}
    # uplift learns from an experiment recorded on an earlier day; a first run has none
    assert ("uplift", "not_applicable") in statuses and len(statuses) == 19
    assert {s for j, s in statuses if j != "uplift"} == {"succeeded"}


def test_the_pipeline_report_has_every_section(runs):
    on_cluster, _, _ = runs
    check_full_report(on_cluster / "reports" / f"tailor-report-{RUN.isoformat()}.html")


def test_a_job_survives_losing_a_worker(spark, cluster, artifact, runs):
    """Re-run ALS (iterative, shuffle-heavy) on the cluster and SIGKILL one worker with its executor while it
    runs. The job finishes on the other worker, and its tables equal the clean run's."""
    on_cluster, _, _ = runs
    cfg = make_cfg(on_cluster)
    written = ["als_user_factors", "als_item_factors", "candidate_recs", "id_map"]
    before = {n: _fingerprint(spark, cfg, n) for n in written}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        submit_cmd(cluster.url, "als", *LIGHT, "--set", f"warehouse={on_cluster}", py_files=artifact,
                   conf=EXECUTOR),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=on_cluster.parent, env=spark_env())
    # wait until the application holds executors on both workers, then let it work a little
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None:
        apps = cluster.state().get("activeapps", [])
        if apps and apps[0].get("cores", 0) >= 2:
            break
        time.sleep(0.5)
    time.sleep(6)
    assert proc.poll() is None, "the job ended before the worker could be killed"
    cluster.kill_worker(2)
    _, err = proc.communicate(timeout=1200)
    TIMINGS["ALS with a worker lost"] = time.perf_counter() - t0
    assert proc.returncode == 0, err[-4000:]
    assert cluster.alive_workers() == 1
    assert {n: _fingerprint(spark, cfg, n) for n in written} == before
    cluster.start_worker(2)


def _versions(spark, cfg, names):
    return {n: warehouse(spark, cfg).version(n) for n in names}


def test_sigkill_during_delta_writes_never_leaves_a_partial_table(spark, runs, tmp_path):
    """Ten drivers of ``tailor similarity`` (three commits: item cosine, item jaccard, user cosine, each
    replacing its partition) killed with SIGKILL at growing delays after the first new data file of the run
    appears. After each kill every table reads, at its previous version or a later one, with exactly the rows
    of the single run: a replaced partition is never half old and half new, and never empty. A last run
    completes and converges to the same tables."""
    _, local, _ = runs
    cfg = make_cfg(local)
    names = ["item_similarity", "user_similarity"]
    reference = {n: _fingerprint(spark, cfg, n) for n in names}
    # a killed driver's scratch stays where it is: its Spark folders (shuffle files with user ids, jars) and the
    # JVM's temporary files (native libraries, artifacts) go here instead of /tmp
    scratch = {"spark.local.dir": str(tmp_path),
               "spark.driver.extraJavaOptions": f"{SHORT_LIVED['spark.driver.extraJavaOptions']} "
                                                f"-Djava.io.tmpdir={tmp_path}"}
    cmd = submit_cmd("local[2]", "similarity", *LIGHT, "--set", f"warehouse={local}", conf=scratch)
    data = [local / "gold" / n for n in names]
    delays = (0.0, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0, 1.3)
    t0 = time.perf_counter()
    outcomes = []
    for delay in delays:
        before_files = {p for d in data for p in d.rglob("*.parquet")}
        versions = _versions(spark, cfg, names)
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=tmp_path,
                                env=spark_env(), start_new_session=True)
        while proc.poll() is None and not ({p for d in data for p in d.rglob("*.parquet")} - before_files):
            time.sleep(0.01)
        time.sleep(delay)
        finished = proc.poll() is not None
        if not finished:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        after = _versions(spark, cfg, names)
        moved = tuple(after[n] - versions[n] for n in names)
        assert 0 <= moved[0] <= 2 and 0 <= moved[1] <= 1, (delay, moved)
        assert {n: _fingerprint(spark, cfg, n) for n in names} == reference, (delay, moved)
        outcomes.append((delay, "finished" if finished else "killed", moved))
    killed = [o for o in outcomes if o[1] == "killed"]
    assert len(killed) >= 8, outcomes
    assert any(o[2] != (2, 1) for o in killed), outcomes  # kills landed before the last commit
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=tmp_path, env=spark_env())
    assert done.returncode == 0, done.stderr[-3000:]
    assert {n: _fingerprint(spark, cfg, n) for n in names} == reference
    TIMINGS["kill -9 trials"] = time.perf_counter() - t0
    print(f"\nkill -9 trials (delay after the first new file, outcome, commits made per table): {outcomes}")


def test_two_jobs_commit_to_one_table_at_once(spark, runs, tmp_path):
    """``features`` for two run dates, as two drivers started together: both partitions are committed."""
    _, local, _ = runs
    cfg = make_cfg(local)
    days = [RUN - timedelta(days=1), RUN - timedelta(days=2)]
    t0 = time.perf_counter()
    procs = [subprocess.Popen(submit_cmd("local[1]", "features", *LIGHT[:-2], "--run-date", d.isoformat(),
                                         "--set", f"warehouse={local}"),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path,
                              env=spark_env()) for d in days]
    results = [p.communicate(timeout=600) for p in procs]
    TIMINGS["two concurrent writers"] = time.perf_counter() - t0
    assert [p.returncode for p in procs] == [0, 0], [e[-2000:] for _, e in results]
    feats = warehouse(spark, cfg).read("user_features")
    counts = {r["run_date"]: r["n"] for r in feats.groupBy("run_date").agg(F.count(F.lit(1)).alias("n")).collect()}
    assert counts[days[0]] > 0 and counts[days[1]] > 0 and counts[RUN] > 0
    ok = warehouse(spark, cfg).read("runs").where((F.col("job") == "features") & F.col("run_date").isin(days))
    assert sorted(r.status for r in ok.collect()) == ["succeeded", "succeeded"]


def test_spark_submit_exit_codes(tmp_path):
    """Through spark-submit, a bad argument or config value is exit 2 (exit 1 for a failing job, and both in the
    runs table, are checked in-process in test_pipeline.py)."""
    bad_date = subprocess.run(submit_cmd("local[1]", "features", "--run-date", "2026-13-01"),
                              capture_output=True, text=True, timeout=300, cwd=tmp_path, env=spark_env())
    assert bad_date.returncode == 2
    bad_key = subprocess.run(submit_cmd("local[1]", "features", "--set", "cf.top_n=0", "--run-date", "2026-11-23"),
                             capture_output=True, text=True, timeout=300, cwd=tmp_path, env=spark_env())
    # spark-submit's PythonRunner merges the driver's stderr into its stdout
    assert bad_key.returncode == 2 and "cf.top_n" in bad_key.stdout + bad_key.stderr

