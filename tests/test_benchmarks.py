"""Each benchmark's entry point, run on a tiny MovieLens edition in the 1M format with ratings from 2003, so a
changed signature or a hard-coded date breaks a test rather than the next benchmark run. Results go to a
temporary folder; the benchmarks leave no temporary folder behind."""

import json
from datetime import datetime, timezone

import benchmarks.common as common
import pytest

GENRES = ["Comedy", "Drama", "Action|Thriller", "Children's|Animation"]


@pytest.fixture(scope="module")
def ml(tmp_path_factory):
    """30 users and 20 movies in ML-1M's format: each user rated 8 movies in 2003, later ones than 1998's
    ml-100k run date, in four taste groups so neighbours and factors have something to find."""
    d = tmp_path_factory.mktemp("ml-tiny")
    (d / "movies.dat").write_text("".join(f"{i}::Movie {i} (2000)::{GENRES[i % 4]}\n" for i in range(1, 21)),
                                  encoding="latin-1")
    (d / "users.dat").write_text("".join(f"{u}::{'MF'[u % 2]}::25::{u % 20}::0213{u % 10}\n" for u in range(1, 31)))
    lines = []
    for u in range(1, 31):
        for j in range(8):
            item = 1 + (u % 4) * 5 + (j * 3 + u) % 5 if j < 5 else 1 + (u * 7 + j) % 20
            ts = int(datetime(2003, 1, 1 + j, 10, u, tzinfo=timezone.utc).timestamp())
            lines.append(f"{u}::{item}::{1 + (u + j) % 5}::{ts}\n")
    (d / "ratings.dat").write_text("".join(dict.fromkeys(lines)))  # a repeated (user, item, time) only once
    return d


@pytest.fixture(scope="module")
def ingested(spark, ml):
    """The tiny edition through movielens(): ingested once for the entry points below (each benchmark's main()
    is ``with movielens(data) as ml: return _run(ml, ...)``)."""
    with common.movielens(str(ml), "tailor-t-") as m:
        yield m


@pytest.fixture
def results(tmp_path, monkeypatch):
    monkeypatch.setattr(common, "RESULTS", tmp_path / "results")
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    yield tmp_path / "results"
    assert not list((tmp_path / "tmp").glob("tailor-*")), "a benchmark left its temporary folder behind"


def _facts(results, suite):
    return json.loads((results / f"{suite}.json").read_text())


def test_movielens_takes_its_dates_and_label_from_the_data(ml, ingested):
    m = ingested
    # every rating is accepted (none is "in the future" of a 1998 run date: movielens() fails if one is
    # quarantined), and as-of is the day after the last rating
    assert (m.label, m.count, str(m.as_of), m.published) == (ml.name, 240, "2003-01-09", False)
    assert m.warehouse.name.startswith("tailor-t-") and m.warehouse.exists()
    users, items = common.movielens_pairs(str(ml))
    assert len(users) == m.count and users.max() == 29 and items.max() < 20


def test_ml100k_entry_point(ml, ingested, results):
    from benchmarks import ml100k

    one = ("item", "cosine", 50, 1, 0.0, 30.0)
    md = ml100k._run(ingested, 10, 42, [one], [("user", "cosine", 30, 1, 0.0, None)],
                     {"item-CF defaults": ("item", None, 50, 2, 10.0, 30.0)}, True)
    assert md.name == f"cf-{ml.name}.md"
    text = md.read_text()
    assert f"recommender ({ml.name})" in text and "published SAR" not in text and "| user-user |" in text
    assert _facts(results, f"cf-{ml.name}")["machine"]["data"] == ml.name
    assert len(_facts(results, f"cf-{ml.name}")["results"]) == 3  # chosen item, chosen user, one fixed


def test_als100k_entry_point(ml, ingested, results):
    from benchmarks import als100k

    md = als100k._run(ingested, 10, 42, 2, ([4], [0.1], [1.0]))
    got = _facts(results, f"als-{ml.name}")
    assert md.exists() and got["machine"]["data"] == ml.name and len(got["results"]) == 2
    assert all(0.0 <= r["ndcg"] <= 1.0 for r in got["results"])


def test_hybrid100k_entry_point(ml, ingested, results):
    from benchmarks import hybrid100k

    hybrid100k._run(ingested, 10, 42, ["als.rank=4", "als.max_iter=2"])
    got = _facts(results, f"hybrid-{ml.name}")
    assert {"hybrid", "als", "item_cf", "user_cf"} <= {r["recommender"] for r in got["results"]}


def test_caps_entry_point(ml, ingested, results):
    from benchmarks import caps

    caps._run(ingested, (2,), 10)
    rows = {r["name"]: r["extra"] for r in _facts(results, f"caps-{ingested.label}")["results"]}
    assert rows["no cap"]["kept_share"] == 1.0
    # 20 movies: a cap of 2 users each keeps at most 40 of the ~180 training rows, whichever 2 it keeps
    fixed = rows["fixed 2, most recent"]["kept_share"]
    assert fixed == rows["fixed 2, seeded sample"]["kept_share"] < 0.25
    scaled = next(v for k, v in rows.items() if k.startswith("scaled from 2"))
    assert scaled["kept_share"] >= 0.75 and scaled["cap"] in (4, 8, 16, 32)


def test_jobs_entry_point_runs_the_pipeline_as_tailor_pipeline_does(spark, results, tmp_path):
    from datetime import date

    from benchmarks import jobs

    from conftest import SHOP

    # uplift has no recorded experiment to learn from: not applicable, a row all the same
    md = jobs.main(["S"], ["ingest", "features", "similarity", "uplift"], date(2026, 11, 23),
                   [*SHOP, "spark.shuffle_partitions=2", "pipeline.parallelism=2"], keep=tmp_path / "kept")
    facts = _facts(results, "jobs")
    assert md.exists() and facts["machine"]["parallelism"] == 2
    rows = {r["name"]: r for r in facts["results"]}
    assert list(rows) == ["S ingest", "S features", "S similarity", "S uplift", "S end-to-end"]
    assert [rows[f"S {k}"]["extra"]["status"] for k in ("ingest", "similarity", "uplift")] == [
        "succeeded", "succeeded", "not_applicable"]
    assert "| S | uplift (not applicable) |" in md.read_text()
    # --keep: the warehouse is built where it is kept (its tables hold its paths), not moved there afterwards
    kept = tmp_path / "kept" / "warehouse-S"
    assert (kept / "ops" / "runs" / "_delta_log").is_dir() and (kept / "silver" / "events").is_dir()
    # each job's seconds come from its runs row; features and similarity may overlap, so the end-to-end time
    # is at least ingest plus the longer of the two
    each = {k: rows[f"S {k}"]["seconds"] for k in ("ingest", "features", "similarity")}
    assert all(v > 0 for v in each.values()) and rows["S ingest"]["extra"]["rows_out"] > 0
    assert rows["S end-to-end"]["seconds"] >= each["ingest"] + max(each["features"], each["similarity"])
    assert rows["S end-to-end"]["jvm_peak_mb"] is None or rows["S end-to-end"]["jvm_peak_mb"] > 0


def test_delta_costs_entry_point(spark, results):
    from benchmarks import delta_costs

    delta_costs.main(repeats=1)
    jobs = {r["operation"]: r["spark_jobs"] for r in _facts(results, "delta_costs")["results"]}
    assert jobs["blind append (Warehouse.append)"] == [1]  # the write alone
    assert jobs["idempotent append (txnAppId, a new version)"][0] > 1  # the snapshot state first


def test_evaluations_entry_point(spark, results):
    from benchmarks import evaluations

    tiny = ["synthetic.users=40", "synthetic.items=20", "synthetic.days=60", "evaluation.k=[5]",
            "evaluation.search_k=5", 'evaluation.sources=["popular"]', "popularity.min_group_users=1",
            "hybrid.weight_grid=[1.0]", "hybrid.search_rounds=1"]
    md = evaluations.main(["S"], "", tiny, k=5)
    got = _facts(results, "evaluations")["results"]
    assert [r["target"] for r in got] == ["S"] and got[0]["evaluate_s"] > 0
    assert {"hybrid", "popular"} <= {r["recommender"] for r in got[0]["rows"]}
    assert "## S" in md.read_text()


def test_als_speed_spark_worker(spark, ml, results, tmp_path):
    from benchmarks import als_speed

    pairs = common.movielens_pairs(str(ml))
    als_speed._write(pairs, tmp_path / "p.parquet")
    als_speed.spark_worker(str(tmp_path / "p.parquet"), str(tmp_path / "out.json"), iters=2)
    got = json.loads((tmp_path / "out.json").read_text())
    assert got["rows"] == len(pairs[0]) and got["fit_s"] > 0 and "s_per_iter" in got
    prof = got["profile"]  # the timed fit's own stages only: two iterations, not the warm-up's one
    assert prof["jobs"] > 0 and prof["tasks"] >= prof["stages"] > 0 and 0 < prof["cpu_ms"] <= prof["run_ms"] * 1.05
    assert prof["shuffle_write_bytes"] > 0 and len(prof["stages_by_run_ms"]) <= 5


def test_the_crossover_scales_baskets_and_customers_keeping_their_shape(tmp_path):
    import numpy as np
    import pyarrow.parquet as pq
    from benchmarks.crossover import scale_sets, write_baskets

    baskets = [["a", "b"], ["b", "c", "d"], ["a"], ["c", "d"]]
    pairs = (np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 0, 2, 3]))
    (ids, items), (users, its) = scale_sets(baskets, pairs, 4)
    again = scale_sets(baskets, pairs, 4)
    assert np.array_equal(ids, again[0][0]) and np.array_equal(items, again[0][1])  # seeded
    n = write_baskets(ids, items, tmp_path / "b.parquet")
    rows = pq.read_table(tmp_path / "b.parquet").to_pylist()
    assert n == len(rows) == 16  # 4 × 4 baskets, none emptied by the swaps
    assert all(r["items"] == sorted(set(r["items"])) and 1 <= len(r["items"]) <= 3 for r in rows)
    assert len(set(users.tolist())) == 12 and set(its.tolist()) <= {0, 1, 2, 3}  # 4 × 3 customers


def test_the_crossover_mines_its_baskets_as_the_rules_job_does(spark, tmp_path):
    import numpy as np
    from benchmarks.crossover import tailor_rules, write_baskets

    from tailor.config import load_config

    # baskets {a, b}, {a, b}, {a}; support 0.5 of 3 needs 2 baskets: a (3), b (2), ab (2); rules at confidence
    # 0.5: a -> b (2/3) and b -> a (1)
    write_baskets(np.array([0, 0, 1, 1, 2]), np.array(["a", "b", "a", "b", "a"]), tmp_path / "b.parquet")
    got = tailor_rules(spark, load_config([], [f"warehouse={tmp_path / 'wh'}"]), tmp_path / "b.parquet", 0.5)
    assert (got["itemsets"], got["rules"], got["by_size"]) == (3, 2, {1: 2, 2: 1})


def test_hostile_entry_point(spark, results):
    """The hostile-input trial's cheapest cases (each is a tailor command refused before Spark starts): its
    table has one row per case, and a run date out of range is handled with no trace."""
    from benchmarks import hostile

    got = hostile.main(["run-dates"])
    assert [o.case for o in got] == [f"run-date {d}" for d in hostile.RUN_DATES]
    assert all(o.handled and o.traces == 0 for o in got), [o.detail for o in got]
    table = (results / "hostile.md").read_text()
    assert table.count("| 8 edges | run-date ") == len(hostile.RUN_DATES)
    assert f"{len(hostile.RUN_DATES)} of {len(hostile.RUN_DATES)} handled" in table


def test_spark_jobs_counts_the_spark_jobs_of_each_job_by_its_group(spark):
    from benchmarks.spark_jobs import count_by_job

    before, tasks_before = count_by_job(spark)
    sc = spark.sparkContext
    sc.setJobGroup("tailor-unit-probe-0123abcd", "probe")  # as execute names a job's group
    try:
        sc.parallelize([1, 2, 3], 2).count()  # one Spark job, two tasks
        sc.parallelize([4], 1).collect()      # one job, one task
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
    sc.parallelize([5], 1).count()  # outside a job: not counted for it
    jobs, tasks = count_by_job(spark)
    assert jobs["unit-probe"] - before["unit-probe"] == 2
    assert tasks["unit-probe"] - tasks_before["unit-probe"] == 3
