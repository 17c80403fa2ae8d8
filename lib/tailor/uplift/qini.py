"""The Qini curve and the area under the uplift curve, from an experiment's held-out customers.

Customers are ranked by a score (highest first) and cut at ``points`` score quantiles. At each cut, with the
treated and control customers above it (n_t, n_c) and their conversions (y_t, y_c),

    Q = (y_t − y_c · n_t / n_c) / N_t

is the incremental conversions had that top fraction been treated, per treated customer of the whole test
set (N_t); at the end it is the overall lift. The curve runs from (0, 0) through each cut's (fraction of
customers above it, Q). ``auuc`` is its area (trapezoids); random targeting is the straight line to the
end, of area Q(1)/2; the Qini coefficient is the difference: above 0, the score finds the persuadable first.
Every figure comes from one aggregation into ``points`` rows; nothing per customer reaches the driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from pyspark.sql import DataFrame
from pyspark.sql import functions as F


@dataclass(frozen=True)
class Qini:
    points: list[tuple[float, float]]
    """(fraction targeted, Q), from (0, 0) to (1, overall lift per treated customer)."""
    auuc: float
    random_auuc: float

    @property
    def coefficient(self) -> float:
        return self.auuc - self.random_auuc


def curve(df: DataFrame, score: str, treated: str = "treated", outcome: str = "y", points: int = 20) -> Qini:
    """The Qini curve of ``score`` over ``df`` (``treated`` boolean, ``outcome`` 0/1), cut at ``points``
    approxQuantile thresholds; a score tied across a cut stays on one side of it."""
    cuts = df.approxQuantile(score, [i / points for i in range(points - 1, 0, -1)], 0.0001)  # descending
    bucket = sum((F.when(F.col(score) <= F.lit(c), 1).otherwise(0) for c in cuts), F.lit(0))
    t = F.col(treated).cast("boolean")
    y = F.col(outcome).cast("double")
    rows = df.groupBy(bucket.alias("b")).agg(
        F.sum(t.cast("int")).alias("n_t"), F.sum(F.when(t, y).otherwise(0.0)).alias("y_t"),
        F.sum((~t).cast("int")).alias("n_c"), F.sum(F.when(~t, y).otherwise(0.0)).alias("y_c"),
    ).orderBy("b").collect()  # at most ``points`` rows
    total = sum(r["n_t"] + r["n_c"] for r in rows)
    n_t_all = sum(r["n_t"] for r in rows)
    if not total or not n_t_all:
        return Qini([(0.0, 0.0)], 0.0, 0.0)
    out, n_t, y_t, n_c, y_c, seen = [(0.0, 0.0)], 0, 0.0, 0, 0.0, 0
    for r in rows:
        n_t, y_t, n_c, y_c = n_t + r["n_t"], y_t + r["y_t"], n_c + r["n_c"], y_c + r["y_c"]
        seen += r["n_t"] + r["n_c"]
        q = (y_t - (y_c * n_t / n_c if n_c else 0.0)) / n_t_all
        out.append((seen / total, q))
    area = sum((x1 - x0) * (q0 + q1) / 2 for (x0, q0), (x1, q1) in pairwise(out))
    return Qini(out, area, out[-1][1] / 2)
