"""``tailor stream``: new events -> ``realtime_state`` and ``realtime_recs`` (and ``quarantine``, source
``stream``, for bad landing rows), by Structured Streaming.

Input (``stream.source``): the silver ``events`` Delta table (appended rows; commits that delete or
rewrite rows, such as ``tailor forget``, are skipped), or JSON files of the events contract arriving in
``stream.landing_path``. Landing rows are validated as ingest validates events; a row that breaks a rule,
or a line that is not JSON, goes to quarantine with its reason and the stream goes on. Each micro-batch is
handled by :func:`tailor.streaming.realtime.process`; all its writes are idempotent by batch id.

Triggers: ``available_now`` processes what is there and stops (tests, the demo, a scheduled catch-up);
``processing_time`` runs a micro-batch every ``stream.interval_seconds`` until stopped, or for
``stream.max_seconds``. Progress lives in the checkpoint (``stream.checkpoint``): a restart resumes after
the last committed batch.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from tailor import quarantine as Q
from tailor import schemas as S
from tailor.config import Config, warehouse
from tailor.errors import SourceError
from tailor.jobs.base import JobSummary
from tailor.privacy import pseudonym
from tailor.streaming import realtime as R

log = logging.getLogger(__name__)

READS: frozenset[str] = frozenset()
SOFT_READS: dict[str, str] = {
    "events": "with stream.source=landing, seen items are not removed from what silver already holds",
    "item_similarity": "no recommendations until similarity has run (state is still kept)",
}
WRITES: frozenset[str] = frozenset({"quarantine", "stream_progress", "realtime_state", "realtime_recs"})


def checkpoint(cfg: Config) -> str:
    return cfg.stream.checkpoint or f"{cfg.checkpoint_path}/stream_{cfg.stream.source}"


def _reader(spark: SparkSession, cfg: Config) -> DataFrame:
    wh = warehouse(spark, cfg)
    st = cfg.stream
    if st.source == "events":
        reader = spark.readStream.format("delta").option("skipChangeCommits", "true")
        if st.max_files_per_trigger:
            reader = reader.option("maxFilesPerTrigger", st.max_files_per_trigger)
        if not wh.exists("events"):
            raise SourceError("stream.source is events, and silver events does not exist: run `tailor ingest` first")
        return reader.load(wh.path("events"))
    if not st.landing_path:
        raise SourceError("stream.source is landing: set stream.landing_path to the folder the JSON files arrive in")
    reader = (spark.readStream.schema(R.landing_schema()).option("mode", "PERMISSIVE")
              .option("columnNameOfCorruptRecord", R.CORRUPT))
    if st.max_files_per_trigger:
        reader = reader.option("maxFilesPerTrigger", st.max_files_per_trigger)
    return reader.json(st.landing_path)


def run(spark: SparkSession, cfg: Config, run_date: date) -> JobSummary:
    wh = warehouse(spark, cfg)
    st = cfg.stream
    ck = checkpoint(cfg)
    app_id = f"tailor-stream:{ck}"
    # quarantined landing rows are redacted
    secret = pseudonym.key(cfg.privacy.key_env) if st.source == "landing" else b""
    counts = {"batches": 0, "events": 0, "quarantined": 0, "users": 0}

    def each(batch: DataFrame, batch_id: int) -> None:
        started = datetime.now(timezone.utc)
        quarantined = 0
        if st.source == "landing":
            flagged = R.validated(batch, started.date(), cfg.ingest).localCheckpoint()  # validated once, read thrice
            n = {r[0]: r[1] for r in flagged.groupBy(F.col(Q.REASON).isNull()).count().collect()}
            events, quarantined = n.get(True, 0), n.get(False, 0)
            if quarantined:
                bad = (Q.rejected(flagged, R.QUARANTINE_SOURCE, "events")
                       .withColumn("record", pseudonym.redact_record(secret, F.col("record"),
                                                                     frozenset(R.LANDING_COLUMNS)))
                       .withColumn(S.RUN_DATE, F.lit(started.date())))
                wh.append_idempotent(bad, "quarantine", f"{app_id}:quarantine", batch_id)
            good = flagged.where(F.col(Q.REASON).isNull()).select(*R.LANDING_COLUMNS)
        else:
            good = batch.select(*R.LANDING_COLUMNS).localCheckpoint()
            events = good.count()
        done = R.process(warehouse(spark, cfg), cfg.stream, cfg.interactions.weights, good, batch_id, app_id)
        for k, v in (("batches", 1), ("events", events), ("quarantined", quarantined), ("users", done["users"])):
            counts[k] += v
        row = {"query": ck, "batch_id": batch_id, "events": events, "quarantined": quarantined,
               "users": done["users"], "started_at": started, "finished_at": datetime.now(timezone.utc)}
        wh.append_idempotent(spark.createDataFrame([row], S.STREAM_PROGRESS), "stream_progress",
                                 f"{app_id}:progress", batch_id)
        log.info("stream batch %d: %s", batch_id, row)

    writer = (_reader(spark, cfg).writeStream.foreachBatch(each).option("checkpointLocation", ck)
              .queryName(f"tailor_stream_{st.source}"))
    if st.trigger == "available_now":
        query = writer.trigger(availableNow=True).start()
        query.awaitTermination()
    else:
        query = writer.trigger(processingTime=f"{st.interval_seconds} seconds").start()
        try:
            query.awaitTermination(st.max_seconds)
        finally:
            query.stop()
    if query.exception() is not None:
        raise query.exception()
    written = ["realtime_state", "realtime_recs", "stream_progress"]
    written += ["quarantine"] if st.source == "landing" else []
    return JobSummary(rows_in=counts["events"], rows_out=counts["users"],
                      metrics={k: float(v) for k, v in counts.items()}, tables=written)
