"""Named exceptions raised at job boundaries.

Each one carries a message that tells the user what to do. The CLI maps them to exit codes:
``ConfigError`` is a usage error (exit 2); every other ``TailorError`` is a failed job (exit 1).
"""

from __future__ import annotations


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


class InsufficientDataError(TailorError, ValueError):
    """There is too little data for a model to be fitted (for example fewer customers than clusters)."""


class IdRangeError(TailorError):
    """More distinct ids than a 32-bit integer index can hold (ALS needs int ids)."""


def first_line(error: BaseException, limit: int = 500) -> str:
    """The first line of an error's message, at most ``limit`` characters (Spark errors carry whole plans)."""
    return (str(error).strip().splitlines() or [""])[0][:limit]
