"""A schedule whose cron names no date that exists (the 31st of February) is refused, and one stored
before is told as never firing, not as paused."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine

from uptake import scheduler as scheduler_module
from uptake.jobs import ScheduleError
from uptake.scheduler import (
    add_schedule,
    cron_trigger,
    list_schedules,
    never_sentences,
    next_run_text,
    pause_schedule,
    resume_schedule,
    rezone_schedule,
    zone_sentences,
)

NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("cron", "said"),
    [
        ("0 6 31 2 *", "le 31 février n'existe jamais"),
        ("0 6 30 2 *", "le 30 février n'existe jamais"),
        ("0 6 31 4,6,9,11 *", "aucun des mois « 4,6,9,11 » n'a de jour « 31 »"),
    ],
)
def test_a_cron_expression_whose_date_never_exists_is_refused(cron: str, said: str) -> None:
    with pytest.raises(ScheduleError) as refused:
        cron_trigger(cron, NOW)
    assert said in str(refused.value) and "par exemple « 0 6 28 2 * »" in str(refused.value)


def test_the_29th_of_february_is_a_date_that_comes_back() -> None:
    trigger = cron_trigger("0 6 29 2 *", NOW)
    assert trigger.get_next_fire_time(None, NOW).date() == dt.date(2028, 2, 29)


def test_a_stored_schedule_that_can_never_fire_is_said_so_and_is_not_resumed_away(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As stored before such expressions were refused.
    monkeypatch.setattr(scheduler_module, "_first_fire", lambda _fields, now: now)
    add_schedule(engine, "a5", cron="0 6 31 2 *", job="relances", params={})
    add_schedule(engine, "mensuel", cron="0 6 5 * *", job="relances", params={})
    pause_schedule(engine, "mensuel")
    monkeypatch.undo()

    never, paused = list_schedules(engine)
    assert never.never and not never.paused and next_run_text(never) == "jamais (date impossible)"
    assert paused.paused and not paused.never and next_run_text(paused) == "en pause"
    [sentence] = never_sentences([never, paused])
    assert "« a5 » ne se déclenchera jamais" in sentence and "uptake schedule remove a5" in sentence
    with pytest.raises(ScheduleError, match="ne se déclenchera jamais"):
        resume_schedule(engine, "a5")
    assert [info.name for info in list_schedules(engine)] == ["a5", "mensuel"]  # still there, to be fixed


def test_schedule_add_refuses_the_31st_of_february_from_the_command_line(cli) -> None:
    result = cli("schedule", "add", "a5", "--cron", "0 6 31 2 *", "--job", "relances")
    said = " ".join(result.stderr.split())
    assert result.code == 2 and "le 31 février n'existe jamais" in said
    assert "Aucune planification" in cli("schedule", "list").stdout


def test_a_schedule_fires_at_the_caf_s_hour_and_one_added_under_another_time_zone_is_told(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPTAKE_FUSEAU", "Indian/Reunion")
    info = add_schedule(engine, "mensuel", cron="0 6 5 * *", job="relances", params={})
    assert info.next_run is not None and info.zone == "Indian/Reunion"
    local = info.next_run.astimezone(ZoneInfo("Indian/Reunion"))
    assert (local.day, local.hour, local.minute) == (5, 6, 0)
    assert info.next_run.astimezone(dt.UTC).hour == 2  # 3 or 4 am in Paris
    assert zone_sentences(list_schedules(engine)) == []

    monkeypatch.setenv("UPTAKE_FUSEAU", "Europe/Paris")  # set after the schedule was added
    [stored] = list_schedules(engine)
    assert stored.next_run == info.next_run  # its cron is still read in La Réunion's time
    [sentence] = zone_sentences([stored])
    assert "« mensuel » suit le fuseau Indian/Reunion" in sentence
    assert (
        "le fuseau Europe/Paris (UPTAKE_FUSEAU)" in sentence and "uptake schedule fuseau mensuel" in sentence
    )


def test_a_schedule_is_moved_to_the_caf_s_time_zone_at_the_same_hours_paused_or_not(
    engine: Engine, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPTAKE_FUSEAU", "Indian/Reunion")
    add_schedule(engine, "mensuel", cron="0 6 5 * *", job="relances", params={"days": "30"})
    add_schedule(engine, "nuit", cron="30 2 * * 1-5", job="purge", params={})
    pause_schedule(engine, "nuit")
    monkeypatch.setenv("UPTAKE_FUSEAU", "Europe/Paris")
    crons = {info.name: info.cron for info in list_schedules(engine)}

    moved, before = rezone_schedule(engine, "mensuel")
    paused, _ = rezone_schedule(engine, "nuit")

    assert before == "Indian/Reunion" and moved.zone == "Europe/Paris"
    assert moved.next_run is not None
    local = moved.next_run.astimezone(ZoneInfo("Europe/Paris"))
    assert (local.day, local.hour, local.minute) == (5, 6, 0)  # 6 am in Paris now, not in La Réunion
    assert moved.cron == "0 6 5 * *" and moved.params == {"days": 30}
    assert paused.paused and paused.zone == "Europe/Paris" and paused.cron == crons["nuit"]
    assert zone_sentences(list_schedules(engine)) == []
    assert cli("schedule", "add", "essai", "--cron", "0 6 5 * *", "--job", "relances").code == 0
    again = cli("schedule", "fuseau", "essai")
    assert again.code == 0 and "déjà dans le fuseau Europe/Paris, rien à changer" in again.stdout
    reunion = {"UPTAKE_FUSEAU": "Indian/Reunion"}
    assert cli("schedule", "add", "reu", "--cron", "0 6 5 * *", "--job", "relances", env=reunion).code == 0
    said = " ".join(cli("schedule", "fuseau", "reu").stdout.split())
    assert (
        "« reu » : heures lues dans le fuseau Europe/Paris (et non plus Indian/Reunion) ; prochaine" in said
    )
    unknown = cli("schedule", "fuseau", "inconnue")
    assert unknown.code == 2 and "planification inconnue « inconnue »" in unknown.output
