"""As-of dates: what "the data as of a run date" means, in one place.

A run for ``as_of`` sees every row stamped before :func:`cutoff` (the first instant of the next day, UTC):
the whole of ``as_of`` and nothing after it. Features, labels, interactions, folds and rules all cut here.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from pyspark.sql import Column
from pyspark.sql import functions as F

from tailor import schemas as S


def cutoff(as_of: date) -> datetime:
    """The first instant after ``as_of`` (UTC): data strictly before it is 'at or before the cutoff'."""
    return datetime.combine(as_of + timedelta(days=1), time.min)


def before_cutoff(as_of: date, ts: str = S.TS) -> Column:
    """Rows stamped at or before the end of ``as_of``."""
    return F.col(ts) < F.lit(cutoff(as_of))
