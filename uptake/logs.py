"""Structured logs: one JSON object per line, with no personal data.

Events carry an `event` name and plain fields (ids, counts, hashes, durations). Exceptions are
logged by type only, because a message from a third-party library may quote a data value; the
domain errors' French messages are written to be safe and are kept, as are the file system's
refusals told by their path and cause (`uptake.failures.told`).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import IO, Any

from detection.errors import DetectionError
from outreach.errors import OutreachError
from privacy.errors import PrivacyError
from rules.errors import RulesError
from uptake.failures import told

SAFE_ERRORS = (DetectionError, RulesError, PrivacyError, OutreachError)

QUIET_LIBRARIES = ("apscheduler", "alembic")

# Fields passed with `extra={"fields": {...}}` are merged into the JSON object.
FIELDS_KEY = "fields"


class JsonFormatter(logging.Formatter):
    """Format records as single-line JSON objects."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as JSON: time (UTC), level, logger, event, then the record's fields."""
        payload: dict[str, Any] = {
            "ts": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        payload.update(getattr(record, FIELDS_KEY, None) or {})
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            payload["error_type"] = type(exc).__name__
            # The French cause when it is safe to tell (a domain error, a file refused by its path):
            # a log read alone (journald, a SIEM) then says what failed.
            said = told(exc)
            if said is not None:
                payload["error"] = said
        return json.dumps(payload, ensure_ascii=False, default=_plain)


def _plain(value: object) -> str:
    """A field JSON cannot write: a moment in ISO 8601 UTC, like `ts` (a cron run's time comes in the
    Caf's zone, a run-now request's in UTC: one form for whoever reads the log); else its text."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).isoformat(timespec="seconds")
    return str(value)


def configure_json_logging(stream: IO[str] | None = None, level: int = logging.INFO) -> None:
    """Send every log record of the process to `stream` (stderr by default) as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Libraries' routine messages (each wake-up, each migration step) would drown the events.
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))


def log_event(logger: logging.Logger, event: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event with its fields (ids, counts, durations: never names, contacts or matricules)."""
    logger.log(level, event, extra={FIELDS_KEY: fields})
