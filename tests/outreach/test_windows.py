"""Sending windows: working days, configured hours, never a French public holiday."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from outreach.campaigns import WindowSection
from outreach.windows import is_allowed, is_public_holiday, next_allowed

PARIS = ZoneInfo("Europe/Paris")
WINDOW = WindowSection()


def test_easter_based_and_fixed_holidays_are_known() -> None:
    assert is_public_holiday(date(2026, 4, 6))  # Easter Monday 2026
    assert is_public_holiday(date(2026, 5, 14))  # Ascension 2026
    assert is_public_holiday(date(2026, 7, 14))
    assert not is_public_holiday(date(2026, 7, 15))


def test_each_territory_keeps_its_own_public_holidays() -> None:
    good_friday = datetime(2026, 4, 3, 11, 0, tzinfo=PARIS)
    assert is_allowed(WINDOW, "sms", good_friday)  # a working day in most of France
    alsace_moselle = WindowSection(jours_feries="alsace-moselle")
    assert not is_allowed(alsace_moselle, "sms", good_friday)
    assert next_allowed(alsace_moselle, "sms", good_friday) == datetime(2026, 4, 7, 9, 0, tzinfo=PARIS)
    assert is_public_holiday(date(2026, 12, 26), "alsace-moselle")
    reunion = WindowSection(jours_feries="reunion", fuseau="Indian/Reunion")
    monday = datetime(2026, 12, 21, 10, 0, tzinfo=ZoneInfo("Indian/Reunion"))
    assert is_public_holiday(date(2026, 12, 20), "reunion") and not is_public_holiday(date(2026, 12, 20))
    assert is_allowed(reunion, "sms", monday)
    # 20 December, the abolition of slavery in La Réunion: not even an e-mail.
    assert not is_allowed(reunion, "email", datetime(2026, 12, 20, 10, 0, tzinfo=ZoneInfo("Indian/Reunion")))


def test_sms_only_on_working_days_within_hours() -> None:
    assert is_allowed(WINDOW, "sms", datetime(2026, 3, 10, 10, 0, tzinfo=PARIS))  # Tuesday
    assert not is_allowed(WINDOW, "sms", datetime(2026, 3, 10, 8, 59, tzinfo=PARIS))
    assert not is_allowed(WINDOW, "sms", datetime(2026, 3, 10, 18, 0, tzinfo=PARIS))
    assert not is_allowed(WINDOW, "appel", datetime(2026, 3, 14, 10, 0, tzinfo=PARIS))  # Saturday


def test_no_channel_on_a_public_holiday() -> None:
    holiday = datetime(2026, 7, 14, 11, 0, tzinfo=PARIS)
    for channel in ("sms", "email", "appel", "courrier"):
        assert not is_allowed(WINDOW, channel, holiday)  # type: ignore[arg-type]
    assert is_allowed(WINDOW, "email", datetime(2026, 3, 14, 23, 0, tzinfo=PARIS))


def test_next_allowed_skips_the_weekend_and_easter_monday() -> None:
    # Saturday 4 April 2026, then Sunday, then Easter Monday: first SMS slot is Tuesday 9:00.
    moment = datetime(2026, 4, 4, 12, 0, tzinfo=PARIS)
    assert next_allowed(WINDOW, "sms", moment) == datetime(2026, 4, 7, 9, 0, tzinfo=PARIS)
    inside = datetime(2026, 4, 8, 15, 30, tzinfo=PARIS)
    assert next_allowed(WINDOW, "sms", inside) == inside


def test_naive_times_are_read_as_utc() -> None:
    # 07:30 UTC is 09:30 in Paris in summer time.
    assert is_allowed(WINDOW, "sms", datetime(2026, 6, 2, 7, 30))
    assert not is_allowed(WINDOW, "sms", datetime(2026, 6, 2, 6, 30))
