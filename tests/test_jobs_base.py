"""What every job shares (tailor.jobs.base): the progress lines a long job logs while it runs."""

import logging

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
