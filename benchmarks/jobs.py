"""Scale suite: every job of the pipeline on the synthetic shop at S, M and L.

For each scale: a fresh warehouse, then the daily pipeline (:func:`tailor.pipeline.order`) as ``tailor
pipeline`` runs it: :func:`tailor.pipeline.run`, up to ``pipeline.parallelism`` jobs at once. The end-to-end
row is that run's wall time and the driver JVM's peak RSS (local mode: the executors live in that JVM); each
job's row is its own time from the ``runs`` table (jobs that ran side by side overlap). With ``--set
pipeline.parallelism=1`` the jobs run one after another, each timed here with its own peak RSS. Reports the
scaling ratios M/S and L/M of the end-to-end time.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

from benchmarks.common import Measure, as_rows, machine_facts, measure, scratch, write_results

ROOT = Path(__file__).resolve().parents[1]
M_TARGET_S = 300  # issue 31: the M shop's full pipeline in at most 5 minutes on the 2-core machine (issue 13: 600)
LM_TARGET = 10  # and L/M at most 10 for 10x the data (issue 13: 12)


def run_scale(scale: str, run_date: date, jobs: list[str], workdir: Path, overrides: list[str],
              keep: Path | None = None) -> list[Measure]:
    from tailor.config import load_config
    from tailor.jobs import JOBS
    from tailor.jobs.base import execute
    from tailor.spark import get_spark

    # kept: built where it stays, since tables hold the warehouse's paths (model_versions.path) and a moved
    # warehouse would point at a folder gone
    warehouse = (keep or workdir) / f"warehouse-{scale}"
    shutil.rmtree(warehouse, ignore_errors=True)
    cfg = load_config([str(ROOT / "conf" / "local.yaml")],
                      [f"warehouse={warehouse}", f"synthetic.scale={scale}", f"spark.jars_dir={ROOT / '.jars'}",
                       *overrides])
    spark = get_spark(cfg)
    if cfg.pipeline.parallelism > 1:
        out, total = _pipeline(spark, cfg, scale, run_date, jobs)
    else:
        out = []
        with measure(f"{scale} end-to-end") as total:
            for name in jobs:
                with measure(f"{scale} {name}") as m:
                    summary = execute(name, JOBS[name], spark, cfg, run_date)
                m.extra = {"rows_out": summary.rows_out}
                out.append(m)
                print(f"  {m.name:<28} {m.seconds:>9.1f} s  peak JVM {m.jvm_peak_mb} MB", flush=True)
        total.jvm_peak_mb = max((m.jvm_peak_mb or 0) for m in out) or None
    out.append(total)
    print(f"  {total.name:<28} {total.seconds:>9.1f} s", flush=True)
    if keep is not None:  # for benchmarks.checksums: the same tables as another build's?
        print(f"  warehouse kept at {warehouse}", flush=True)
    else:
        shutil.rmtree(warehouse, ignore_errors=True)
    return out


def _pipeline(spark, cfg, scale: str, run_date: date, jobs: list[str]) -> tuple[list[Measure], Measure]:
    """The jobs through :func:`tailor.pipeline.run`, as ``tailor pipeline`` runs them: the end-to-end measure,
    and each job's seconds, rows and status from its ``runs`` row."""
    from tailor import pipeline
    from tailor.config import warehouse

    with measure(f"{scale} end-to-end") as total:
        code = pipeline.run(spark, cfg, run_date, jobs)
    if code != 0:
        raise RuntimeError(f"the {scale} pipeline failed (exit code {code}): see the runs table")
    runs = {r.job: r for r in warehouse(spark, cfg).read("runs")
            .select("job", "status", "duration_s", "rows_out").collect()}  # a row per job (a fresh warehouse)
    out = []
    for name in jobs:
        r = runs[name]  # succeeded, or not applicable to the shop (uplift before any recorded experiment)
        m = Measure(f"{scale} {name}", seconds=r.duration_s, extra={"rows_out": r.rows_out, "status": r.status})
        out.append(m)
        print(f"  {m.name:<28} {m.seconds:>9.1f} s  {r.status}", flush=True)
    return out, total


def main(scales: list[str], jobs: list[str] | None, run_date: date, overrides: list[str],
         keep: Path | None = None) -> Path:
    from tailor.pipeline import order
    from tailor.spark import get_spark

    jobs = jobs or order()
    rows: list[Measure] = []
    with scratch("tailor-bench-") as workdir:
        for scale in scales:
            print(f"scale {scale}", flush=True)
            rows += run_scale(scale, run_date, jobs, workdir, overrides, keep)
    from tailor.config import load_config

    base = load_config([str(ROOT / "conf" / "local.yaml")], overrides)
    facts = {**machine_facts(get_spark(base)), "parallelism": base.pipeline.parallelism}
    e2e = {m.name.split()[0]: m.seconds for m in rows if m.name.endswith("end-to-end")}
    ratios = {f"{b}/{a}": round(e2e[b] / e2e[a], 2) for a, b in (("S", "M"), ("M", "L")) if a in e2e and b in e2e}
    lines = ["| scale | job | wall s | peak JVM MB |", "| --- | --- | ---: | ---: |"]
    # with pipeline.parallelism > 1 a job's seconds are from the runs table and may overlap another's
    for m in rows:
        scale, job = m.name.split(" ", 1)
        status = m.extra.get("status", "succeeded")
        job = job if status == "succeeded" else f"{job} ({status.replace('_', ' ')})"
        lines.append(f"| {scale} | {job} | {m.seconds:.1f} | {m.jvm_peak_mb or ''} |")
    lines += ["", "| target | measured | met |", "| --- | ---: | --- |"]
    if "M" in e2e:
        met = "yes" if e2e["M"] <= M_TARGET_S else "no"
        lines.append(f"| M end-to-end ≤ {M_TARGET_S} s | {e2e['M']:.0f} s | {met} |")
    if "L/M" in ratios:
        lines.append(f"| L/M ≤ {LM_TARGET} | {ratios['L/M']} | {'yes' if ratios['L/M'] <= LM_TARGET else 'no'} |")
    if ratios:
        lines.append("")
        lines.append("End-to-end scaling: " + ", ".join(f"{k} = {v}" for k, v in ratios.items()))
    return write_results("jobs", {**facts, "scales": scales, "ratios": ratios}, as_rows(rows), "\n".join(lines))
