"""What the front doors show is written the French way: counts, durations, months."""

from __future__ import annotations

import datetime as dt

import pytest

from uptake import french

NBSP = "\u202f"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.234, f"0,23{NBSP}s"),
        (12.34, f"12,3{NBSP}s"),
        (59.96, f"1{NBSP}min\u00a000{NBSP}s"),  # not "60,0 s"
        (125, f"2{NBSP}min\u00a005{NBSP}s"),
        (3720, f"1{NBSP}h\u00a002{NBSP}min"),
        (None, "—"),
    ],
)
def test_durations_use_a_decimal_comma_then_minutes_then_hours(seconds, text) -> None:
    assert french.duration(seconds) == text


def test_counts_group_thousands_and_months_are_named() -> None:
    assert french.count(14_000_000) == f"14{NBSP}000{NBSP}000"
    assert french.count(None) == "—"
    assert french.month(dt.date(2025, 6, 1)) == "juin 2025"
    assert french.month(None) == "—"


def test_moments_are_told_in_paris_time_whether_the_database_kept_the_zone_or_not() -> None:
    aware = dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC)
    naive = dt.datetime(2026, 3, 1, 23, 30)  # as SQLite hands it back: UTC without its zone
    assert french.moment(aware) == french.moment(naive) == "02/03/2026 00:30"
    assert french.moment(dt.datetime(2026, 7, 1, 4, 0)) == "01/07/2026 06:00"  # summer time
    assert french.day("2026-03-01T23:30:00.123456Z") == french.day(naive) == "02/03/2026"
    assert french.day(None) == "—"


def test_moments_are_told_in_the_caf_s_own_time_zone_when_it_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UPTAKE_FUSEAU", "Indian/Reunion")  # UTC+4, no summer time
    assert french.moment(dt.datetime(2026, 7, 1, 4, 0)) == "01/07/2026 08:00"
    assert french.day("2026-03-01T21:30:00.000000Z") == "02/03/2026"
    monkeypatch.setenv("UPTAKE_FUSEAU", "America/Martinique")  # UTC-4
    assert french.moment(dt.datetime(2026, 3, 2, 2, 0, tzinfo=dt.UTC), short=True) == "01/03/26 22:00"


def test_stored_json_is_shown_as_pairs_in_words() -> None:
    stored = '{"foyers": 1234, "forcee": false, "lignes": null, "regles": {"ppa": "1.2"}, "f": ["a", "b"]}'
    assert french.stored_pairs(stored) == [
        ("foyers", f"1{NBSP}234"),
        ("forcee", "non"),
        ("lignes", "—"),
        ("regles", "ppa 1.2"),
        ("f", "a, b"),
    ]
    assert french.stored_pairs(None) == []
