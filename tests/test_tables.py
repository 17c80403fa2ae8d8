from datetime import date

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from tailor import tables
from tailor.errors import MissingTableError, SchemaMismatchError
from tailor.schemas import QUARANTINE

D1, D2 = date(2026, 11, 22), date(2026, 11, 23)


def _rows(spark, cfg, name):
    return sorted(tuple(r) for r in tables.read(spark, cfg, name).collect())


def test_replace_partition_round_trip_and_idempotence(spark, cfg):
    t = tables.bronze_name("unit", "things")
    day1 = spark.createDataFrame([("a", 1), ("b", 2)], "k string, v int")
    day2 = spark.createDataFrame([("c", 3)], "k string, v int")
    assert tables.replace_partition(day1, cfg, t, D1) == 2
    tables.replace_partition(day2, cfg, t, D2)
    once = _rows(spark, cfg, t)
    assert once == [("a", 1, D1), ("b", 2, D1), ("c", 3, D2)]

    # the same date again: no duplicates, the other date untouched
    tables.replace_partition(day2, cfg, t, D2)
    assert _rows(spark, cfg, t) == once

    # new content for D2 replaces only D2
    tables.replace_partition(spark.createDataFrame([("d", 4)], "k string, v int"), cfg, t, D2)
    assert _rows(spark, cfg, t) == [("a", 1, D1), ("b", 2, D1), ("d", 4, D2)]


def test_replace_partition_with_extra_key_keeps_other_sources(spark, cfg):
    def q(reason):
        return spark.createDataFrame([("events", reason, "{}")], "entity string, reason string, record string")

    tables.replace_partition(q("x"), cfg, "quarantine", D1, extra_keys={"source": "a"})
    tables.replace_partition(q("y"), cfg, "quarantine", D1, extra_keys={"source": "b"})
    tables.replace_partition(q("z"), cfg, "quarantine", D1, extra_keys={"source": "a"})
    got = {(r.source, r.reason) for r in tables.read(spark, cfg, "quarantine").collect()}
    assert got == {("a", "z"), ("b", "y")}


def test_unsafe_partition_value_is_refused(spark, cfg):
    df = spark.createDataFrame([("events", "r", "{}")], "entity string, reason string, record string")
    with pytest.raises(ValueError, match="partition value"):
        tables.replace_partition(df, cfg, "quarantine", D1, extra_keys={"source": "x' OR '1'='1"})


def test_contract_is_checked_on_write(spark, cfg):
    wrong = spark.createDataFrame([("s", "e", 1, "{}")], "source string, entity string, reason int, record string")
    with pytest.raises(SchemaMismatchError, match="reason is int, expected string"):
        tables.replace_partition(wrong, cfg, "quarantine", D1)
    missing = spark.createDataFrame([("s",)], "source string")
    with pytest.raises(SchemaMismatchError, match="missing"):
        tables.replace_partition(missing, cfg, "quarantine", D1)
    assert [f.name for f in QUARANTINE.fields][-1] == "run_date"


def test_merge_upsert_inserts_updates_and_is_a_no_op_when_replayed(spark, cfg):
    t = tables.bronze_name("unit", "dim")
    first = spark.createDataFrame([("a", 1), ("b", 2)], "k string, v int").withColumn(
        "run_date", F.lit(D1))
    assert tables.merge_upsert(first, cfg, t, ["k"]) == {"inserted": 2, "updated": 0}
    second = spark.createDataFrame([("b", 20), ("c", 3), ("a", 1)], "k string, v int").withColumn(
        "run_date", F.lit(D2))
    m = tables.merge_upsert(second, cfg, t, ["k"], ignore_in_compare=("run_date",))
    assert m == {"inserted": 1, "updated": 1}  # a is unchanged apart from run_date, so not rewritten
    assert _rows(spark, cfg, t) == [("a", 1, D1), ("b", 20, D2), ("c", 3, D2)]
    assert tables.merge_upsert(second, cfg, t, ["k"], ignore_in_compare=("run_date",)) == {
        "inserted": 0, "updated": 0}
    assert _rows(spark, cfg, t) == [("a", 1, D1), ("b", 20, D2), ("c", 3, D2)]


def test_insert_only_merge_never_overwrites(spark, cfg):
    t = tables.bronze_name("unit", "facts")
    def df(rows):  # bronze tables are partitioned by run_date
        return spark.createDataFrame(rows, "k string, v int").withColumn("run_date", F.lit(D1))

    tables.merge_upsert(df([("a", 1)]), cfg, t, ["k"], update=False)
    m = tables.merge_upsert(df([("a", 9), ("b", 2)]), cfg, t, ["k"], update=False)
    assert m["inserted"] == 1
    assert _rows(spark, cfg, t) == [("a", 1, D1), ("b", 2, D1)]


def test_idempotent_append_replayed_counts_once(spark, cfg):
    t = tables.bronze_name("unit", "log")
    batch = spark.createDataFrame([("x", 1), ("y", 2)], "k string, v int").withColumn("run_date", F.lit(D1))
    tables.append_idempotent(batch, cfg, t, app_id="loader", version=20261122)
    tables.append_idempotent(batch, cfg, t, app_id="loader", version=20261122)
    assert tables.read(spark, cfg, t).count() == 2
    tables.append_idempotent(batch, cfg, t, app_id="loader", version=20261123)
    assert tables.read(spark, cfg, t).count() == 4


def test_time_travel_reads_an_older_version(spark, cfg):
    t = tables.bronze_name("unit", "tt")
    tables.replace_partition(spark.createDataFrame([("a",)], "k string"), cfg, t, D1)
    v0 = tables.version(spark, cfg, t)
    tables.replace_partition(spark.createDataFrame([("b",)], "k string"), cfg, t, D1)
    assert_df_equality(tables.read(spark, cfg, t, version=v0).select("k"),
                       spark.createDataFrame([("a",)], "k string"))


def test_missing_table_is_a_clear_error(spark, cfg):
    with pytest.raises(MissingTableError, match="table 'events' does not exist .* run the job that writes it"):
        tables.read(spark, cfg, "events")
