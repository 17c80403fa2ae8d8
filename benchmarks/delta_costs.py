"""The fixed cost of Tailor's Delta operations on a one-row table: seconds and Spark jobs per call.

On a shop that one machine holds, these costs, not the algorithms, set a job's time (issue 31). Each
operation runs ``repeats`` times on fresh tables of the Warehouse API, in a local session with the settings
the tests use (two shuffle partitions, interpreted expressions), and the median is reported with the number
of Spark jobs the call started (from the status tracker, so it does not depend on the machine's load).

What the rows show: Delta rebuilds a table version's snapshot state (three Spark jobs) the first time
anything needs its files or transaction ids: a ``replaceWhere``, a read, an idempotent append. A blind append
needs neither, and a second operation on the same version finds the state cached.
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import date
from pathlib import Path

from benchmarks.common import machine_facts, scratch, write_results

ROOT = Path(__file__).resolve().parents[1]


def main(repeats: int = 6) -> Path:
    from pyspark.sql import functions as F

    from tailor import tables
    from tailor.config import load_config, warehouse
    from tailor.spark import SMALL_DATA_CONF, get_spark

    with scratch("tailor-delta-costs-") as work:
        cfg = load_config([str(ROOT / "conf" / "local.yaml")],
                          [f"warehouse={work}", "spark.shuffle_partitions=2", f"spark.jars_dir={ROOT / '.jars'}",
                           f"spark.conf={json.dumps(SMALL_DATA_CONF)}"])
        spark = get_spark(cfg)
        wh = warehouse(spark, cfg)
        tracker = spark.sparkContext.statusTracker()
        day = date(2026, 1, 1)
        seen: dict[str, list[tuple[float, int]]] = {}

        def row(i: int):
            return spark.createDataFrame([(f"k{i}", i)], "k string, v int").withColumn("run_date", F.lit(day))

        def op(label: str, call) -> None:
            # the ids of the jobs that are new, not a difference of counts: the status store forgets all but the
            # newest 1,000 jobs (spark.ui.retainedJobs), so in a long session the count can fall as jobs run
            before = set(tracker.getJobIdsForGroup(None))
            t0 = time.perf_counter()
            call()
            seen.setdefault(label, []).append((time.perf_counter() - t0,
                                               len(set(tracker.getJobIdsForGroup(None)) - before)))

        wh.replace_partition(row(0), tables.bronze_name("warm", "up"), day)  # JIT and class loading
        def one_round(r: int) -> None:
            t, log = tables.bronze_name("costs", f"t{r}"), tables.bronze_name("costs", f"log{r}")
            op("create the table (its contract, properties)", lambda: wh._ensure_table(wh.spec(t), row(1)))
            op("replace a partition: first write after the create", lambda: wh.replace_partition(row(1), t, day))
            op("replace a partition again (a new version)", lambda: wh.replace_partition(row(2), t, day))
            op("read a partition: limit(1).count() (a new version)",
               lambda: wh.read(t).where(F.col("run_date") == day).limit(1).count())
            op("replace a partition after that read (state cached)", lambda: wh.replace_partition(row(3), t, day))
            op("append on a new table (create + blind append)", lambda: wh.append(row(1), log))
            op("blind append (Warehouse.append)", lambda: wh.append(row(2), log))
            op("idempotent append (txnAppId, a new version)",
               lambda: wh.append_idempotent(row(3), log, f"app-{r}", 1))

        for r in range(repeats):
            one_round(r)
        rows = [{"operation": k, "median_s": round(statistics.median(s for s, _ in v), 3),
                 "spark_jobs": sorted({j for _, j in v})} for k, v in seen.items()]
        facts = {**machine_facts(spark), "repeats": repeats}
    lines = ["| operation on a one-row table | median s | Spark jobs |", "| --- | ---: | ---: |"]
    lines += [f"| {r['operation']} | {r['median_s']:.2f} | {', '.join(map(str, r['spark_jobs']))} |" for r in rows]
    return write_results("delta_costs", facts, rows, "\n".join(lines))
