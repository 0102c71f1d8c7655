"""Days are counted in the Caf's time zone: metropolitan France's by default, an overseas Caf's own
when `UPTAKE_FUSEAU` names it; a name that is not a time zone is refused with the closest one."""

from __future__ import annotations

import datetime as dt

import pytest

from privacy.canonical import (
    TIME_ZONE_ENV,
    TimeZoneInvalid,
    caf_day,
    caf_midnight,
    caf_time_zone,
    communes_time_zone,
)

# 21:30 UTC on 1 March: 22:30 in Paris, already 01:30 on 2 March in La Réunion.
EVENING = dt.datetime(2026, 3, 1, 21, 30, tzinfo=dt.UTC)


def test_days_are_metropolitan_frances_when_no_time_zone_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TIME_ZONE_ENV, raising=False)
    assert caf_time_zone().key == "Europe/Paris"
    assert caf_day(EVENING) == dt.date(2026, 3, 1)
    assert caf_midnight(dt.date(2026, 3, 2)) == dt.datetime(2026, 3, 1, 23, 0, tzinfo=dt.UTC)


def test_an_overseas_caf_counts_its_days_in_its_own_time_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(TIME_ZONE_ENV, " Indian/Reunion ")
    assert caf_time_zone().key == "Indian/Reunion"
    assert caf_day(EVENING) == dt.date(2026, 3, 2)
    assert caf_midnight(dt.date(2026, 3, 2)) == dt.datetime(2026, 3, 1, 20, 0, tzinfo=dt.UTC)
    monkeypatch.setenv(TIME_ZONE_ENV, "America/Cayenne")  # 18:30 in Guyane
    assert caf_day(EVENING) == dt.date(2026, 3, 1)
    assert caf_day(dt.datetime(2026, 3, 2, 2, 30, tzinfo=dt.UTC)) == dt.date(2026, 3, 1)


@pytest.mark.parametrize(
    ("written", "closest"),
    [
        ("europe/paris", "Europe/Paris"),
        ("Indian/Reunoin", "Indian/Reunion"),
        ("Mars/Olympus_Mons", None),
        ("../../etc/passwd", None),
        ("zone.tab", None),  # a file of the database, not a time zone
    ],
)
def test_a_name_that_is_not_a_time_zone_is_refused_with_the_closest_one(
    written: str, closest: str | None
) -> None:
    with pytest.raises(TimeZoneInvalid) as refused:
        caf_time_zone({TIME_ZONE_ENV: written})
    said = str(refused.value)
    assert said.startswith(f"UPTAKE_FUSEAU : « {written} » n'est pas un fuseau horaire connu.")
    assert "par exemple Europe/Paris, America/Cayenne ou Indian/Reunion" in said
    assert (f"Vouliez-vous dire « {closest} » ?" in said) == (closest is not None)
    assert ("Vouliez-vous dire" in said) == (closest is not None)


def test_the_communes_of_one_department_tell_its_time_zone() -> None:
    assert communes_time_zone(["97411", "97416"]) == "Indian/Reunion"
    assert communes_time_zone(["97302"]) == "America/Cayenne"
    assert communes_time_zone(["04088", "2A004", "57463"]) == "Europe/Paris"
    assert communes_time_zone(["04088", "97411"]) is None  # the national territory: several
    assert communes_time_zone([]) is None
