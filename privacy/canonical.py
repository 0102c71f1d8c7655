"""Canonical encodings: the exact bytes that are hashed or signed, identical on every platform; and
the one clock moments are stored in (UTC) and the one days are counted in (France's)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

# The Caf's clock: an approval valid until 31 December, an opposition, a retention or an outcome
# dated by a worker ends or falls on a day in France (past 11 pm UTC, already the next day).
CAF_TIME_ZONE = ZoneInfo("Europe/Paris")


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
    """The day it is in France at `moment` (naive times are taken as UTC)."""
    return as_utc(moment).astimezone(CAF_TIME_ZONE).date()


def caf_midnight(day: date) -> datetime:
    """The moment `day` begins in France, in UTC (as moments are stored and compared)."""
    return datetime.combine(day, datetime.min.time(), tzinfo=CAF_TIME_ZONE).astimezone(UTC)
