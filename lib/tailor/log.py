"""Structured logging: one JSON object per line on stderr, carrying run_id, run_date and job."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any

_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("tailor_log_context", default=None)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **(_context.get() or {}),
        }
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            doc.update(extra)
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


def setup(level: str = "INFO") -> None:
    """Send Tailor's logs to stderr as JSON lines; quiet py4j."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("tailor")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    logging.getLogger("py4j").setLevel(logging.WARNING)
    # pyspark logs every failed query with its whole plan; Tailor reports errors itself
    if level != "DEBUG":
        for name in ("DataFrameQueryContextLogger", "SQLQueryContextLogger"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def bind(**fields: Any) -> contextvars.Token:
    """Add fields to every log line until :func:`reset` is called with the returned token."""
    return _context.set({**(_context.get() or {}), **fields})


def current() -> dict[str, Any]:
    """The fields bound now (for a thread that logs on behalf of the caller: threads do not inherit them)."""
    return dict(_context.get() or {})


def reset(token: contextvars.Token) -> None:
    _context.reset(token)
