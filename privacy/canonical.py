"""Canonical encodings: the exact bytes that are hashed or signed, identical on every platform; and
the one clock moments are stored in (UTC) and the one days are counted in (the Caf's)."""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from privacy.errors import PrivacyError, located

# The Caf's clock: an approval valid until 31 December, an opposition, a retention or an outcome
# dated by a worker ends or falls on a day where the Caf is (in metropolitan France past 11 pm UTC,
# already the next day; in La Réunion past 8 pm). The Caf of an overseas department sets its own.
TIME_ZONE_ENV = "UPTAKE_FUSEAU"
DEFAULT_TIME_ZONE = "Europe/Paris"


class TimeZoneInvalid(PrivacyError):
    """The configured time zone is not a name of the IANA time zone database."""

    def __init__(self, written: str) -> None:
        close = closest_time_zone(written)
        fix = (
            "un nom de la base IANA des fuseaux horaires, par exemple Europe/Paris, America/Cayenne ou "
            "Indian/Reunion (par défaut Europe/Paris)"
        )
        fix = f"vouliez-vous dire « {close} » ? Donnez {fix}" if close else f"donnez {fix}"
        super().__init__(
            located(TIME_ZONE_ENV, None, f"« {written} » n'est pas un fuseau horaire connu", fix)
        )


def closest_time_zone(name: str) -> str | None:
    """The known time zone closest to a mistyped `name` (`europe/paris` → `Europe/Paris`), if any."""
    known = sorted(available_timezones())
    by_case = {zone.casefold(): zone for zone in known}
    if name.strip().casefold() in by_case:
        return by_case[name.strip().casefold()]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    return close[0] if close else None


def caf_time_zone(environ: Mapping[str, str] | None = None) -> ZoneInfo:
    """The Caf's time zone (`UPTAKE_FUSEAU`, else Europe/Paris): the days are counted and the moments
    shown in it, and the schedules fire in it."""
    written = (os.environ if environ is None else environ).get(TIME_ZONE_ENV, "").strip()
    return _zone(written or DEFAULT_TIME_ZONE)


@lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):  # ValueError: a path (`../etc`) or not a zone file
        raise TimeZoneInvalid(name) from None


# The overseas departments, which do not keep metropolitan France's time (INSEE department codes).
DEPARTMENT_TIME_ZONES = {
    "971": "America/Guadeloupe",
    "972": "America/Martinique",
    "973": "America/Cayenne",
    "974": "Indian/Reunion",
    "976": "Indian/Mayotte",
}


def communes_time_zone(communes: Iterable[str]) -> str | None:
    """The time zone the communes (INSEE codes) live in; None when they live in several (the national
    territory) or none are given."""
    found = communes_by_time_zone(communes)
    return next(iter(found)) if len(found) == 1 else None


def communes_by_time_zone(communes: Iterable[str]) -> dict[str, list[str]]:
    """The communes (INSEE codes) of each time zone they live in, in their given order; the zones by
    name."""
    found: dict[str, list[str]] = {}
    for code in communes:
        found.setdefault(DEPARTMENT_TIME_ZONES.get(code[:3], DEFAULT_TIME_ZONE), []).append(code)
    return dict(sorted(found.items()))


def canonical_json(value: Any) -> bytes:
    """UTF-8 JSON with sorted keys and no spaces: one value, one byte string."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def utc_stamp(moment: datetime) -> str:
    """A UTC timestamp as stored and signed: `2026-03-01T08:30:00.123456Z` (naive times are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def as_utc(moment: datetime) -> datetime:
    """`moment` as an aware UTC datetime (naive times are taken as UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_stamp(stamp: str) -> datetime:
    """The aware datetime of a `utc_stamp` string."""
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def caf_day(moment: datetime) -> date:
    """The day it is at the Caf at `moment` (naive times are taken as UTC)."""
    return as_utc(moment).astimezone(caf_time_zone()).date()


def caf_moment_text(moment: datetime) -> str:
    """`moment` as read on the Caf's clock, `05/12/2026 06:00`, for the documents people read (naive
    times are taken as UTC)."""
    return as_utc(moment).astimezone(caf_time_zone()).strftime("%d/%m/%Y %H:%M")


def caf_stamp_text(stamp: str) -> str:
    """A stored UTC stamp (`utc_stamp`) as read on the Caf's clock, to the second:
    `2026-03-01T21:30:05.000000Z` → `01/03/2026 22:30:05` in Paris. For the logs a DPO reviews; the
    stamp itself, which the audit chain signs, stays in UTC."""
    return parse_stamp(stamp).astimezone(caf_time_zone()).strftime("%d/%m/%Y %H:%M:%S")


def caf_stamp_day(stamp: str) -> str:
    """The Caf's day of a stored UTC stamp, `02/03/2026`: an import at 00:30 in Paris is stamped
    the day before in UTC."""
    return f"{caf_day(parse_stamp(stamp)):%d/%m/%Y}"


def caf_midnight(day: date) -> datetime:
    """The moment `day` begins at the Caf, in UTC (as moments are stored and compared)."""
    return datetime.combine(day, datetime.min.time(), tzinfo=caf_time_zone()).astimezone(UTC)
