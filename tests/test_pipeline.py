"""The pipeline's one dependency definition, the runner's selection, and what a failed job does to the rest."""

from __future__ import annotations

from datetime import date

import pytest

from conftest import ROOT, make_cfg
from tailor import pipeline, tables
from tailor.cli import main
from tailor.config import warehouse
from tailor.errors import ConfigError
from tailor.jobs import JOBS

RUN = date(2026, 11, 23)


EXPECTED_NEEDS = {  # worked out by hand from each job's READS/SOFT_READS and the others' WRITES
    "ingest": (),
    "features": ("ingest",),                      # orders, events, products, customers
    "segments": ("features",),                    # user_features
    "clv": ("ingest",),                           # orders
    "similarity": ("ingest",),
    "content": ("ingest",),
    "cf": ("ingest", "similarity", "content"),    # item_similarity: similarity and content (tfidf) write it
    "als": ("ingest",),
    "popularity": ("ingest", "segments"),         # user_segments is soft
    "rules": ("ingest",),
    "train-propensity": ("ingest",),
    "score-propensity": ("ingest", "train-propensity"),
    "evaluate": ("ingest", "als"),                 # id_map (soft): ALS numbers ids as the job does
    # candidate_recs from five sources; tuning_results (soft) from als, train-propensity and evaluate
    "recommend": ("ingest", "content", "cf", "als", "popularity", "rules", "train-propensity", "evaluate"),
    "uplift": ("ingest",),  # contact_history is HISTORY: it learns from experiments recorded on earlier days
    # contact_history is HISTORY (earlier days' sends), so record-sends does not come first
    "campaign": ("ingest", "features", "segments", "clv", "score-propensity", "recommend", "uplift"),  # soft: value,
    # uplift_scores
    "record-sends": ("ingest", "campaign"),
    "analyze-experiment": ("ingest", "record-sends"),
    "report": ("ingest", "segments", "clv", "rules", "train-propensity", "evaluate", "uplift", "campaign",
               "record-sends", "analyze-experiment"),  # model_metrics: clv, train-propensity and uplift write it
}


def test_the_graph_is_derived_from_what_the_jobs_read_and_write():
    assert pipeline.needs() == EXPECTED_NEEDS
    assert set(JOBS) - set(pipeline.needs()) == {"stream"}          # a long-running query, scheduled apart
    assert pipeline.writers("candidate_recs") == ["content", "cf", "als", "popularity", "rules"]


def test_the_declarations_the_dag_reads_without_spark_are_the_jobs_own():
    static = pipeline.declarations()
    assert list(static) == [j for j in JOBS]
    for name, job in JOBS.items():
        d = static[name]
        assert (d.reads, d.writes, dict(d.soft_reads), d.history, d.daily) == (
            job.reads, job.writes, dict(job.soft_reads), job.history, job.daily), name
    assert pipeline.needs(JOBS) == pipeline.needs()


def test_every_job_runs_after_what_it_needs():
    graph = pipeline.needs()
    done = pipeline.order()
    assert set(done) == set(graph)
    for job, needs in graph.items():
        assert all(done.index(n) < done.index(job) for n in needs), job
    # the demo runs JOBS in registry order: that order must be a valid run order too
    registry = [j for j in JOBS if j in graph]
    for job in registry:
        assert all(registry.index(n) < registry.index(job) for n in graph[job]), job


def test_a_job_is_skipped_only_when_every_writer_of_a_table_it_cannot_do_without_failed():
    every = pipeline.select()
    assert pipeline.blocked_by("segments", every, {"features"}) == ["user_features (features did not succeed)"]
    # user_segments is a soft read of popularity and campaign: they run on their fallbacks
    assert pipeline.blocked_by("popularity", every, {"segments"}) == []
    assert pipeline.blocked_by("campaign", every, {"segments", "score-propensity"}) == []
    # recommend runs while any source of candidates succeeded, and on equal weights without evaluate
    assert pipeline.blocked_by("recommend", every, {"cf", "als", "rules", "evaluate"}) == []
    assert pipeline.blocked_by("recommend", every, {"content", "cf", "als", "popularity", "rules"}) == [
        "candidate_recs (content, cf, als, popularity, rules did not succeed)"]
    # a writer that is not part of this run blocks nothing: the table may be there from an earlier run
    assert pipeline.blocked_by("cf", ["cf"], {"similarity"}) == []


def test_a_job_whose_hard_inputs_no_applicable_job_wrote_is_not_applicable_with_the_chain_of_reasons():
    every = pipeline.select()
    na = {"content": "one product", "cf": "no pairs", "als": "no items", "popularity": "none", "rules": "no baskets"}
    assert pipeline.blocked_by("recommend", every, set(), pipeline_jobs(), na) == [
        "candidate_recs (content was not applicable: one product; cf was not applicable: no pairs; als was not "
        "applicable: no items; popularity was not applicable: none; rules was not applicable: no baskets)"]
    # one writer failed, the others were not applicable: the failure is what the user must see
    assert pipeline.blocked_by("recommend", every, {"cf"}, pipeline_jobs(), {k: v for k, v in na.items()
                                                                             if k != "cf"}) == [
        "candidate_recs (cf did not succeed)"]
    # one applicable writer is enough
    assert pipeline.blocked_by("recommend", every, set(), pipeline_jobs(), {"content": "one product"}) == []


def pipeline_jobs():
    from tailor.jobs import JOBS

    return JOBS


def test_a_job_that_touches_a_table_it_does_not_declare_fails():
    from tailor.errors import UndeclaredTableError

    cfg = make_cfg(ROOT / "no-such-warehouse")
    with tables.declared("cf", {"events"}, {"candidate_recs"}):
        with pytest.raises(UndeclaredTableError, match="job cf reads table 'orders' but does not declare it"):
            warehouse(None, cfg).read("orders")
        with pytest.raises(UndeclaredTableError, match="writes table 'events' but does not declare it in its WRITES"):
            warehouse(None, cfg).delete_where("events", None)
        assert warehouse(None, cfg).path("candidate_recs").endswith("/gold/candidate_recs")  # its own output: allowed
    assert warehouse(None, cfg).path("orders")  # outside a job: no declarations to check


def test_help_prints_what_a_job_reads_and_writes(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["cf", "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert "reads:      events, item_similarity, user_similarity" in out
    assert "writes:     candidate_recs" in out
    with pytest.raises(SystemExit):
        main(["campaign", "--help"])
    out = capsys.readouterr().out
    assert "reads if present: propensity_scores (else: campaigns whose rule uses a score are skipped with the " \
           "reason)" in out
    assert "reads earlier dates of: contact_history" in out


def test_from_runs_the_job_and_everything_downstream():
    assert pipeline.select("similarity") == ["similarity", "cf", "recommend", "campaign", "record-sends",
                                             "analyze-experiment", "report"]
    assert pipeline.select("train-propensity") == ["train-propensity", "score-propensity", "recommend",
                                                   "campaign", "record-sends", "analyze-experiment", "report"]
    assert pipeline.select(only=["rules", "ingest"]) == ["ingest", "rules"]
    assert pipeline.select(available=["ingest", "features", "cf"]) == ["ingest", "features", "cf"]
    assert pipeline.select()[0] == "ingest" and len(pipeline.select()) == len(pipeline.needs())


def test_bad_selections_are_config_errors():
    with pytest.raises(ConfigError, match=r"unknown pipeline job\(s\) 'similarty' \(did you mean 'similarity'\?\)"):
        pipeline.select("similarty")
    with pytest.raises(ConfigError, match="not both"):
        pipeline.select("cf", only=["als"])


def test_order_rejects_cycles_and_unknown_needs():
    with pytest.raises(ValueError, match="cycle"):
        pipeline.order({"a": ("b",), "b": ("a",), "c": ()})
    with pytest.raises(ValueError, match="unknown"):
        pipeline.order({"a": ("z",)})
    assert pipeline.order({"c": ("a", "b"), "b": (), "a": ("b",)}) == ["b", "a", "c"]


def test_a_failed_job_stops_its_dependents_and_the_runs_table_keeps_the_exit_codes(spark, tmp_path, capsys):
    wh = tmp_path / "wh"
    common = ["--conf", str(ROOT / "conf" / "local.yaml"), "--set", f"warehouse={wh}",
              "--set", "spark.shuffle_partitions=2", "--run-date", RUN.isoformat()]
    # ingest without its pseudonym key is a configuration error (exit 2), found before Spark starts: no job
    # runs, and nothing is recorded
    code = main(["pipeline", "--only", "ingest,features", *common, "--set", "privacy.key_env=TAILOR_NO_SUCH_KEY"])
    assert code == 2 and "TAILOR_NO_SUCH_KEY" in capsys.readouterr().err
    assert not wh.exists()
    # on an empty warehouse features and similarity fail (exit 1); segments needs features and is skipped;
    # similarity does not need features, so it still ran
    code = main(["pipeline", "--only", "features", "--only", "segments,similarity", *common])
    assert code == 1
    out = capsys.readouterr().out
    assert "pipeline: features failed: MissingTableError" in out and "pipeline failed" in out

    # by job: features and similarity run at once (pipeline.parallelism), so either may start first
    runs = warehouse(spark, make_cfg(wh)).read("runs").orderBy("job")
    got = [(r.job, r.status, r.exit_code) for r in runs.collect()]
    assert got == [("features", "failed", 1), ("segments", "skipped", None), ("similarity", "failed", 1)]
    rows = runs.collect()
    assert rows[1].error == "not run: it reads user_features (features did not succeed)"
    assert rows[0].error.startswith("MissingTableError: ") and "\n" not in rows[0].error
    assert len({r.pipeline_run_id for r in rows}) == 1


def test_the_demo_steps_wait_for_earlier_writers_of_what_they_read_for_earlier_dates_too():
    steps = ["ingest", "features", "record-sends", "uplift", "campaign", "record-sends", "analyze-experiment"]
    assert pipeline.step_needs(steps, JOBS, history=True) == [
        (),
        (0,),            # features: ingest's tables
        (0,),            # record-sends (the planted export): customers (soft)
        (0, 2),          # uplift: contact_history for earlier dates, which the planted export writes
        (0, 1, 2, 3),    # campaign: user_features, contact_history (history), uplift_scores
        (0, 4),          # record-sends: campaign_audiences
        (0, 2, 5),       # analyze-experiment: contact_history from both record-sends
    ]
    # without history, uplift does not wait for the planted sends
    assert pipeline.step_needs(steps, JOBS)[3] == (0,)


def test_steps_run_at_once_only_after_what_they_need():
    import threading
    import time

    started, log = {}, []
    both = threading.Barrier(2, timeout=10)

    def do(i):
        started[i] = time.perf_counter()
        if i in (1, 2):
            both.wait()  # 1 and 2 need only 0: they must be running at the same time, or this times out
        log.append(i)

    pipeline.run_steps([(), (0,), (0,), (1, 2)], do, parallelism=2)
    assert log[0] == 0 and sorted(log[1:3]) == [1, 2] and log[3] == 3
    assert not both.broken


def test_the_step_with_the_longest_chain_waiting_on_it_starts_first():
    import threading

    started = []
    lock = threading.Lock()
    first_two = threading.Barrier(2, timeout=10)

    def do(i):
        with lock:
            started.append(i)
        if i in (0, 2):
            first_two.wait()  # neither finishes before the other has started: 1 cannot slip in between

    # 0, 1 and 2 are ready at once; 3 and 4 wait on 2 (a chain of 3), nothing waits on 0 or 1
    pipeline.run_steps([(), (), (), (2,), (3,)], do, parallelism=2)
    assert set(started[:2]) == {2, 0}  # 2 first, then 0 before 1 (order among equals)
    assert started.index(3) > started.index(2) and started.index(4) > started.index(3)


def test_steps_run_in_order_one_at_a_time_with_parallelism_1():
    import threading

    log = []
    pipeline.run_steps([(), (), (1,), ()], lambda i: log.append((i, threading.current_thread().name)), 1)
    assert log == [(i, threading.current_thread().name) for i in range(4)]


def test_the_first_failure_stops_new_steps_and_is_raised_after_the_running_ones_finish():
    import threading

    release, log = threading.Event(), []

    def do(i):
        if i == 0:
            release.wait(10)  # still running when 1 fails
            log.append("0 finished")
        elif i == 1:
            release.set()
            raise RuntimeError("step 1 broke")
        else:
            log.append(f"{i} ran")

    with pytest.raises(RuntimeError, match="step 1 broke"):
        pipeline.run_steps([(), (), (1,), ()], do, parallelism=2)
    assert log == ["0 finished"]  # 2 needs the failed step, 3 would have been started after the failure


def test_steps_log_with_the_context_of_the_run_that_started_them():
    from tailor import log as tlog

    seen = []
    token = tlog.bind(pipeline_run_id="p1")
    try:
        pipeline.run_steps([(), ()], lambda i: seen.append(tlog.current().get("pipeline_run_id")), 2)
    finally:
        tlog.reset(token)
    assert seen == ["p1", "p1"]


def test_a_job_session_has_the_settings_of_the_run_and_keeps_its_own_to_itself(spark):
    from tailor.spark import session_for_job

    spark.conf.set("spark.sql.shuffle.partitions", "3")  # as a second get_spark in one process sets it
    try:
        own = session_for_job(spark)
        assert own.sparkContext is spark.sparkContext
        assert own.conf.get("spark.sql.shuffle.partitions") == "3"
        own.conf.set("spark.databricks.delta.write.txnAppId", "stream-app")  # stream sets it during a batch
        assert spark.conf.get("spark.databricks.delta.write.txnAppId", None) is None
    finally:
        spark.conf.set("spark.sql.shuffle.partitions", "2")


def test_an_unknown_job_is_a_usage_error_before_anything_runs(tmp_path, capsys):
    wh = tmp_path / "wh"
    code = main(["pipeline", "--from", "similarty", "--set", f"warehouse={wh}", "--run-date", RUN.isoformat()])
    assert code == 2
    assert "unknown pipeline job(s) 'similarty' (did you mean 'similarity'?)" in capsys.readouterr().err
    assert not wh.exists()
