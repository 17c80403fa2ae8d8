"""Deterministic assignment to experiment arms and holdouts, shared by the campaigns and the synthetic shop.

Assignment is a salted hash, so it needs no state and gives the same answer in every run, on every
executor and in Python: ``unit(salt, key, customer)`` is the first 13 hex digits of
SHA-256(``salt:key:customer``) read as a fraction of 16^13 (52 bits, exact in a double), uniform on [0, 1).
A customer is in treatment when ``unit < treatment_share``; with several treatment arms (A/B/n), in the
first arm whose cumulative share exceeds ``unit``, and in control above them all. The key is the campaign
name, so a customer's arm in one campaign never depends on other campaigns, on the audience's size or on the
run; the global holdout uses the key :data:`HOLDOUT_KEY`.
"""

from __future__ import annotations

import hashlib

from pyspark.sql import Column
from pyspark.sql import functions as F

from tailor import schemas as S

HOLDOUT_KEY = "__global_holdout__"
_HEX_DIGITS = 13
_SCALE = float(16**_HEX_DIGITS)


def unit(salt: str, key: str, customer: Column | str) -> Column:
    """The assignment hash as a Spark column: a double in [0, 1)."""
    c = F.col(customer) if isinstance(customer, str) else customer
    digest = F.sha2(F.concat_ws(":", F.lit(salt), F.lit(key), c.cast("string")), 256)
    return F.conv(F.substring(digest, 1, _HEX_DIGITS), 16, 10).cast("double") / _SCALE


def unit_py(salt: str, key: str, customer: str) -> float:
    """The same hash in Python (for tests, and for anyone checking an assignment by hand)."""
    digest = hashlib.sha256(f"{salt}:{key}:{customer}".encode()).hexdigest()
    return int(digest[:_HEX_DIGITS], 16) / _SCALE


def arm(salt: str, key: str, treatment_share: float, customer: Column | str) -> Column:
    return arms(salt, key, ((S.TREATMENT, treatment_share),), customer)


def arms(salt: str, key: str, shares: tuple[tuple[str, float], ...], customer: Column | str) -> Column:
    """The arm of each customer among treatment arms ``shares`` ((name, share), in this order): the first
    arm whose cumulative share exceeds the customer's unit, else control. With one arm this is :func:`arm`."""
    u = unit(salt, key, customer)
    out, upto = None, 0.0
    for name, share in shares:
        upto += share
        out = F.when(u < upto, F.lit(name)) if out is None else out.when(u < upto, F.lit(name))
    return out.otherwise(F.lit(S.CONTROL)) if out is not None else F.lit(S.CONTROL)


def in_holdout(salt: str, fraction: float, customer: Column | str) -> Column:
    return unit(salt, HOLDOUT_KEY, customer) < fraction
