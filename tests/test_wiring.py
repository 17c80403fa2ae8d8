"""The one wiring: what ``tailor evaluate`` fits for a source is what the source's job serves, by construction."""

from __future__ import annotations

from datetime import date

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from conftest import SHOP_RUN_DATE
from tailor import schemas as S
from tailor import wiring as W
from tailor.config import warehouse

RUN = date.fromisoformat(SHOP_RUN_DATE)


def _lists(df, users):
    """The lists of ``users``: user, item, rank, score to 9 places."""
    return df.where(F.col(S.USER_ID).isin(users)).select(
        S.USER_ID, S.ITEM_ID, F.col(S.RANK).cast("int").alias(S.RANK), F.round(S.SCORE, 9).alias(S.SCORE))


@pytest.mark.parametrize("source", ["item_cf", "user_cf", "als"])
def test_evaluate_fits_what_the_job_serves(spark, shop, source):
    from tailor.jobs import JOBS
    from tailor.jobs.base import execute

    cfg = shop("als.max_iter=3", "als.rank=4")
    for job in (("als",) if source == "als" else ("similarity", "cf")):
        execute(job, JOBS[job], spark, cfg, RUN)
    served = warehouse(spark, cfg).read_run("candidate_recs", RUN).where(F.col(S.SOURCE) == source)
    users = sorted(r[0] for r in served.select(S.USER_ID).distinct().orderBy(S.USER_ID).limit(12).collect())
    assert len(users) == 12  # the job served someone: equal lists must not be two empty ones

    # evaluate's path: the same events as of the same date, the job's id map, no table of the job's output
    d = W.TrainData(cfg, RUN, warehouse(spark, cfg).read("events"), id_map=warehouse(spark, cfg).read("id_map")
                    if source == "als" else None)
    d.users = spark.createDataFrame([(u,) for u in users], f"{S.USER_ID} string")
    try:
        assert_df_equality(_lists(W.SOURCES[source](d), users), _lists(served, users), ignore_row_order=True,
                           ignore_nullable=True)
    finally:
        d.release()
