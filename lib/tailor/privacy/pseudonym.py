"""Keyed pseudonyms: HMAC-SHA256 with a secret key that never enters a table, a query plan or a log.

A plain hash of an e-mail address is not a pseudonym: anyone can hash a list of known addresses and match
them. An HMAC needs the key, which comes from the environment variable named by ``privacy.key_env`` (set by
the scheduler or a secret store, never in a config file). The same key gives the same pseudonym, so joins
across runs keep working; another key gives unrelated ones.

The key reaches executors inside the pickled closure of a vectorised UDF, not as a literal in the plan
(an HMAC written with ``sha2`` over padded key literals would print the key's pads in every ``EXPLAIN``
and Spark UI page).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re

import pandas as pd
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql.functions import pandas_udf

from tailor.errors import ConfigError, register_secret
from tailor.schemas import is_personal

log = logging.getLogger(__name__)

DEMO_KEY = "tailor-demo-key-not-a-secret"
"""Used by ``tailor demo`` alone, when the key variable is not set. Never use it for real data."""


def key(env_name: str) -> bytes:
    """The pseudonymisation key from the environment.

    Raises:
        ConfigError: the variable named by ``privacy.key_env`` is unset or empty.
    """
    name = env_name
    value = os.environ.get(name, "")
    if not value:
        raise ConfigError(
            f"the pseudonymisation key is missing: set the environment variable {name} (named by "
            "privacy.key_env) to a long random secret, e.g. `export "
            f"{name}=$(python -c 'import secrets; print(secrets.token_hex(32))')`. Keep it: another key gives "
            "other pseudonyms")
    register_secret(value)
    return value.encode()


def pseudonym(secret: bytes, value: str | None) -> str | None:
    """HMAC-SHA256 of ``value`` (UTF-8) as 64 hex digits; None stays None."""
    if value is None:
        return None
    return hmac.new(secret, value.encode(), hashlib.sha256).hexdigest()


def pseudonym_col(secret: bytes, value: Column) -> Column:
    """:func:`pseudonym` as a column."""

    @pandas_udf("string")
    def _hmac(v: pd.Series) -> pd.Series:
        return v.map(lambda x: None if x is None or x is pd.NA else pseudonym(secret, str(x)))

    return _hmac(value.cast("string"))


EMAIL_LIKE = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s.]{1,63}")
"""A value that looks like an e-mail address, in whatever column it sits. The quantifiers are bounded (an
address's parts are at most 64 and 255 characters): unbounded ones backtrack quadratically, and a 1 MB id
took a Python worker's whole CPU for many minutes."""


def looks_like_email(text: str) -> bool:
    return "@" in text and EMAIL_LIKE.search(text) is not None


def redact_value(secret: bytes, key: str, value: object, clear: frozenset[str]) -> object:
    """One field of a quarantined record: kept when its column is in ``clear`` and it does not look like an
    e-mail address; otherwise its pseudonym. Nulls stay null."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value)
    if key in clear and not is_personal(key) and not looks_like_email(text):
        return value
    return pseudonym(secret, text)


def redact_record(secret: bytes, record: Column, clear: frozenset[str] = frozenset(),
                  trusted: Column | None = None) -> Column:
    """A quarantined row's JSON (``record``) redacted by contract: the fields of ``clear`` (the landed columns
    known to hold a non-personal contract value) stay as they are where ``trusted`` is true (default: always),
    every other field becomes its keyed pseudonym; column names are never trusted. A record that is not a JSON
    object (a malformed line) becomes the pseudonym of its whole text."""

    @pandas_udf("string")
    def _redact(v: pd.Series, ok: pd.Series) -> pd.Series:
        def one(text, trust):
            if text is None:
                return None
            try:
                row = json.loads(text)
            except ValueError:
                row = None
            if not isinstance(row, dict):
                return pseudonym(secret, text)
            keep = clear if trust else frozenset()
            return json.dumps({k: redact_value(secret, k, x, keep) for k, x in row.items()},
                              ensure_ascii=False, separators=(",", ":"))
        return pd.Series([one(t, bool(k)) for t, k in zip(v, ok, strict=True)], index=v.index, dtype=object)

    return _redact(record, F.lit(True) if trusted is None else F.coalesce(trusted, F.lit(False)))


def demo_key_if_unset(env_name: str) -> None:
    """``tailor demo`` only: use :data:`DEMO_KEY` when no key is set, and say so."""
    if not os.environ.get(env_name):
        os.environ[env_name] = DEMO_KEY
        log.warning("%s is not set: the demo pseudonymises with the documented demo key", env_name)
