"""Fitting BG/NBD and Gamma-Gamma to a Spark summary (:mod:`tailor.clv.summary`): the distinct summaries and
their customer counts come to the driver, bounded by ``max_groups`` (the calendar bounds them, not the number
of customers), and :mod:`tailor.clv.btyd` fits them."""

from __future__ import annotations

import logging

import pandas as pd
from pyspark.sql import DataFrame

from tailor.clv import btyd as B
from tailor.clv import summary as C
from tailor.errors import ConfigError, NotApplicable

log = logging.getLogger(__name__)


def timing_groups(summary: DataFrame, max_groups: int, what: str) -> pd.DataFrame:
    """BG/NBD's input: the distinct (frequency, recency_days, tenure_days) of ``summary`` with their customer
    counts, as pandas (at most ``max_groups`` rows, else a ConfigError naming ``clv.max_groups``), in one
    order however Spark partitioned them, so that the likelihood's sum, and the fit, are the same anywhere."""
    groups = C.timing_groups(summary).limit(max_groups + 1).toPandas()
    if len(groups) > max_groups:
        raise ConfigError(f"{what}: more than clv.max_groups={max_groups} distinct (frequency, recency, T) "
                          "summaries; raise it if the driver has the memory")
    return groups.sort_values(["frequency", C.RECENCY_DAYS, C.TENURE_DAYS], ignore_index=True)


def fit_timing(groups: pd.DataFrame, days_per_unit: float, what: str) -> B.Fit:
    """BG/NBD on :func:`timing_groups`; NotApplicable when no customer bought on two different days."""
    if not (groups["frequency"] > 0).any():
        raise NotApplicable(f"{what}: no customer bought on two different days, so there is no repeat "
                            "purchase for BG/NBD to learn from")
    fit = B.fit_bgnbd(groups["frequency"], groups[C.RECENCY_DAYS] / days_per_unit,
                      groups[C.TENURE_DAYS] / days_per_unit, groups[C.CUSTOMERS])
    log.info("%s: BG/NBD fitted on %d distinct summaries of %d customers", what, len(groups), int(fit.customers))
    return fit


def fit_value(summary: DataFrame, max_groups: int) -> B.Fit | None:
    """Gamma-Gamma on the repeat buyers of ``summary``, or None (logged) when there are fewer than two, more
    than ``max_groups`` distinct (frequency, cents), or the fit has no finite mean (q <= 1)."""
    groups = C.value_groups(summary).limit(max_groups + 1).toPandas().sort_values(
        ["frequency", "monetary"], ignore_index=True)
    if len(groups) > max_groups or groups[C.CUSTOMERS].sum() < 2:
        log.warning("Gamma-Gamma not fitted: %d repeat buyer(s) with a positive mean value; expected order value"
                    " and CLV stay null", int(groups[C.CUSTOMERS].sum()))
        return None
    fit = B.fit_gamma_gamma(groups["frequency"], groups["monetary"], groups[C.CUSTOMERS])
    if fit.params["q"] <= 1:
        log.warning("Gamma-Gamma fitted q = %.3f <= 1: the model has no finite mean order value; expected order"
                    " value and CLV stay null", fit.params["q"])
        return None
    return fit
