"""Event-to-recommendation latency of ``tailor stream`` with the processing-time trigger.

A writer thread drops one JSON file of the events contract into the landing folder every second, at a fixed
rate (events per second), each event stamped with the time it was written. The stream runs in the same
process with ``trigger: processing_time`` for the stated duration. Latency of an event = the
``finished_at`` of the micro-batch that handled it (``stream_progress``, written after the batch's last
MERGE) minus the event's time, joined through each state row's ``updated_batch``. The item similarity is a
seeded random neighbourhood (``--items`` items, 20 neighbours each), written as one partition.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
import threading
import time
from datetime import date, datetime, timezone
from pathlib import Path

from benchmarks.common import machine_facts, write_results

ROOT = Path(__file__).resolve().parents[1]
RUN = date(2026, 11, 23)


def _writer(landing: Path, rate: int, seconds: float, users: int, items: int, stop: threading.Event) -> None:
    rnd = random.Random(7)
    n = 0
    t_end = time.time() + seconds
    while time.time() < t_end and not stop.is_set():
        tick = time.time()
        now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
        lines = []
        for _ in range(rate):
            n += 1
            lines.append(json.dumps({"event_id": f"e{n}", "user_id": f"u{rnd.randrange(users)}",
                                     "item_id": f"i{rnd.randrange(items)}", "event_type": "view", "ts": now}))
        tmp = landing / f".part-{n}.json"
        tmp.write_text("\n".join(lines) + "\n")
        tmp.rename(landing / f"events-{n:09d}.json")  # atomic: the stream never sees half a file
        time.sleep(max(0.0, 1.0 - (time.time() - tick)))


def main(rate: int, seconds: float, interval: float, users: int, items: int) -> Path:
    from pyspark.sql import functions as F

    from tailor.config import load_config, warehouse
    from tailor.jobs import JOBS
    from tailor.jobs.base import execute
    from tailor.spark import get_spark

    work = Path(tempfile.mkdtemp(prefix="tailor-stream-bench-"))
    landing = work / "landing"
    landing.mkdir()
    cfg = load_config([str(ROOT / "conf" / "local.yaml")], [
        f"warehouse={work / 'w'}", f"spark.jars_dir={ROOT / '.jars'}", "stream.source=landing",
        f"stream.landing_path={landing}", "stream.trigger=processing_time", f"stream.interval_seconds={interval}",
        f"stream.max_seconds={seconds + 3 * interval}"])
    spark = get_spark(cfg)
    rnd = random.Random(42)
    pairs = [(f"i{a}", f"i{b}", rnd.random(), 1) for a in range(items) for b in rnd.sample(range(items), 20) if a != b]
    sim = spark.createDataFrame(pairs, "entity string, neighbour string, score double, co_count int")
    warehouse(sim.sparkSession, cfg).replace_partition(sim, "item_similarity", RUN, {"method": "cosine"})
    stop = threading.Event()
    writer = threading.Thread(target=_writer, args=(landing, rate, seconds, users, items, stop), daemon=True)
    try:
        writer.start()
        summary = execute("stream", JOBS["stream"], spark, cfg, RUN)
    finally:
        stop.set()
        writer.join()
    state = warehouse(spark, cfg).read("realtime_state")
    progress = warehouse(spark, cfg).read("stream_progress")
    lat = (state.join(progress.select(F.col("batch_id").alias("updated_batch"), "finished_at"), "updated_batch")
           .select((F.col("finished_at").cast("double") - F.col("ts").cast("double")).alias("s")))
    p50, p95, p99 = lat.approxQuantile("s", [0.5, 0.95, 0.99], 0.001)
    took = F.col("finished_at").cast("double") - F.col("started_at").cast("double")
    batches = progress.agg(F.count("*"), F.avg(took), F.avg("events")).first()
    row = {"rate_events_per_s": rate, "seconds": seconds, "trigger_interval_s": interval, "users": users,
           "items": items, "events": int(summary.metrics["events"]), "events_measured": lat.count(),
           "batches": batches[0], "mean_batch_s": round(batches[1], 2), "mean_events_per_batch": round(batches[2], 1),
           "latency_p50_s": round(p50, 2), "latency_p95_s": round(p95, 2), "latency_p99_s": round(p99, 2)}
    facts = machine_facts(spark)
    md = ("| rate (events/s) | trigger | batches | mean batch (s) | events | p50 (s) | p95 (s) | p99 (s) |\n"
          "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
          f"| {rate} | {interval} s | {row['batches']} | {row['mean_batch_s']} | {row['events_measured']} | "
          f"{row['latency_p50_s']} | {row['latency_p95_s']} | {row['latency_p99_s']} |\n")
    out = write_results("stream", facts, [row], md)
    shutil.rmtree(work, ignore_errors=True)
    print(md)
    return out
