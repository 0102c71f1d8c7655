"""Sending windows: SMS and calls on working days within configured hours; nothing on public holidays.

Times are judged in the campaign's time zone (the Caf's by default); French public holidays come
from the `holidays` package (fixed dates and the Easter-based ones: Easter Monday, Ascension,
Whit Monday), in the campaign's calendar: metropolitan by default, Alsace-Moselle's (Good Friday,
26 December) or an overseas department's (abolition of slavery…).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from outreach.campaigns import HOLIDAY_CALENDARS, WEEKDAYS, Campaign, Channel, WindowSection
from outreach.channels import SmtpSettings
from outreach.errors import OutsideSendingWindow

# Channels that reach a person at a given moment: they must respect the hours and working days.
TIMED_CHANNELS: frozenset[str] = frozenset({"sms", "appel"})


@lru_cache(maxsize=64)
def _french_holidays(year: int, calendar: str) -> holidays.HolidayBase:
    return holidays.country_holidays("FR", subdiv=HOLIDAY_CALENDARS[calendar], years=year)


def is_public_holiday(day: date, calendar: str = "metropole") -> bool:
    """True on a public holiday of `calendar` (a key of `HOLIDAY_CALENDARS`: the metropolitan one by
    default, Alsace-Moselle's or an overseas department's)."""
    return day in _french_holidays(day.year, calendar)


def _local(window: WindowSection, moment: datetime) -> datetime:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(window.fuseau))


def is_allowed(window: WindowSection, channel: Channel, moment: datetime) -> bool:
    """May a message of `channel` go out at `moment` (naive datetimes are read as UTC)?"""
    local = _local(window, moment)
    if is_public_holiday(local.date(), window.jours_feries):
        return False
    if channel not in TIMED_CHANNELS:
        return True
    if WEEKDAYS[local.weekday()] not in window.jours:
        return False
    return window.heure_debut <= local.time() < window.heure_fin


def next_allowed(window: WindowSection, channel: Channel, moment: datetime) -> datetime:
    """The first moment at or after `moment` when `channel` may go out (in the window's time zone)."""
    local = _local(window, moment)
    zone = ZoneInfo(window.fuseau)
    for offset in range(0, 60):
        day = local.date() + timedelta(days=offset)
        opening = datetime.combine(
            day, window.heure_debut if channel in TIMED_CHANNELS else datetime.min.time()
        )
        candidate = max(local, opening.replace(tzinfo=zone)) if offset == 0 else opening.replace(tzinfo=zone)
        if is_allowed(window, channel, candidate):
            return candidate
    raise AssertionError("no sending window within 60 days: the configuration allows no day")


def check_delivery_window(campaign: Campaign, smtp: SmtpSettings | None, now: datetime) -> None:
    """`OutsideSendingWindow` when e-mails would be handed to `smtp` at `now` outside the campaign's
    window (a public holiday)."""
    if smtp is not None and not is_allowed(campaign.fenetres, "email", now):
        local = _local(campaign.fenetres, now)
        upcoming = next_allowed(campaign.fenetres, "email", now)
        raise OutsideSendingWindow(
            "courriel",
            f"{local:%d/%m/%Y à %H:%M}",
            f"{upcoming:%d/%m/%Y à %H:%M}",
            "aucun courriel ne part un jour férié",
        )
