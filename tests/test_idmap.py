"""Stable dense ids: new ids are appended after the maximum, existing ones never move."""

from datetime import date

import pytest

from tailor.config import warehouse
from tailor.errors import IdRangeError
from tailor.recommend.idmap import new_ids

D1, D2 = date(2026, 11, 22), date(2026, 11, 23)


def _ids(spark, values):
    return spark.createDataFrame([(v,) for v in values], "external_id string")


def _as_dict(df):
    return {r.external_id: r.idx for r in df.collect()}


def test_first_run_numbers_in_id_order(spark):
    got = new_ids(_ids(spark, ["b", "a", "c", "a", None]), None, "user", D1)
    assert _as_dict(got) == {"a": 0, "b": 1, "c": 2}
    assert {(r.kind, r.first_seen) for r in got.collect()} == {("user", D1)}


def test_new_ids_are_appended_and_old_ones_keep_their_number(spark, cfg):
    first = new_ids(_ids(spark, ["b", "a", "c"]), None, "item", D1)
    warehouse(first.sparkSession, cfg).merge_upsert(first, "id_map", ["kind", "external_id"], update=False)
    existing = warehouse(spark, cfg).read("id_map").where("kind = 'item'")
    second = new_ids(_ids(spark, ["d", "b", "aa"]), existing, "item", D2)
    assert _as_dict(second) == {"aa": 3, "d": 4}
    counts = warehouse(second.sparkSession, cfg).merge_upsert(second, "id_map", ["kind", "external_id"], update=False)
    assert counts["inserted"] == 2
    full = warehouse(spark, cfg).read("id_map")
    assert _as_dict(full) == {"a": 0, "b": 1, "c": 2, "aa": 3, "d": 4}
    # a replay finds nothing new and changes nothing
    again = new_ids(_ids(spark, ["d", "b", "aa"]), full.where("kind = 'item'"), "item", D2)
    assert again.count() == 0


def test_ids_beyond_the_int_range_fail_clearly(spark):
    existing = spark.createDataFrame(
        [("user", "a", 2, D1)], "kind string, external_id string, idx int, first_seen date"
    )
    with pytest.raises(IdRangeError, match="beyond the 32-bit limit 3"):
        new_ids(_ids(spark, ["x", "y"]), existing, "user", D2, int_max=3)
