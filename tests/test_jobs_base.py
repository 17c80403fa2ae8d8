"""What every job shares (tailor.jobs.base): the progress lines a long job logs while it runs."""

import logging
from types import SimpleNamespace

import pandas as pd

from tailor.jobs import base


def test_progress_lines_name_the_stage_its_tasks_and_the_rows_read(spark, caplog):
    def slow(batches):
        import time

        for b in batches:
            time.sleep(0.4)
            yield pd.DataFrame({"id": b["id"]})

    caplog.set_level(logging.INFO, logger="tailor")
    with base._Progress(spark, every_s=0.3):
        n = spark.range(0, 12, numPartitions=6).mapInPandas(slow, "id long").count()
    assert n == 12
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("job running for")]
    assert lines, "no progress line while the job ran"
    # e.g. "job running for 1s: stage 3 (count) 2/6 tasks, 4 rows read": each finished task read 2 of range's rows
    assert any("/6 tasks" in m for m in lines)
    assert any(m.endswith("rows read") and ", 0 rows read" not in m for m in lines)


def test_progress_names_only_its_groups_stages_and_does_not_walk_its_finished_jobs(spark, caplog, monkeypatch):
    """Another thread's job (5 tasks) runs while this group's (6 tasks) waits for cores: only the group's stage
    is named. And a line looks at the group's active jobs only, not at every job it has finished."""
    import threading
    import time

    from pyspark.status import StatusTracker

    def slow(batches):
        for b in batches:
            time.sleep(0.4)
            yield pd.DataFrame({"id": b["id"]})

    sc = spark.sparkContext

    def other():
        sc.setJobGroup("someone-else", "another job in this driver")
        spark.range(0, 10, numPartitions=5).mapInPandas(slow, "id long").count()

    caplog.set_level(logging.INFO, logger="tailor")
    sc.setJobGroup("progress-test", "this job")
    try:
        for _ in range(12):  # finished jobs of the group
            spark.range(3).count()
        # the status store learns that a job ended from the listener bus, after count() returns: wait for it,
        # or a loaded machine still sees the last job as active (seen once in make test)
        sc._jsc.sc().listenerBus().waitUntilEmpty()
        looked_up = []
        real = StatusTracker.getJobInfo
        monkeypatch.setattr(StatusTracker, "getJobInfo", lambda self, jid: looked_up.append(jid) or real(self, jid))
        assert base._Progress(spark, group="progress-test").stages() == "" and looked_up == []
        t = threading.Thread(target=other)
        t.start()
        time.sleep(0.5)  # the other job holds the cores first
        with base._Progress(spark, every_s=0.3, group="progress-test"):
            n = spark.range(0, 12, numPartitions=6).mapInPandas(slow, "id long").count()
        t.join()
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
    assert n == 12
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("job running for")]
    assert any("/6 tasks" in m for m in lines), lines
    assert not any("/5 tasks" in m for m in lines), lines


def _failing_job(query):
    return SimpleNamespace(call=lambda spark, cfg, run_date, args: spark.sql(query).collect())


def test_a_value_that_breaks_a_query_is_named_as_such_not_as_spark_ml(spark, tmp_path):
    """Under ANSI, a malformed cast is a NumberFormatException, which PySpark makes an IllegalArgumentException
    like Spark ML's require(): it must not be reported as Spark ML refusing its input."""
    from datetime import date

    import pytest

    from conftest import make_cfg
    from tailor.config import warehouse
    from tailor.errors import DataValueError, SparkInputError

    cfg = make_cfg(tmp_path / "w")
    with pytest.raises(DataValueError) as e:
        base.execute("campaign", _failing_job("SELECT cast('high value' AS int)"), spark, cfg, date(2026, 11, 23))
    assert "CAST_INVALID_INPUT" in str(e.value) and "try_cast" in str(e.value) and "Spark ML" not in str(e.value)
    with pytest.raises(DataValueError) as e:
        base.execute("campaign", _failing_job("SELECT 1 / 0"), spark, cfg, date(2026, 11, 23))
    assert "DIVIDE_BY_ZERO" in str(e.value) and "try_divide" in str(e.value)
    require = SimpleNamespace(call=lambda spark, *_: spark.range(3).sample(fraction=-1.0).count())
    with pytest.raises(SparkInputError):  # a require() without a condition is still Spark ML's refusal
        base.execute("segments", require, spark, cfg, date(2026, 11, 23))
    errors = [r.error for r in warehouse(spark, cfg).read("runs").orderBy("started_at").collect()]
    assert [x.split(":")[0] for x in errors] == ["DataValueError", "DataValueError", "SparkInputError"]


def test_a_jobs_spark_jobs_run_in_its_own_group_which_is_cleared_after_it(spark, tmp_path):
    from datetime import date

    from conftest import make_cfg
    from tailor.jobs.base import JobSummary

    groups = []

    def run(spark, cfg, run_date, args):
        spark.sparkContext.parallelize([1, 2], 1).count()  # one Spark job, inside the job
        groups.append(spark.sparkContext.getLocalProperty("spark.jobGroup.id"))
        return JobSummary()

    base.execute("report", SimpleNamespace(call=run), spark, make_cfg(tmp_path / "w"), date(2026, 11, 23))
    (group,) = groups
    assert group.startswith("tailor-report-") and len(group) == len("tailor-report-") + 16  # the run id
    assert len(spark.sparkContext.statusTracker().getJobIdsForGroup(group)) >= 1  # the count, the runs row
    assert spark.sparkContext.getLocalProperty("spark.jobGroup.id") is None  # later work is in no job's group
