"""User-item interactions: events weighted by type, aggregated per (user, item), capped per entity.

Weights come from config (``interactions.weights``); a rating event weighs ``weights['rating'] * rating``.
Returns and unknown event types weigh nothing and are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from tailor import schemas as S
from tailor.asof import before_cutoff, cutoff

WEIGHT, LAST_TS, AFFINITY = "weight", "last_ts", "affinity"


def event_weight(weights: Mapping[str, float]) -> Column:
    """The weight of one event: its type's weight, times the rating for rating events."""
    etype = F.col(S.EVENT_TYPE)
    w = F.lit(None).cast("double")
    for t, v in weights.items():
        value = F.lit(float(v)) * (F.coalesce(F.col(S.RATING), F.lit(1.0)) if t == S.RATING_EVENT else F.lit(1.0))
        w = F.when(etype == t, value).otherwise(w)
    return w


def decay(ts: Column, as_of: date, half_life_days: float | None) -> Column:
    """``2 ** (-age / half_life)`` with age in days before the end of ``as_of``; 1 without a half-life."""
    if not half_life_days:
        return F.lit(1.0)
    age_days = (F.lit(cutoff(as_of)).cast("long") - ts.cast("long")) / 86400.0
    return F.pow(F.lit(2.0), -F.greatest(age_days, F.lit(0.0)) / F.lit(float(half_life_days)))


def interactions(
    events: DataFrame, weights: Mapping[str, float], as_of: date, half_life_days: float | None = None
) -> DataFrame:
    """One row per (user, item) with events at or before ``as_of``.

    Returns:
        ``user_id``, ``item_id``, ``weight`` (summed event weights), ``affinity`` (the same sum with each
        event decayed by its age, SAR-style), ``rating`` (the latest rating, null without one) and
        ``last_ts``.
    """
    w = event_weight(weights)
    ev = events.where(before_cutoff(as_of)).withColumn("_w", w).where(F.col("_w") > 0)
    return ev.groupBy(S.USER_ID, S.ITEM_ID).agg(
        F.sum("_w").alias(WEIGHT),
        F.sum(F.col("_w") * decay(F.col(S.TS), as_of, half_life_days)).alias(AFFINITY),
        F.max_by(F.col(S.RATING), F.when(F.col(S.RATING).isNotNull(), F.col(S.TS))).alias(S.RATING),
        F.max(S.TS).alias(LAST_TS),
    )


def cap_per(per: str, other: str, n: int, ts: str = LAST_TS) -> Callable[[DataFrame], DataFrame]:
    """Keep each ``per`` value's ``n`` most recent rows (ties broken by ``other``), so that one heavy user
    or one blockbuster item cannot blow up a self-join: a user with n items makes at most n*(n-1)/2 pairs."""

    def _(df: DataFrame) -> DataFrame:
        w = Window.partitionBy(per).orderBy(F.desc(ts), F.asc(other))
        return df.withColumn("_r", F.row_number().over(w)).where(F.col("_r") <= n).drop("_r")

    return _


@dataclass(frozen=True)
class Cap:
    """The cap :func:`choose_cap` picked for ``per``'s baskets, and what it leaves."""

    cap: int
    rows: int
    """Interactions before capping."""
    kept: int
    """Interactions the cap keeps."""
    pairs: int
    """Pairs the capped baskets make (each basket of n makes n(n-1)/2): the self-join's size."""

    @property
    def capped_out(self) -> int:
        return self.rows - self.kept


DOUBLINGS = 12
"""How far :func:`choose_cap` may raise a cap: up to ``floor`` x 2**DOUBLINGS."""


def choose_cap(df: DataFrame, per: str, floor: int, keep_share: float, max_pairs: int) -> Cap:
    """A cap on each ``per`` value's rows (for :func:`cap_per`) that scales with the data: the smallest of
    ``floor``, ``2 floor``, ``4 floor`` ... that keeps ``keep_share`` of the rows, lowered while its baskets
    would make more than ``max_pairs`` pairs, and never below ``floor``. With ``keep_share`` 0 it is ``floor``.

    A fixed cap that keeps most rows of a small shop drops most of a large one's, and the loss is what costs
    quality: user-CF on MovieLens 100k keeps nDCG@10 0.414 with 78 % of the rows kept (cap 100) and falls to
    0.385 at 55 % (cap 50) and 0.316 at 35 % (cap 25). One aggregation over the basket sizes gives every
    candidate's kept rows and pairs; only those few numbers reach the driver.
    """
    sizes = df.groupBy(per).agg(F.count(F.lit(1)).alias("n"))
    candidates = [floor * 2**k for k in range(DOUBLINGS + 1)]
    aggs = [F.sum("n").alias("rows")]
    for i, c in enumerate(candidates):
        m = F.least(F.col("n"), F.lit(c)).cast("long")
        aggs += [F.sum(m).alias(f"kept{i}"), F.sum(m * (m - 1)).alias(f"pairs{i}")]  # twice the pairs
    r = sizes.agg(*aggs).first()
    rows = int(r["rows"] or 0)
    at = [Cap(c, rows, int(r[f"kept{i}"] or 0), int(r[f"pairs{i}"] or 0) // 2) for i, c in enumerate(candidates)]
    want = next((i for i, c in enumerate(at) if c.kept >= keep_share * rows), len(at) - 1)
    while want > 0 and at[want].pairs > max_pairs:
        want -= 1
    return at[want]
