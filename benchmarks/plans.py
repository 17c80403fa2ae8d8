"""Grouped plans against Spark's plans on the synthetic shop: the same results, and how much faster.

For the scale given (M by default): a fresh warehouse, ``tailor ingest``, then on the same inputs
- cosine + jaccard neighbours, item-item and user-user: grouped sparse products against the self-join;
- ALS top-N for every user: numpy against ``recommendForAllUsers``;
- popular and trending lists served to every user: numpy walk against the join.
Each pair is timed (persisted and counted, one after the other) and compared row by row.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

from benchmarks.common import machine_facts, write_results

ROOT = Path(__file__).resolve().parents[1]


def _timed(df):
    from pyspark import StorageLevel

    t = time.perf_counter()
    df = df.persist(StorageLevel.MEMORY_AND_DISK)
    n = df.count()
    return df, n, time.perf_counter() - t


def _compare(a, b, keys: list[str], value: str, exact: list[str]) -> dict:
    """Rows only in ``a`` or only in ``b`` by ``keys``; rows whose ``value`` differs by more than 1e-12
    relative (and the largest difference); rows whose ``exact`` columns differ."""
    from pyspark.sql import functions as F

    both = a.alias("a").join(b.alias("b"), keys, "full_outer")
    va, vb = F.col(f"a.{value}"), F.col(f"b.{value}")
    differ = F.lit(False)
    for c in exact:
        differ = differ | ~F.col(f"a.{c}").eqNullSafe(F.col(f"b.{c}"))
    r = both.agg(
        F.sum(F.when(vb.isNull(), 1).otherwise(0)).alias("only_grouped"),
        F.sum(F.when(va.isNull(), 1).otherwise(0)).alias("only_spark"),
        F.sum(F.when(F.abs(va - vb) > 1e-12 * F.abs(vb), 1).otherwise(0)).alias("value_differs"),
        F.max(F.abs(va - vb)).alias("max_value_diff"),
        F.sum(F.when(differ, 1).otherwise(0)).alias("other_differs"),
    ).first()
    return {k: (float(v) if v is not None else 0.0) for k, v in r.asDict().items()}


def main(scale: str, run_date: date) -> Path:
    from pyspark.sql import functions as F

    from tailor import schemas as S
    from tailor.config import load_config, warehouse
    from tailor.jobs import JOBS
    from tailor.jobs.base import execute
    from tailor.recommend import als as A
    from tailor.recommend import popularity as P
    from tailor.recommend.idmap import new_ids
    from tailor.similarity.interactions import WEIGHT, cap_per, interactions
    from tailor.similarity.pairs import similarities
    from tailor.spark import get_spark
    from tailor.wiring import TrainData, groups_of, popular_lists

    work = Path(tempfile.mkdtemp(prefix="tailor-plans-"))
    cfg = load_config([str(ROOT / "conf" / "local.yaml")],
                      [f"warehouse={work / 'wh'}", f"synthetic.scale={scale}", f"spark.jars_dir={ROOT / '.jars'}"])
    spark = get_spark(cfg)
    execute("ingest", JOBS["ingest"], spark, cfg, run_date)
    bound = cfg.plans.grouped_max_rows
    ic, sc = cfg.interactions, cfg.similarity
    events = warehouse(spark, cfg).read("events")
    rows = []

    def record(name: str, grouped, spark_plan, keys, value, exact):
        g, n_g, t_g = _timed(grouped)
        s, n_s, t_s = _timed(spark_plan)
        diff = _compare(g, s, keys, value, exact)
        rows.append({"name": name, "rows_grouped": n_g, "rows_spark": n_s, "grouped_s": round(t_g, 1),
                     "spark_s": round(t_s, 1), **diff})
        print(f"  {name:<24} grouped {t_g:6.1f} s  spark {t_s:6.1f} s  {diff}", flush=True)
        g.unpersist()
        s.unpersist()

    inter = interactions(events, ic.weights, run_date).persist()
    n = inter.count()
    for name, by, entity, cap in (("item-item similarity", S.USER_ID, S.ITEM_ID, ic.max_items_per_user),
                                  ("user-user similarity", S.ITEM_ID, S.USER_ID, ic.max_users_per_item)):
        df = inter.transform(cap_per(by, entity, cap)).persist()
        df.count()
        both = ["cosine", "jaccard"]
        record(name, similarities(df, by, entity, WEIGHT, both, sc.min_co_count, sc.shrinkage, sc.top_k,
                                  local_max_rows=bound, rows=n),
               similarities(df, by, entity, WEIGHT, both, sc.min_co_count, sc.shrinkage, sc.top_k, local_max_rows=0),
               [S.METHOD, S.ENTITY, S.NEIGHBOUR], S.SCORE, [S.CO_COUNT])
        df.unpersist()

    a = cfg.als
    aff = interactions(events, ic.weights, run_date, a.half_life_days).persist()
    users = new_ids(aff.select(F.col(S.USER_ID).alias(S.EXTERNAL_ID)), None, "user", run_date).persist()
    items = new_ids(aff.select(F.col(S.ITEM_ID).alias(S.EXTERNAL_ID)), None, "item", run_date).persist()
    data = A.indexed(aff, users, items, A.preference(a.value, a.implicit)).persist()
    model = A.fit(data, A.AlsParams(a.rank, a.reg_param, a.alpha), a.implicit, a.max_iter, cfg.seed,
                  a.checkpoint_interval, a.num_blocks)
    seen = data.select(A.USER_IDX, A.ITEM_IDX)
    fetch = min(A.fetch_size(seen, a.top_n, a.max_fetch), max(int(items.count()), 1))
    record("ALS top-N", A.recommend_idx(model, seen, a.top_n, fetch, a.block_size, local_max_rows=bound),
           A.recommend_idx(model, seen, a.top_n, fetch, a.block_size, local_max_rows=0),
           [A.USER_IDX, S.RANK], S.SCORE, [A.ITEM_IDX])

    groups = groups_of(warehouse(spark, cfg).read("customers"))
    everyone = inter.select(S.USER_ID).distinct().persist()
    d = TrainData(cfg, run_date, events, groups=groups, users=everyone)
    lists = popular_lists(d).persist()
    top = cfg.popularity.top_n
    popular = lists.where(F.col(P.SCOPE) != P.TRENDING)
    trending = lists.where(F.col(P.SCOPE) == P.TRENDING)
    record("popular serving", P.for_users(everyone, groups, popular, inter, top, bound),
           P.for_users(everyone, groups, popular, inter, top, 0), [S.USER_ID, S.RANK], S.SCORE, [S.ITEM_ID, S.ANCHOR])
    record("trending serving", P.trending_for_users(everyone, trending, inter, top, bound),
           P.trending_for_users(everyone, trending, inter, top, 0), [S.USER_ID, S.RANK], S.SCORE, [S.ITEM_ID])
    d.release()

    facts = machine_facts(spark)
    lines = [f"Scale {scale}, bound plans.grouped_max_rows = {bound:,}.", "",
             "| plan | rows | grouped s | Spark s | only grouped | only Spark | score differs > 1e-12 rel "
             "| max score diff | other columns differ |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['rows_grouped']:,} | {r['grouped_s']} | {r['spark_s']} | "
                     f"{r['only_grouped']:.0f} | {r['only_spark']:.0f} | {r['value_differs']:.0f} | "
                     f"{r['max_value_diff']:.2g} | {r['other_differs']:.0f} |")
    md = write_results("plans", {**facts, "scale": scale}, rows, "\n".join(lines))
    shutil.rmtree(work, ignore_errors=True)
    return md
