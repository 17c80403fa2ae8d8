"""The one wiring: what ``tailor evaluate`` fits for a source is what the source's job serves, by construction."""

from __future__ import annotations

from datetime import date

import pytest
from pyspark.sql import functions as F

from conftest import SHOP_RUN_DATE
from tailor import schemas as S
from tailor import wiring as W
from tailor.config import warehouse

RUN = date.fromisoformat(SHOP_RUN_DATE)


def _lists(df, users):
    """user -> [(item, rank, score to 9 places)] for ``users``."""
    rows = df.where(F.col(S.USER_ID).isin(users)).select(S.USER_ID, S.ITEM_ID, S.RANK, S.SCORE).collect()
    out: dict[str, list] = {}
    for r in sorted(rows, key=lambda r: (r[S.USER_ID], r[S.RANK])):
        out.setdefault(r[S.USER_ID], []).append((r[S.ITEM_ID], r[S.RANK], round(r[S.SCORE], 9)))
    return out


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
        fitted = _lists(W.SOURCES[source](d), users)
    finally:
        d.release()
    assert fitted == _lists(served, users)
