"""The stream job: the right neighbours and reasons, bad landing rows quarantined, exactly once across a restart."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

from pyspark.sql import functions as F

from conftest import make_cfg
from tailor import schemas as S
from tailor.config import warehouse
from tailor.jobs import JOBS
from tailor.jobs.base import execute

RUN = date(2026, 11, 23)


def _similarity(spark, cfg):
    rows = {  # the older partition points elsewhere: only the newest may be used
        date(2026, 11, 1): [("A", "Z", 1.0)],
        date(2026, 11, 20): [("A", "C", 0.9), ("A", "D", 0.5), ("A", "B", 0.8), ("B", "C", 0.4), ("B", "E", 0.6),
                             ("X", "Y", 3.0), ("Y", "X", 0.5), ("Q", "X", 0.3)],
    }
    for d, pairs in rows.items():
        df = spark.createDataFrame([(a, b, s, 1) for a, b, s in pairs],
                                   "entity string, neighbour string, score double, co_count int")
        warehouse(df.sparkSession, cfg).replace_partition(df, "item_similarity", d, {S.METHOD: "cosine"})


def _event(eid, user, item, etype, ts, **extra):
    return json.dumps({"event_id": eid, "user_id": user, "item_id": item, "event_type": etype, "ts": ts,
                       "quantity": extra.get("q"), "price": extra.get("p")})


def _cfg(tmp_path: Path, *more: str):
    landing = tmp_path / "landing"
    landing.mkdir(parents=True, exist_ok=True)
    return landing, make_cfg(tmp_path / "w", "stream.source=landing", f"stream.landing_path={landing}",
                             "stream.max_files_per_trigger=1", "stream.top_n=3", *more)


def test_events_get_the_newest_neighbours_and_bad_rows_are_quarantined(spark, tmp_path):
    landing, cfg = _cfg(tmp_path)
    _similarity(spark, cfg)
    (landing / "1.json").write_text("\n".join([
        _event("e1", "u1", "A", "view", "2026-11-23 10:00:00"),
        _event("e2", "u1", "B", "cart", "2026-11-23 10:01:00", q="1", p="9.5"),
        "{this is not json",
        _event("e3", "u2", "A", "click", "2026-11-23 10:02:00"),
    ]) + "\n")
    (landing / "2.json").write_text(_event("e4", "u3", "Q", "view", "2026-11-23 10:03:00") + "\n")
    s = execute("stream", JOBS["stream"], spark, cfg, RUN)
    assert s.metrics["batches"] == 2 and s.metrics["quarantined"] == 2
    recs = {(r.user_id, r.rank): r for r in warehouse(spark, cfg).read("realtime_recs").collect()}
    # u1: A viewed (weight 1), B carted (weight 3); B is seen. C = 0.9 + 3 x 0.4 = 2.1 (anchor B, 1.2 > 0.9),
    # E = 3 x 0.6 = 1.8, D = 0.5
    got = [(recs[("u1", k)].item_id, round(recs[("u1", k)].score, 6), recs[("u1", k)].anchor) for k in (1, 2, 3)]
    assert got == [("C", 2.1, "B"), ("E", 1.8, "B"), ("D", 0.5, "A")]
    assert recs[("u1", 1)].reason == "because you just added B to your cart"
    assert recs[("u1", 3)].reason == "because you just viewed A"
    assert [recs[("u3", 1)].item_id] == ["X"] and ("u3", 2) not in recs
    assert ("u2", 1) not in recs  # its only event was quarantined
    reasons = sorted(r.reason for r in warehouse(spark, cfg).read("quarantine").collect())
    assert reasons == ["malformed_json", "unknown_event_type"]
    # a later view of X brings Y in (3.0) and pushes D out: the list is rewritten, rank by rank
    (landing / "3.json").write_text(_event("e5", "u1", "X", "view", "2026-11-23 11:00:00") + "\n")
    execute("stream", JOBS["stream"], spark, cfg, RUN)
    recs = {(r.user_id, r.rank): r.item_id for r in warehouse(spark, cfg).read("realtime_recs").collect()}
    assert [recs[("u1", k)] for k in (1, 2, 3)] == ["Y", "C", "E"]
    state = {(r.user_id, r.item_id) for r in warehouse(spark, cfg).read("realtime_state").collect()}
    assert {("u1", "A"), ("u1", "B"), ("u1", "X"), ("u3", "Q")} == state


def _files(landing: Path, names: list[str]):
    users = ["u1", "u2", "u3"]
    items = ["A", "B", "X", "Y", "Q"]
    for n, name in enumerate(names):
        lines = [_event(f"{name}-{i}", users[(n + i) % 3], items[(n * 2 + i) % 5], ["view", "cart"][i % 2],
                        f"2026-11-23 1{n}:0{i}:00", q="1", p="2.0") for i in range(4)]
        lines.append(_event(f"{name}-bad", "u1", "A", "view", "not a time"))
        (landing / f"{name}.json").write_text("\n".join(lines) + "\n")


def _final(spark, cfg):
    recs = warehouse(spark, cfg).read("realtime_recs").drop("updated_at")
    state = warehouse(spark, cfg).read("realtime_state")
    quarantine = warehouse(spark, cfg).read("quarantine").select("reason", "record")
    return [sorted(str(tuple(r)) for r in df.collect()) for df in (recs, state, quarantine)]


def test_a_restart_that_replays_a_batch_gives_what_one_uninterrupted_run_gives(spark, tmp_path):
    names = ["f1", "f2"]
    landing_a, one = _cfg(tmp_path / "a", "stream.recent_items=2")
    _similarity(spark, one)
    _files(landing_a, names)
    execute("stream", JOBS["stream"], spark, one, RUN)
    expected = _final(spark, one)

    landing_b, cfg = _cfg(tmp_path / "b", "stream.recent_items=2")
    _similarity(spark, cfg)
    _files(landing_b, names[:1])
    execute("stream", JOBS["stream"], spark, cfg, RUN)  # stops after one batch: all there was
    # a crash after batch 0 was written but before Spark committed it: the restart runs batch 0 again
    commits = Path(cfg.checkpoint_path.removeprefix("file:")) / "stream_landing" / "commits"
    (commits / "0").unlink()
    (commits / ".0.crc").unlink(missing_ok=True)
    _files(landing_b, names)
    s = execute("stream", JOBS["stream"], spark, cfg, RUN)
    assert s.metrics["batches"] == 2  # batch 0 again, then batch 1
    assert _final(spark, cfg) == expected
    assert warehouse(spark, cfg).read("quarantine").where(F.col("reason") == "bad_timestamp").count() == 2
