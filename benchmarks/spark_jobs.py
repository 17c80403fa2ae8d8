"""How many Spark jobs and tasks each Tailor job starts on a tiny shop, and its seconds: the fixed cost.

On data one machine holds, a job's time follows the number of Spark jobs it starts far more than its rows:
each one is planned, serialised, scheduled and run as tasks (issue 31; a JFR profile of the light pipeline had
the JVM busy on about 80 % of both cores, with Java serialisation of task binaries, the scheduler, Catalyst
and Delta's log as its largest parts). The counts come from the job group ``execute`` gives each job
(``tailor-<job>-<run id>``) and do not depend on the machine's load, so they compare builds where seconds on a
shared 2-core machine cannot. A count is not a cost, though: with adaptive query execution on (Spark's
default), each shuffle stage of a query runs as a Spark job of its own. On the order-log shape test's pipeline,
turning AQE off cut the jobs from 1,267 to 737 and the time not at all (184 s against 192.5 s). Measured again
later: ``evaluate`` alone on the baskets shape test's warehouse ran 663 Spark jobs in 62-79 s with AQE and 269
in 56-65 s without (three runs each), but the two shape pipelines took 216 s with AQE against 242 s without,
and the M pipeline 692-719 s against 753 s; so AQE stays on. Compare counts only between builds with the same AQE
setting.

Every daily job runs once, in pipeline order, in one local session with the tests' settings (interpreted
expressions, two shuffle partitions) on the cluster tests' light shop (300 customers, 60 items, 120 days),
unless ``--set`` says otherwise.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from datetime import date
from pathlib import Path

from benchmarks.common import machine_facts, scratch, spark_jobs, write_results

ROOT = Path(__file__).resolve().parents[1]
RUN = date(2026, 11, 23)
LIGHT = ["synthetic.users=300", "synthetic.items=60", "synthetic.days=120", "spark.shuffle_partitions=2",
         "segments.k_max=4", "als.max_iter=5", "als.num_blocks=2", "propensity.max_iter=10",
         'propensity.lr_grid={"regParam": [0.01], "elasticNetParam": [0.0]}', 'propensity.gbt_grid={"maxDepth": [3]}',
         "hybrid.weight_grid=[0.0,1.0]", "hybrid.search_rounds=1", "evaluation.k=[5,10]",
         'evaluation.sources=["item_cf","popular","trending"]']
KEEP_JOBS = {"spark.ui.retainedJobs": "1000000", "spark.ui.retainedStages": "1000000"}
"""The status store forgets all but the newest 1,000 jobs by default; a tiny pipeline starts more."""


def count_by_job(spark) -> tuple[Counter, Counter]:
    """(Spark jobs, tasks) per Tailor job, from the driver's status store and each job's group."""
    jobs, tasks = Counter(), Counter()
    for j in spark_jobs(spark):
        group = j.jobGroup()
        name = "-".join(group.get().split("-")[1:-1]) if group.isDefined() and group.get().startswith(
            "tailor-") else "(outside a job)"
        jobs[name] += 1
        tasks[name] += int(j.numTasks())
    return jobs, tasks


def main(overrides: list[str]) -> Path:
    from tailor.config import load_config
    from tailor.jobs import JOBS
    from tailor.jobs.base import execute
    from tailor.pipeline import order
    from tailor.spark import SMALL_DATA_CONF, get_spark

    with scratch("tailor-spark-jobs-") as work:
        cfg = load_config([str(ROOT / "conf" / "local.yaml")],
                          [f"warehouse={work}", f"spark.jars_dir={ROOT / '.jars'}", *LIGHT,
                           f"spark.conf={json.dumps({**SMALL_DATA_CONF, **KEEP_JOBS})}", *overrides])
        spark = get_spark(cfg)
        seconds, status = {}, {}
        t_all = time.perf_counter()
        for name in order():
            t0 = time.perf_counter()
            # execute names the group itself; this one counts a build from before it did (its name is the same)
            spark.sparkContext.setJobGroup(f"tailor-{name}-bench", name)
            status[name] = execute(name, JOBS[name], spark, cfg, RUN).status
            seconds[name] = round(time.perf_counter() - t0, 1)
            print(f"  {name:<20} {seconds[name]:>7.1f} s  {status[name]}", flush=True)
        total_s = round(time.perf_counter() - t_all, 1)
        jobs, tasks = count_by_job(spark)
        facts = {**machine_facts(spark), "overrides": [*LIGHT, *overrides]}
    rows = [{"job": n, "status": status[n], "spark_jobs": jobs[n], "tasks": tasks[n], "seconds": seconds[n]}
            for n in order()]
    rows.append({"job": "all", "status": "", "spark_jobs": sum(jobs.values()), "tasks": sum(tasks.values()),
                 "seconds": total_s})
    lines = ["| job | Spark jobs | tasks | s |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {r['job']} | {r['spark_jobs']} | {r['tasks']} | {r['seconds']} |" for r in rows]
    return write_results("spark_jobs", facts, rows, "\n".join(lines))
