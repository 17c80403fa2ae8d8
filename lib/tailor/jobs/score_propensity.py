"""``tailor score-propensity``: silver ``orders``, ``events``, ``products``, ``customers`` + the model store
-> ``propensity_scores`` (run_date, model): every customer known on the run date, with each model's
probability and decile.

Features are computed as of the run date, exactly as in training (the purchase-timing ones with a BG/NBD fit
as of the run date), and each score is mapped by the calibrator kept with its model version. Each model of
``propensity.targets`` x ``propensity.algorithms`` is loaded at ``propensity.version`` when pinned, else at
the latest version trained on or before the run date. Deciles come from approxQuantile thresholds over all
customers scored (10 = the most likely).
"""

from __future__ import annotations

from datetime import date
from functools import reduce

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.config import Config, warehouse
from tailor.jobs.base import JobSummary
from tailor.jobs.train_propensity import timing
from tailor.propensity import labels as L
from tailor.propensity import model as M
from tailor.propensity import store

READS: frozenset[str] = frozenset({"orders", "events", "products", "customers", "model_versions"})
WRITES: frozenset[str] = frozenset({"propensity_scores"})


def run(spark: SparkSession, cfg: Config, run_date: date) -> JobSummary:
    wh = warehouse(spark, cfg)
    p = cfg.propensity
    orders, events, products, customers = (wh.read(n) for n in
                                           ("orders", "events", "products", "customers"))
    feats = L.features(orders, events, products, customers, run_date, p.horizon_days, cfg.features.trend_days,
                       timing(cfg)).persist(StorageLevel.MEMORY_AND_DISK)
    summary = JobSummary(tables=["propensity_scores"])
    held, names, outs = [], [], []
    try:
        summary.rows_in = feats.count()
        for target in p.targets:
            for algo in p.algorithms:
                name = f"{target}_{algo}"
                pinned = p.version.isoformat() if p.version else None
                fitted, version, meta = store.load(wh, name, run_date, pinned)
                scored = M.scored(fitted, feats, meta.get("calibrator")).select(S.USER_ID, M.SCORE).persist(
                    StorageLevel.MEMORY_AND_DISK)
                held.append(scored)
                names.append(name)
                outs.append(M.deciles(scored).select(S.USER_ID, F.lit(name).alias("model"),
                                                     F.lit(version).alias("version"), S.SCORE,
                                                     F.col(M.DECILE).cast("int").alias("decile")))
                summary.metrics[f"{name}.rows"] = summary.rows_in  # every customer: the models keep every row
                summary.metrics[f"{name}.version"] = float(version.replace("-", ""))
        # one commit for every model (each a partition): a Delta commit costs a snapshot rebuild, not rows
        summary.rows_out = wh.replace_partition(reduce(DataFrame.unionByName, outs), "propensity_scores",
                                                run_date, among={"model": names})
    finally:
        for df in held:
            df.unpersist()
        feats.unpersist()
    return summary
