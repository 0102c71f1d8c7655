"""French display of the values the front doors show: counts, durations, months, moments."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from outreach.charts import french_number
from privacy.canonical import as_utc, caf_day, caf_moment_text, caf_time_zone
from rules.french import french_decimal, french_month

MISSING = "—"


def count(value: int | None) -> str:
    """`12345` → `12 345`; None → `—`."""
    return MISSING if value is None else french_number(value)


def duration(seconds: float | None) -> str:
    """`0.234` → `0,23 s`, `12.34` → `12,3 s`, `125` → `2 min 05 s`, `3720` → `1 h 02 min`.

    No line break inside; None (still running) → `—`.
    """
    if seconds is None:
        return MISSING
    if seconds < 59.95:  # what rounds to 60,0 s is written as a minute
        return french_number(seconds, 2 if seconds < 1 else 1, "\u202fs")
    whole = round(seconds)
    if whole < 3600:
        return f"{whole // 60}\u202fmin\u00a0{whole % 60:02d}\u202fs"
    return f"{whole // 3600}\u202fh\u00a0{whole % 3600 // 60:02d}\u202fmin"


def month(day: dt.date | None) -> str:
    """`2025-06-01` → `juin 2025`; None → `—`."""
    return MISSING if day is None else french_month(day)


def utc(moment: dt.datetime) -> dt.datetime:
    """`moment` as an aware UTC time: SQLite hands back naive datetimes, and every moment is
    stored in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def day(when: dt.datetime | str | None) -> str:
    """The Caf's local day of a moment, or of a UTC stamp as the privacy tables store it
    (`2026-03-01T23:30:00.123456Z` → `02/03/2026`); None → `—`."""
    if not when:
        return MISSING
    moment = dt.datetime.fromisoformat(when) if isinstance(when, str) else when
    return f"{caf_day(moment):%d/%m/%Y}"


def moment(when: dt.datetime | None, *, short: bool = False) -> str:
    """An aware moment in the Caf's local time (`caf_time_zone`): `05/12/2026 06:00` (`05/12/26 06:00`
    when `short`, for narrow tables); None → `—`."""
    if when is None:
        return MISSING
    if not short:
        return caf_moment_text(when)
    return f"{as_utc(when).astimezone(caf_time_zone()):%d/%m/%y %H:%M}"


def stored_pairs(stored: str | None) -> list[tuple[str, str]]:
    """A JSON object stored as text (an audit entry's counts or details) as (key, value) pairs to
    show: numbers the French way, lists and nested objects as one line."""
    if not stored:
        return []
    loaded = json.loads(stored)
    if not isinstance(loaded, dict):
        return [("", _shown(loaded))]
    return [(str(key), _shown(value)) for key, value in loaded.items()]


def kept_value(value: Any) -> str:
    """A parameter value or a rule's setting as a run kept it (JSON): `622.63` → `622,63`, a table
    → `1 : 329,71 ; 2 : 300`, `true` → `oui`."""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int | float):
        return french_decimal(value, 4)
    if isinstance(value, dict):
        return " ; ".join(f"{key} : {kept_value(item)}" for key, item in sorted(value.items()))
    return _shown(value)


def kept_parameters(parameters: dict[str, dict[str, Any]]) -> list[tuple[str, str, str, str]]:
    """The parameters a run kept as rows to show: name, value, since (`01/04/2025`), source."""
    rows = []
    for name, kept in sorted(parameters.items()):
        since = kept.get("depuis")
        rows.append(
            (
                name,
                kept_value(kept.get("valeur")),
                dt.date.fromisoformat(since).strftime("%d/%m/%Y") if since else MISSING,
                str(kept.get("source") or MISSING),
            )
        )
    return rows


def kept_settings(settings: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    """The rule settings a run kept as rows to show: rule, setting, value."""
    return [
        (rule, key, kept_value(value))
        for rule, kept in sorted(settings.items())
        for key, value in sorted(kept.items())
    ]


def _shown(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int):
        return count(value)
    if isinstance(value, list):
        return ", ".join(_shown(item) for item in value) or MISSING
    if isinstance(value, dict):
        return ", ".join(f"{key} {_shown(item)}" for key, item in value.items())
    return str(value)
