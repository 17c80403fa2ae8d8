"""Named exceptions raised at job boundaries.

Each one carries a message that tells the user what to do. The CLI maps them to exit codes:
``ConfigError`` is a usage error (exit 2); every other ``TailorError`` is a failed job (exit 1).
"""

from __future__ import annotations

import os
import re


class TailorError(Exception):
    """Base of every error Tailor raises on purpose."""


class ConfigError(TailorError, ValueError):
    """The configuration is invalid: an unknown key, a wrong type or a missing file."""


class MissingTableError(TailorError):
    """A job's input table does not exist yet."""


class MissingColumnsError(TailorError, ValueError):
    """A DataFrame lacks columns a transformation or table contract needs."""


class SchemaMismatchError(TailorError, ValueError):
    """A DataFrame does not match the contract of the table it is written to."""


class RejectRatioExceededError(TailorError):
    """Ingest rejected more rows than the configured ratio allows."""


class SourceError(TailorError):
    """A source file is missing or cannot be read as the adapter expects."""


class DeltaJarsMissingError(TailorError):
    """The Spark session was started without the Delta Lake jars."""


class NotApplicable(TailorError):
    """The job cannot run on this shop's data, by its shape rather than by a fault (one product, no two
    classes to learn, no time window): the job records ``not_applicable`` with this one-line reason and
    exits 0, and jobs that read its tables hard are recorded ``not_applicable`` too."""


class SparkInputError(TailorError):
    """Spark ML refused a job's input with an ``IllegalArgumentException`` ("requirement failed"): the
    message names the job and what such a refusal comes from."""


class DataValueError(TailorError):
    """A query failed on a value in the data under Spark's ANSI mode (a cast of a malformed string, a division
    by zero, an index past an array's end): the message names the job, Spark's error condition and the
    ``try_`` function that tolerates such a value."""


class InsufficientDataError(NotApplicable, ValueError):
    """There is too little data for a model to be fitted (for example fewer customers than clusters)."""


class IdRangeError(TailorError):
    """More distinct ids than a 32-bit integer index can hold (ALS needs int ids)."""


_SECRETS: set[str] = set()
_SECRET_NAME = re.compile(r"KEY|SECRET|TOKEN|PASS|CRED|AUTH|PRIVATE", re.IGNORECASE)
_TOKEN_LIKE = re.compile(r"^[^\s/]{16,}$")
REDACTED = "<redacted>"


def register_secret(value: str) -> None:
    """Never print ``value``: :func:`scrub` replaces it (the pseudonymisation key registers itself)."""
    if value:
        _SECRETS.add(value)


def scrub(text: str) -> str:
    """``text`` with every secret replaced by ``<redacted>``: registered secrets, the values of environment
    variables whose names say key, secret, token, password, credential or auth, and any environment value
    that looks like a token (16 or more characters, no white space or slash)."""
    values = set(_SECRETS)
    for name, value in os.environ.items():
        if len(value) >= 4 and (_SECRET_NAME.search(name) or _TOKEN_LIKE.match(value)):
            values.add(value)
    for v in sorted(values, key=len, reverse=True):  # longest first: a secret may contain a shorter one
        text = text.replace(v, REDACTED)
    return text


def first_line(error: BaseException | str, limit: int = 500) -> str:
    """The first non-blank line of an error's message, scrubbed of secrets (:func:`scrub`), at most ``limit``
    characters (Spark errors carry whole plans and Java traces)."""
    lines = [line.strip() for line in scrub(str(error)).splitlines() if line.strip()]
    return (lines or [""])[0][:limit]


class UndeclaredTableError(RuntimeError):
    """A job touched a table it does not declare in its ``READS``/``WRITES``: a bug in the job, not the data."""
