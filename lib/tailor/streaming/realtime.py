"""Near-real-time recommendations: each micro-batch of new events updates the users' recent items and their
"because you just viewed X" list.

Per micro-batch (``foreachBatch``), for the users with new view, cart or purchase events:

1. **State** (``realtime_state``): their last ``stream.recent_items`` items (the latest event per item),
   from the stored state and the batch. One MERGE upserts the kept rows and deletes the ones pushed out.
2. **Recommendations**: the kept items join the newest ``item_similarity`` partition of
   ``stream.similarity_method``, read again in every batch (a stream-static join that picks up a new
   partition as soon as the similarity job writes one). A candidate's score is the sum over the user's
   recent items of similarity x the event type's weight (``interactions.weights``); its anchor is the item
   that contributed most. Items the user has seen (in the state, or in silver ``events``) are excluded.
3. **Output** (``realtime_recs``): rows keyed by (user, rank) for ranks 1..``stream.top_n``; one MERGE
   updates, inserts, and deletes ranks a shorter list no longer fills.

Exactly once: every write of a batch carries the Delta transaction id (``txnAppId`` = the query's
checkpoint, ``txnVersion`` = the batch id). When a batch is replayed after a crash (its writes committed,
the checkpoint not), Delta skips the writes already made, and the rest are recomputed from the same inputs.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from tailor import quarantine as Q
from tailor import schemas as S
from tailor.ingest import validate as V
from tailor.settings import IngestSettings, StreamSettings
from tailor.tables import Warehouse

ACTIONS = (S.VIEW, S.CART, S.PURCHASE)
REASONS = {S.VIEW: ("viewed ", ""), S.CART: ("added ", " to your cart"), S.PURCHASE: ("bought ", "")}
LANDING_COLUMNS = (S.EVENT_ID, S.USER_ID, S.ITEM_ID, S.EVENT_TYPE, S.TS, S.SESSION_ID, S.ORDER_ID, S.QUANTITY,
                   S.PRICE, S.RATING)
CORRUPT = "_corrupt_record"
MALFORMED = "malformed_json"
QUARANTINE_SOURCE = "stream"


@contextmanager
def transaction(spark: SparkSession, app_id: str, version: int) -> Iterator[None]:
    """Delta writes inside carry (app_id, version); Delta skips one whose pair it has already committed."""
    keys = ("spark.databricks.delta.write.txnAppId", "spark.databricks.delta.write.txnVersion")
    spark.conf.set(keys[0], app_id)
    spark.conf.set(keys[1], str(version))
    try:
        yield
    finally:
        for k in keys:
            spark.conf.unset(k)


def landing_schema() -> str:
    return ", ".join(f"{c} string" for c in (*LANDING_COLUMNS, CORRUPT))


def validated(batch: DataFrame, run_date: date, ing: IngestSettings) -> DataFrame:
    """Landing rows (JSON of the events contract, as strings) typed and flagged with ``reason``; a line that
    is not JSON at all is ``malformed_json``."""
    fields = [c for c in LANDING_COLUMNS]
    record = F.coalesce(F.col(CORRUPT), F.to_json(F.struct(*fields), {"ignoreNullFields": "false"}))
    standard = batch.select(*fields, record.alias(Q.RECORD), F.col(CORRUPT).isNotNull().alias("_bad_json"))
    flagged = standard.withColumn(Q.REJECT, F.when(F.col("_bad_json"), F.lit(MALFORMED))).drop("_bad_json")
    return flagged.transform(V.validate_events(run_date, ing.future_tolerance_hours, ing.rating_min,
                                               ing.rating_max, limits=V.Limits.of(ing),
                                               free_items=ing.free_items))


def recent_state(events: DataFrame, state: DataFrame | None, n: int) -> DataFrame:
    """(user_id, item_id, event_type, ts, keep) for the users of ``events``: their stored state and the new
    events, the latest event per item, ``keep`` for the ``n`` most recent items of each user."""
    new = events.where(F.col(S.EVENT_TYPE).isin(*ACTIONS)).select(S.USER_ID, S.ITEM_ID, S.EVENT_TYPE, S.TS)
    users = new.select(S.USER_ID).distinct()
    both = new if state is None else new.unionByName(
        state.join(users, S.USER_ID, "left_semi").select(S.USER_ID, S.ITEM_ID, S.EVENT_TYPE, S.TS))
    latest = Window.partitionBy(S.USER_ID, S.ITEM_ID).orderBy(F.col(S.TS).desc(), F.col(S.EVENT_TYPE))
    per_item = both.withColumn("_n", F.row_number().over(latest)).where("_n = 1").drop("_n")
    recent = Window.partitionBy(S.USER_ID).orderBy(F.col(S.TS).desc(), F.col(S.ITEM_ID))
    return per_item.withColumn("keep", F.row_number().over(recent) <= n)


def newest_similarity(wh: Warehouse, method: str) -> DataFrame | None:
    """The newest ``item_similarity`` partition of ``method`` (None when there is none yet)."""
    if not wh.exists("item_similarity"):
        return None
    sim = wh.read("item_similarity").where(F.col(S.METHOD) == method)
    newest = sim.agg(F.max(S.RUN_DATE)).first()[0]
    return None if newest is None else sim.where(F.col(S.RUN_DATE) == F.lit(newest))


def recommend(kept: DataFrame, sim: DataFrame, seen: DataFrame, weights: dict[str, float], top_n: int) -> DataFrame:
    """(user_id, rank, item_id, score, anchor, anchor_event, anchor_ts) for the users of ``kept``."""
    w = F.coalesce(*[F.when(F.col(S.EVENT_TYPE) == t, F.lit(float(weights.get(t, 0.0)))) for t in ACTIONS],
                   F.lit(0.0))
    contrib = (kept.select(S.USER_ID, F.col(S.ITEM_ID).alias(S.ENTITY), S.EVENT_TYPE, S.TS, w.alias("_w"))
               .join(sim.select(S.ENTITY, S.NEIGHBOUR, S.SCORE), S.ENTITY)
               .select(S.USER_ID, F.col(S.NEIGHBOUR).alias(S.ITEM_ID), (F.col(S.SCORE) * F.col("_w")).alias("_c"),
                       S.ENTITY, S.EVENT_TYPE, S.TS)
               .join(seen, [S.USER_ID, S.ITEM_ID], "left_anti"))
    best = F.max_by(F.struct(S.ENTITY, S.EVENT_TYPE, S.TS), F.struct(F.col("_c"), F.col(S.ENTITY)))
    scored = contrib.groupBy(S.USER_ID, S.ITEM_ID).agg(F.sum("_c").alias(S.SCORE), best.alias("_a"))
    order = Window.partitionBy(S.USER_ID).orderBy(F.col(S.SCORE).desc(), F.col(S.ITEM_ID))
    return (scored.withColumn(S.RANK, F.row_number().over(order)).where(F.col(S.RANK) <= top_n)
            .select(S.USER_ID, F.col(S.RANK).cast("int").alias(S.RANK), S.ITEM_ID, S.SCORE,
                    F.col("_a")[S.ENTITY].alias(S.ANCHOR), F.col("_a")[S.EVENT_TYPE].alias("anchor_event"),
                    F.col("_a")[S.TS].alias("anchor_ts")))


def _reason(event: str, anchor: str):
    """"because you just viewed X", "... added X to your cart", "... bought X"."""
    def part(i: int):
        return F.coalesce(*[F.when(F.col(event) == t, F.lit(v[i])) for t, v in REASONS.items()], F.lit(""))
    return F.concat(F.lit("because you just "), part(0), F.col(anchor), part(1))


def process(wh: Warehouse, st: StreamSettings, weights: dict[str, float], events: DataFrame, batch_id: int,
            app_id: str) -> dict[str, int]:
    """One micro-batch of valid events (typed contract columns): state, then recommendations (interaction
    ``weights`` by event type)."""
    spark = wh.spark
    state = wh.read("realtime_state") if wh.exists("realtime_state") else None
    merged = recent_state(events, state, st.recent_items).localCheckpoint()  # fixed before the state changes
    users = merged.select(S.USER_ID).distinct()
    rows = (merged.withColumn("updated_batch", F.lit(batch_id).cast("long"))
            .select(S.USER_ID, S.ITEM_ID, S.EVENT_TYPE, S.TS, "updated_batch", "keep"))
    with transaction(spark, app_id, batch_id):
        _merge_state(wh, rows)
    kept = merged.where("keep")
    sim = newest_similarity(wh, st.similarity_method)
    n_users = users.count()
    if sim is None:
        return {"users": n_users, "recs": 0}
    silver_seen = (wh.read("events").join(users, S.USER_ID, "left_semi")
                   .select(S.USER_ID, S.ITEM_ID) if wh.exists("events") else None)
    seen = merged.select(S.USER_ID, S.ITEM_ID)
    seen = seen if silver_seen is None else seen.unionByName(silver_seen)
    recs = recommend(kept, sim, seen.distinct(), weights, st.top_n)
    slots = users.crossJoin(spark.range(1, st.top_n + 1).select(F.col("id").cast("int").alias(S.RANK)))
    out = (slots.join(recs, [S.USER_ID, S.RANK], "left")
           .select(S.USER_ID, S.RANK, S.ITEM_ID, S.SCORE, S.ANCHOR, "anchor_ts",
                   F.when(F.col(S.ITEM_ID).isNotNull(), _reason("anchor_event", S.ANCHOR)).alias(S.REASON),
                   F.current_timestamp().alias("updated_at"), F.lit(batch_id).cast("long").alias("batch_id")))
    with transaction(spark, app_id, batch_id):
        _merge_recs(wh, out)
    return {"users": n_users}


def _merge_state(wh: Warehouse, rows: DataFrame) -> None:
    t = wh.delta_table("realtime_state")
    cond = "t.user_id = s.user_id AND t.item_id = s.item_id"
    cols = {c: f"s.{c}" for c in S.REALTIME_STATE.fieldNames()}
    (t.alias("t").merge(rows.alias("s"), cond)
     .whenMatchedDelete(condition="NOT s.keep")
     .whenMatchedUpdate(condition="s.keep", set=cols)
     .whenNotMatchedInsert(condition="s.keep", values=cols)
     .execute())


def _merge_recs(wh: Warehouse, rows: DataFrame) -> None:
    t = wh.delta_table("realtime_recs")
    cols = {c: f"s.{c}" for c in S.REALTIME_RECS.fieldNames()}
    (t.alias("t").merge(rows.alias("s"), "t.user_id = s.user_id AND t.rank = s.rank")
     .whenMatchedDelete(condition="s.item_id IS NULL")
     .whenMatchedUpdate(condition="s.item_id IS NOT NULL", set=cols)
     .whenNotMatchedInsert(condition="s.item_id IS NOT NULL", values=cols)
     .execute())
