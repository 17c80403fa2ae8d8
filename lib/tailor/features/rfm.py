"""RFM: recency, frequency and monetary scores 1-5 by quantile, and the named segment grid.

Thresholds are the 20/40/60/80% quantiles among customers with at least one purchase, computed with
``approxQuantile`` (one distributed pass, no window over the whole table). A value's score counts the
thresholds it exceeds: F and M score ``1 + #(thresholds < x)``; R, where fewer days is better, scores
``5 - #(thresholds < x)``. With heavy ties (most customers have one order) equal thresholds collapse, so
every tied customer gets the same score, which a rank-based ntile would not give.

The named grid, on R and FM = round-half-up((F + M) / 2), first match wins:

========================  ======================
Champions                 R >= 4 and FM >= 4
New                       R >= 4 and F = 1
Loyal                     R >= 3 and FM >= 3
Potential loyalist        R >= 3
Cannot lose               R = 1 and FM >= 4
At risk                   R <= 2 and FM >= 3
Hibernating               R = 2
Lost                      R = 1
========================  ======================

Customers without a purchase before the cutoff get no scores and the segment "No purchase".
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from tailor import schemas as S

PROBABILITIES = (0.2, 0.4, 0.6, 0.8)
RFM_INPUTS = ("recency_days", "frequency", "monetary_total")
SEGMENTS = ("Champions", "Loyal", "Potential loyalist", "New", "At risk", "Cannot lose", "Hibernating", "Lost")
NO_PURCHASE = "No purchase"


def is_buyer(frequency: str = "frequency") -> Column:
    return F.col(frequency) > 0


def thresholds(features: DataFrame, relative_error: float = 0.001) -> dict[str, list[float]]:
    """The 20/40/60/80% quantiles of recency, frequency and monetary among buyers (an action: one pass).

    Returns:
        Column name -> four thresholds; empty lists when nobody has bought.
    """
    buyers = features.where(is_buyer())
    cuts = buyers.approxQuantile(list(RFM_INPUTS), list(PROBABILITIES), relative_error)
    return dict(zip(RFM_INPUTS, cuts, strict=True))


def _above(x: Column, cuts: Sequence[float]) -> Column:
    return sum((x > F.lit(float(t))).cast("int") for t in cuts) if cuts else F.lit(0)


def score(x: Column, cuts: Sequence[float], lower_is_better: bool = False) -> Column:
    """The 1-5 score of ``x`` against four thresholds (null when ``x`` is null or there are none)."""
    if not cuts:
        return F.lit(None).cast("int")
    above = _above(x, cuts)
    s = (F.lit(5) - above) if lower_is_better else (F.lit(1) + above)
    return F.when(x.isNotNull(), s.cast("int"))


def segment_name(r: Column, f: Column, m: Column) -> Column:
    """The named RFM segment of scores ``r``, ``f``, ``m`` (see the module table)."""
    fm = F.floor((f + m + 1) / 2)
    return (
        F.when(r.isNull(), F.lit(NO_PURCHASE))
        .when((r >= 4) & (fm >= 4), "Champions")
        .when((r >= 4) & (f == 1), "New")
        .when((r >= 3) & (fm >= 3), "Loyal")
        .when(r >= 3, "Potential loyalist")
        .when((r == 1) & (fm >= 4), "Cannot lose")
        .when(fm >= 3, "At risk")
        .when(r == 2, "Hibernating")
        .otherwise("Lost")
    )


def with_rfm(cuts: dict[str, list[float]]) -> Callable[[DataFrame], DataFrame]:
    """Add ``r_score``, ``f_score``, ``m_score`` and ``rfm_segment`` given :func:`thresholds`' output."""

    def _(df: DataFrame) -> DataFrame:
        buyer = is_buyer()
        out = (
            df.withColumn("r_score", F.when(buyer, score(F.col("recency_days"), cuts["recency_days"], True)))
            .withColumn("f_score", F.when(buyer, score(F.col("frequency"), cuts["frequency"])))
            .withColumn("m_score", F.when(buyer, score(F.col("monetary_total"), cuts["monetary_total"])))
        )
        return out.withColumn(S.RFM_SEGMENT, segment_name(F.col("r_score"), F.col("f_score"), F.col("m_score")))

    return _
