import logging
from datetime import date

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from tailor import tables
from tailor.config import warehouse
from tailor.errors import MissingTableError, SchemaMismatchError
from tailor.schemas import QUARANTINE

D1, D2 = date(2026, 11, 22), date(2026, 11, 23)


def _rows(spark, cfg, name):
    return sorted(tuple(r) for r in warehouse(spark, cfg).read(name).collect())


def test_replace_partition_round_trip_and_idempotence(spark, cfg):
    t = tables.bronze_name("unit", "things")
    day1 = spark.createDataFrame([("a", 1), ("b", 2)], "k string, v int")
    day2 = spark.createDataFrame([("c", 3)], "k string, v int")
    assert warehouse(day1.sparkSession, cfg).replace_partition(day1, t, D1) == 2
    warehouse(day2.sparkSession, cfg).replace_partition(day2, t, D2)
    once = _rows(spark, cfg, t)
    assert once == [("a", 1, D1), ("b", 2, D1), ("c", 3, D2)]

    # the same date again: no duplicates, the other date untouched
    warehouse(day2.sparkSession, cfg).replace_partition(day2, t, D2)
    assert _rows(spark, cfg, t) == once

    # new content for D2 replaces only D2
    warehouse(spark, cfg).replace_partition(spark.createDataFrame([("d", 4)], "k string, v int"), t, D2)
    assert _rows(spark, cfg, t) == [("a", 1, D1), ("b", 2, D1), ("d", 4, D2)]


def test_replace_partition_with_extra_key_keeps_other_sources(spark, cfg):
    def q(reason):
        return spark.createDataFrame([("events", reason, "{}")], "entity string, reason string, record string")

    warehouse(spark, cfg).replace_partition(q("x"), "quarantine", D1, extra_keys={"source": "a"})
    warehouse(spark, cfg).replace_partition(q("y"), "quarantine", D1, extra_keys={"source": "b"})
    warehouse(spark, cfg).replace_partition(q("z"), "quarantine", D1, extra_keys={"source": "a"})
    got = {(r.source, r.reason) for r in warehouse(spark, cfg).read("quarantine").collect()}
    assert got == {("a", "z"), ("b", "y")}


def test_replace_partition_among_several_values_in_one_commit(spark, cfg):
    t = tables.bronze_name("unit", "models")
    wh = warehouse(spark, cfg)

    def rows(*pairs):
        return spark.createDataFrame(list(pairs), "model string, v int")

    wh.replace_partition(rows(("a", 1), ("b", 2), ("c", 3)), t, D1)
    before = wh.version(t)
    # a and b replaced together (b now has no row), c of the same day untouched: one commit
    wh.replace_partition(rows(("a", 10)), t, D1, among={"model": ["a", "b"]})
    assert _rows(spark, cfg, t) == [("a", 10, D1), ("c", 3, D1)]
    assert wh.version(t) == before + 1
    with pytest.raises(Exception, match="(?i)replaceWhere|does not conform|DELTA_REPLACE_WHERE_MISMATCH"):
        wh.replace_partition(rows(("d", 4)), t, D1, among={"model": ["a"]})  # a row outside the values
    assert _rows(spark, cfg, t) == [("a", 10, D1), ("c", 3, D1)]


def test_unsafe_partition_value_is_refused(spark, cfg):
    df = spark.createDataFrame([("events", "r", "{}")], "entity string, reason string, record string")
    with pytest.raises(ValueError, match="partition value"):
        warehouse(df.sparkSession, cfg).replace_partition(df, "quarantine", D1, extra_keys={"source": "x' OR '1'='1"})


def test_contract_is_checked_on_write(spark, cfg):
    wrong = spark.createDataFrame([("s", "e", 1, "{}")], "source string, entity string, reason int, record string")
    with pytest.raises(SchemaMismatchError, match="reason is int, expected string"):
        warehouse(wrong.sparkSession, cfg).replace_partition(wrong, "quarantine", D1)
    missing = spark.createDataFrame([("s",)], "source string")
    with pytest.raises(SchemaMismatchError, match="missing"):
        warehouse(missing.sparkSession, cfg).replace_partition(missing, "quarantine", D1)
    assert [f.name for f in QUARANTINE.fields][-1] == "run_date"


def test_a_table_made_by_an_older_contract_gains_the_new_nullable_columns(spark, cfg):
    from pyspark.sql.types import StructType

    from tailor.schemas import FREQUENTLY_BOUGHT_TOGETHER as FBT

    wh = warehouse(spark, cfg)
    old = StructType([f for f in FBT.fields if f.name not in ("title", "consequent_title")])
    spark.createDataFrame([("A", "B", 0.1, 0.5, 2.0, 1, D1)], old).write.format("delta").partitionBy(
        "run_date").save(wh.path("frequently_bought_together"))
    new = spark.createDataFrame([("A", "C", 0.2, 0.6, 3.0, 1, "Mug", None)],
                                "item_id string, consequent string, support double, confidence double, lift double,"
                                " rank int, title string, consequent_title string")
    assert wh.replace_partition(new, "frequently_bought_together", D2) == 1
    got = sorted((r.consequent, r.run_date, r.title) for r in wh.read("frequently_bought_together").collect())
    assert got == [("B", D1, None), ("C", D2, "Mug")]


def test_merge_upsert_inserts_updates_and_is_a_no_op_when_replayed(spark, cfg):
    t = tables.bronze_name("unit", "dim")
    first = spark.createDataFrame([("a", 1), ("b", 2)], "k string, v int").withColumn(
        "run_date", F.lit(D1))
    assert warehouse(first.sparkSession, cfg).merge_upsert(first, t, ["k"]) == {"inserted": 2, "updated": 0}
    second = spark.createDataFrame([("b", 20), ("c", 3), ("a", 1)], "k string, v int").withColumn(
        "run_date", F.lit(D2))
    m = warehouse(second.sparkSession, cfg).merge_upsert(second, t, ["k"], ignore_in_compare=("run_date",))
    assert m == {"inserted": 1, "updated": 1}  # a is unchanged apart from run_date, so not rewritten
    assert _rows(spark, cfg, t) == [("a", 1, D1), ("b", 20, D2), ("c", 3, D2)]
    assert warehouse(second.sparkSession, cfg).merge_upsert(second, t, ["k"], ignore_in_compare=("run_date",)) == {
        "inserted": 0, "updated": 0}
    assert _rows(spark, cfg, t) == [("a", 1, D1), ("b", 20, D2), ("c", 3, D2)]


def test_insert_only_merge_never_overwrites(spark, cfg):
    t = tables.bronze_name("unit", "facts")
    def df(rows):  # bronze tables are partitioned by run_date
        return spark.createDataFrame(rows, "k string, v int").withColumn("run_date", F.lit(D1))

    warehouse(spark, cfg).merge_upsert(df([("a", 1)]), t, ["k"], update=False)
    m = warehouse(spark, cfg).merge_upsert(df([("a", 9), ("b", 2)]), t, ["k"], update=False)
    assert m["inserted"] == 1
    assert _rows(spark, cfg, t) == [("a", 1, D1), ("b", 2, D1)]


def test_idempotent_append_replayed_counts_once(spark, cfg):
    t = tables.bronze_name("unit", "log")
    batch = spark.createDataFrame([("x", 1), ("y", 2)], "k string, v int").withColumn("run_date", F.lit(D1))
    warehouse(batch.sparkSession, cfg).append_idempotent(batch, t, app_id="loader", version=20261122)
    warehouse(batch.sparkSession, cfg).append_idempotent(batch, t, app_id="loader", version=20261122)
    assert warehouse(spark, cfg).read(t).count() == 2
    warehouse(batch.sparkSession, cfg).append_idempotent(batch, t, app_id="loader", version=20261123)
    assert warehouse(spark, cfg).read(t).count() == 4


def test_a_blind_append_adds_each_call_as_one_commit_that_read_nothing(spark, cfg):
    """``append`` (the runs table's rows): every call is kept, one commit each, and Delta records the commit as
    a blind append, the kind that conflicts with no other writer's rows. It runs one Spark job, the write: an
    idempotent append first rebuilds the new version's snapshot state to read its transaction ids (3 more)."""
    t = tables.bronze_name("unit", "attempts")
    wh = warehouse(spark, cfg)
    row = spark.createDataFrame([("x", 1)], "k string, v int").withColumn("run_date", F.lit(D1))
    wh.append(row, t)
    first = wh.version(t)
    jobs = spark.sparkContext.statusTracker()
    before = set(jobs.getJobIdsForGroup(None))  # ids, not a count: the status store keeps only the newest 1,000
    wh.append(row, t)
    assert len(set(jobs.getJobIdsForGroup(None)) - before) == 1
    assert wh.version(t) == first + 1
    assert wh.read(t).count() == 2
    _, info = wh._last_commit(t, with_info=True)
    assert info["operation"] == "WRITE" and info["isBlindAppend"] is True


def test_time_travel_reads_an_older_version(spark, cfg):
    t = tables.bronze_name("unit", "tt")
    warehouse(spark, cfg).replace_partition(spark.createDataFrame([("a",)], "k string"), t, D1)
    v0 = warehouse(spark, cfg).version(t)
    warehouse(spark, cfg).replace_partition(spark.createDataFrame([("b",)], "k string"), t, D1)
    assert_df_equality(warehouse(spark, cfg).read(t, version=v0).select("k"),
                       spark.createDataFrame([("a",)], "k string"))


def test_version_and_metrics_come_from_the_log_as_history_reports_them(spark, cfg):
    from delta.tables import DeltaTable

    t = tables.bronze_name("unit", "log")
    assert warehouse(spark, cfg).version(t) == -1  # no table yet
    warehouse(spark, cfg).replace_partition(spark.createDataFrame([("a",), ("b",), ("c",)], "k string"), t, D1)
    warehouse(spark, cfg).replace_partition(spark.createDataFrame([("d",)], "k string"), t, D2)
    hist = DeltaTable.forPath(spark, warehouse(None, cfg).path(t)).history(1).head()
    assert warehouse(spark, cfg).version(t) == hist.version == 2  # 0 is the empty table with its contract
    assert warehouse(spark, cfg)._metrics_since(
        t, 1)["numOutputRows"] == int(hist.operationMetrics["numOutputRows"]) == 1
    assert warehouse(spark, cfg)._metrics_since(t, 2) == {}  # nothing committed after version 2


def test_a_partition_replace_reports_its_own_commit_when_another_writer_commits_right_after(spark, cfg):
    # jobs a scheduler runs at once write other partitions of the same table (candidate_recs): the rows a
    # replace reports are its own commit's, found by its token, not the newest commit's
    t = tables.bronze_name("unit", "side")
    wh = warehouse(spark, cfg)
    path = wh.path(t)
    ours = spark.createDataFrame([("a",), ("b",), ("c",)], "k string").withColumn("run_date", F.lit(D1))
    theirs = spark.createDataFrame([(f"x{i}",) for i in range(5)], "k string").withColumn("run_date", F.lit(D2))
    wh.replace_partition(ours, t, D1)  # the table exists

    def write(token):
        ours.write.format("delta").mode("overwrite").option("replaceWhere", f"run_date = '{D1}'").option(
            "userMetadata", token).save(path)
        theirs.write.format("delta").mode("overwrite").option("replaceWhere", f"run_date = '{D2}'").save(path)

    before = wh.version(t)
    assert wh._commit(t, write, tagged=True)["numOutputRows"] == 3
    assert wh.version(t) == before + 2
    assert wh._metrics_since(t, before)["numOutputRows"] == 5  # the newest commit is the other writer's


def test_properties_are_the_latest_commits_including_one_another_handle_made(spark, cfg):
    from delta.tables import DeltaTable

    t = tables.bronze_name("unit", "props")
    wh = warehouse(spark, cfg)
    wh.replace_partition(spark.createDataFrame([("a",)], "k string"), t, D1)
    assert wh.properties(t) == {tables.STATS_COUNT: "0"}  # a bronze table's, set at its creation
    wh.set_properties(t, {"tailor.a": "1", "tailor.b": "2"})
    assert wh.properties(t) == {tables.STATS_COUNT: "0", "tailor.a": "1", "tailor.b": "2"}
    # another writer (plain SQL, not this Warehouse) changes them: the next read sees its commit
    spark.sql(f"ALTER TABLE delta.`{wh.path(t)}` UNSET TBLPROPERTIES ('tailor.a')")
    assert wh.properties(t) == {tables.STATS_COUNT: "0", "tailor.b": "2"}
    detail = DeltaTable.forPath(spark, wh.path(t)).detail().first().properties
    assert wh.properties(t) == detail


def test_missing_table_is_a_clear_error(spark, cfg):
    with pytest.raises(MissingTableError, match="table 'events' does not exist .* run the job that writes it"):
        warehouse(spark, cfg).read("events")


def test_a_lost_commit_race_is_retried_with_growing_waits(cfg, caplog, monkeypatch):
    from delta.exceptions.base import ConcurrentAppendException

    cfg = cfg.model_copy(update={"delta": cfg.delta.model_copy(update={"conflict_retries": 3,
                                                                        "retry_backoff_seconds": 0.5})})
    monkeypatch.setattr(logging.getLogger("tailor"), "propagate", True)  # tlog.setup() may have turned it off
    waits: list[float] = []
    monkeypatch.setattr(tables.time, "sleep", waits.append)  # record the waits instead of sleeping
    calls = []

    def write():
        calls.append(1)
        if len(calls) < 3:
            raise ConcurrentAppendException("another writer committed first")
        return "committed"

    assert warehouse(None, cfg).on_conflict_retry("t", write) == "committed"
    assert len(calls) == 3
    # 0.5 s then 1 s, each scaled by a jitter in [0.5, 1.5)
    assert 0.25 <= waits[0] < 0.75 and 0.5 <= waits[1] < 1.5
    assert "lost a commit race" in caplog.text

    calls.clear()

    def always():
        calls.append(1)
        raise ConcurrentAppendException("again")

    with pytest.raises(ConcurrentAppendException):
        warehouse(None, cfg).on_conflict_retry("t", always)
    assert len(calls) == 4  # the first try and three retries

    def other():
        raise ValueError("not a conflict")

    with pytest.raises(ValueError):
        warehouse(None, cfg).on_conflict_retry("t", other)


def test_concurrent_merges_into_one_table_all_commit(spark, cfg, caplog, monkeypatch):
    """Three MERGEs into one table from three threads at once: Delta lets one win each race
    (ConcurrentAppend for the others); the retries make every one commit."""
    import threading

    cfg = cfg.model_copy(update={"delta": cfg.delta.model_copy(update={"retry_backoff_seconds": 0.3})})
    monkeypatch.setattr(logging.getLogger("tailor"), "propagate", True)
    t = tables.bronze_name("unit", "race")
    def rows(values):
        return spark.createDataFrame(values, "k string, v int").withColumn("run_date", F.lit(D1))

    warehouse(spark, cfg).merge_upsert(rows([("seed", 0)]), t, ["k"])
    barrier = threading.Barrier(3)
    errors = []

    def writer(i):
        df = rows([(f"k{i}-{j}", i) for j in range(50)])
        barrier.wait()
        try:
            warehouse(df.sparkSession, cfg).merge_upsert(df, t, ["k"])
        except Exception as e:  # collected: an exception in a thread would not fail the test
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    assert warehouse(spark, cfg).read(t).count() == 1 + 3 * 50
    assert "lost a commit race (ConcurrentAppendException)" in caplog.text


def test_a_table_another_writer_is_creating_is_waited_for_and_a_stale_log_folder_is_named(spark, cfg, tmp_path):
    """Delta makes a new table's _delta_log folder before it writes version 0. A writer that finds the folder
    without a commit (another ingest creating the same table; CI saw it) gets DELTA_TABLE_NOT_FOUND from
    createIfNotExists: it must wait for the other writer's commit, and name the folder if none ever comes."""
    import shutil
    import threading
    from pathlib import Path

    from delta.exceptions import ConcurrentTransactionException

    cfg = cfg.model_copy(update={"delta": cfg.delta.model_copy(update={"retry_backoff_seconds": 0.3})})
    wh = warehouse(spark, cfg)
    # the other writer's first commit, made elsewhere: the quarantine contract's version 0 and no data file
    other = warehouse(spark, cfg.model_copy(update={"warehouse": str(tmp_path / "other")}))
    other.ensure("quarantine")
    commit = Path(other.path("quarantine")) / "_delta_log" / f"{0:020d}.json"
    log = Path(wh.path("quarantine")) / "_delta_log"
    log.mkdir(parents=True)  # the folder is there, its commit not yet
    landed = threading.Timer(1.0, shutil.copy, (commit, log / commit.name))
    landed.start()
    try:
        wh.ensure("quarantine")
    finally:
        landed.cancel()
    assert wh.read("quarantine").schema == other.read("quarantine").schema
    assert wh.read("quarantine").count() == 0
    assert not (log / f"{1:020d}.json").exists()  # it found the other writer's table and committed nothing

    # a folder no commit ever reaches (a run stopped while creating the table): the error says what to remove
    quick = warehouse(spark, cfg.model_copy(update={"delta": cfg.delta.model_copy(
        update={"conflict_retries": 1, "retry_backoff_seconds": 0.01})}))
    stale = Path(quick.path("user_segments")) / "_delta_log"
    stale.mkdir(parents=True)
    with pytest.raises(ConcurrentTransactionException, match="_delta_log folder but no commit yet.*remove that folder"):
        quick.ensure("user_segments")
