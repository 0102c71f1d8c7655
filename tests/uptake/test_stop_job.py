"""The `stop` and `courriels_en_echec` jobs: the providers' files, picked up each day, are recorded."""

from __future__ import annotations

import datetime as dt
import mailbox
import os
import time
from dataclasses import replace
from pathlib import Path

from sqlalchemy.orm import Session

from outreach.launch import launch_campaign, run_followups
from outreach.oppositions import opposed
from outreach.simulation import delivery_report
from privacy import vault
from tests.outreach.conftest import NOW, OutreachWorld, world_in_home
from tests.outreach.factories import automatic_reply, campaign_22, flag, flags_frame
from uptake.jobs import REJECTED_DIR, REPORT_SUFFIX, bounces_job, result_outcome, stop_job


def _settled(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    past = time.time() - 3600
    os.utime(path, (past, past))
    return path


def _texted(uptake_home: Path, tmp_path: Path) -> tuple[OutreachWorld, list[str]]:
    """Two households sent an SMS at the launch (06 12 00 00 00 and 06 12 00 00 01)."""
    world = world_in_home(uptake_home, tmp_path)
    flags = flags_frame([flag(i) for i in range(2)])
    run_id = world.store_run(flags)
    ids = flags["id_foyer"].to_list()
    world.store_contacts(ids)
    campaign = replace(campaign_22(), temoin=campaign_22().temoin.model_copy(update={"part": 0.0}))
    launch_campaign(world.env, campaign, run_id, out_dir=world.out_dir, now=NOW)
    return world, ids


def test_stop_files_become_objections_and_go_away_a_refused_one_is_set_aside_with_its_report(
    uptake_home: Path, tmp_path: Path
) -> None:
    world, ids = _texted(uptake_home, tmp_path)
    inbox = tmp_path / "depot-stop"
    inbox.mkdir()
    good = _settled(inbox / "stop-0301.csv", "telephone;date\n06 12 00 00 01;2026-03-10\n")
    bad = _settled(inbox / "stop-0302.csv", "telephone\n06 12\n")
    arriving = inbox / "stop-0303.csv"
    arriving.write_text("telephone\n06 12 00 00 00\n", encoding="utf-8")  # still being copied

    result = stop_job(inbox=str(inbox), schedule="stop-quotidien")

    assert result["status"] == "refused" and result["files"] == "stop-0302.csv"
    assert (result["reponses"], result["foyers"], result["numeros_inconnus"]) == (1, 1, 0)
    assert not good.exists() and arriving.exists() and not bad.exists()
    report = (inbox / REJECTED_DIR / ("stop-0302.csv" + REPORT_SUFFIX)).read_text(encoding="utf-8")
    assert "ligne 2, colonne `telephone` : numéro absent ou illisible" in report and "06 12" not in report
    with Session(world.engine) as session:
        assert opposed(session, ids, now=NOW) == {ids[1]}
    ok, said = result_outcome(result)
    assert (
        not ok and said == "fichier(s) stop-0302.csv refusé(s) : leur rapport est à côté d'eux dans rejete/"
    )
    assert stop_job(inbox=str(inbox), min_age_s=3600) == {"status": "nothing_to_do"}


def test_a_stop_file_with_replies_asking_something_else_is_kept_aside_for_a_person_to_read(
    uptake_home: Path, tmp_path: Path
) -> None:
    world, ids = _texted(uptake_home, tmp_path)
    inbox = tmp_path / "depot-stop"
    inbox.mkdir()
    _settled(
        inbox / "stop-0401.csv",
        "telephone;message\n06 12 00 00 00;STOP merci\n06 12 00 00 01;Qui êtes-vous ? Rappelez-moi\n",
    )

    result = stop_job(inbox=str(inbox), schedule="stop")

    assert result["status"] == "replies_set_aside" and (result["foyers"], result["autres_messages"]) == (1, 1)
    with Session(world.engine) as session:
        assert opposed(session, ids, now=NOW) == {ids[0]}
    kept = inbox / REJECTED_DIR / "stop-0401.csv"
    report = kept.with_name(kept.name + REPORT_SUFFIX).read_text(encoding="utf-8")
    assert (
        kept.exists() and "lignes 3 du fichier (l'en-tête est la ligne 1)" in report and "06 12" not in report
    )
    ok, said = result_outcome(result)
    assert (
        not ok
        and said is not None
        and "1 réponse(s) qui ne sont pas une simple demande d'arrêt, dans stop-0401.csv" in said
    )


def test_a_reply_kept_aside_that_asks_to_stop_all_the_same_is_recorded_as_its_report_says(
    uptake_home: Path, tmp_path: Path
) -> None:
    # The file gives phone numbers only: the report's way must need nothing else.
    world, ids = _texted(uptake_home, tmp_path)
    inbox = tmp_path / "depot-stop"
    inbox.mkdir()
    _settled(
        inbox / "stop-0401.csv",
        "telephone;message\n06 12 00 00 00;STOP merci\n06 12 00 00 01;Qui êtes-vous ? Ne m'écrivez plus\n",
    )
    stop_job(inbox=str(inbox), schedule="stop")
    kept = inbox / REJECTED_DIR / "stop-0401.csv"
    report = kept.with_name(kept.name + REPORT_SUFFIX).read_text(encoding="utf-8")
    assert "remplacez leur message par « STOP » et remettez le fichier dans le dépôt" in report
    _settled(
        inbox / kept.name,
        kept.read_text(encoding="utf-8").replace("Qui êtes-vous ? Ne m'écrivez plus", "STOP"),
    )
    kept.unlink()

    result = stop_job(inbox=str(inbox), schedule="stop")

    assert result["status"] == "succeeded" and result["foyers"] == 1
    with Session(world.engine) as session:
        assert opposed(session, ids, now=NOW) == set(ids)


def test_the_stop_command_tells_how_to_record_a_reply_asking_to_stop_in_other_words(
    uptake_home: Path, tmp_path: Path, cli
) -> None:
    world, ids = _texted(uptake_home, tmp_path)
    replies = tmp_path / "stop.csv"
    replies.write_text(
        "telephone;message\n06 12 00 00 01;Qui êtes-vous ? Ne m'écrivez plus\n", encoding="utf-8"
    )
    told = " ".join(cli("outcomes", "stop", str(replies)).stdout.split())
    assert "remplacez leur message par « STOP » et importez à nouveau le fichier" in told
    replies.write_text(
        replies.read_text(encoding="utf-8").replace("Qui êtes-vous ? Ne m'écrivez plus", "STOP")
    )

    assert cli("outcomes", "stop", str(replies)).code == 0

    with Session(world.engine) as session:
        assert opposed(session, ids, now=NOW) == {ids[1]}


def _emailed(uptake_home: Path, tmp_path: Path) -> tuple[OutreachWorld, list[str]]:
    """Two households sent an SMS, then an e-mail a week later (foyer0@example.org, foyer1@…)."""
    world = world_in_home(uptake_home, tmp_path)
    flags = flags_frame([flag(i) for i in range(2)])
    run_id = world.store_run(flags)
    ids = flags["id_foyer"].to_list()
    world.store_contacts(ids)
    campaign = replace(campaign_22(), temoin=campaign_22().temoin.model_copy(update={"part": 0.0}))
    launch = launch_campaign(world.env, campaign, run_id, out_dir=world.out_dir, now=NOW)
    run_followups(
        world.env, campaign, launch.launch_id, out_dir=world.out_dir, now=NOW + dt.timedelta(days=7)
    )
    return world, ids


def _email_usable(world: OutreachWorld) -> dict[str, bool]:
    with Session(world.engine) as session:
        return {
            row["id_foyer"]: row["canal_email"]
            for row in vault.usable_channels(session).iter_rows(named=True)
        }


def test_bounce_files_leave_the_addresses_unused_and_go_away(uptake_home: Path, tmp_path: Path) -> None:
    world, ids = _emailed(uptake_home, tmp_path)
    inbox = tmp_path / "depot-echecs"
    inbox.mkdir()
    bounces = _settled(inbox / "echecs.csv", "email\nfoyer0@example.org\n")

    result = bounces_job(inbox=str(inbox), schedule="echecs-quotidien")

    assert result == {"status": "succeeded", "adresses": 1, "foyers": 1, "adresses_inconnues": 0}
    assert not bounces.exists()
    assert _email_usable(world) == {ids[0]: False, ids[1]: True}


def test_a_maildir_of_delivery_reports_is_recorded_then_emptied_other_messages_set_aside(
    uptake_home: Path, tmp_path: Path
) -> None:
    world, ids = _emailed(uptake_home, tmp_path)
    inbox = tmp_path / "retours"
    box = mailbox.Maildir(inbox, create=True)
    box.add(delivery_report([("foyer1@example.org", "failed", "5.1.1")]))
    reply = box.add(automatic_reply())

    result = bounces_job(inbox=str(inbox), schedule="echecs-quotidien")

    assert result["status"] == "refused" and result["files"] == f"{reply}.eml"
    assert (result["adresses"], result["foyers"], result["avis"], result["autres_messages"]) == (1, 1, 1, 1)
    assert len(mailbox.Maildir(inbox, create=False)) == 0
    set_aside = inbox / REJECTED_DIR / f"{reply}.eml"
    assert set_aside.read_bytes() == automatic_reply()
    assert "pas un avis de non-distribution" in (
        inbox / REJECTED_DIR / f"{reply}.eml{REPORT_SUFFIX}"
    ).read_text(encoding="utf-8")
    assert _email_usable(world) == {ids[0]: True, ids[1]: False}
    assert bounces_job(inbox=str(inbox))["status"] == "succeeded"  # an empty Maildir: nothing to record


def test_a_file_kept_for_a_person_is_said_even_when_another_file_is_refused(
    uptake_home: Path, tmp_path: Path
) -> None:
    _texted(uptake_home, tmp_path)
    inbox = tmp_path / "depot-stop"
    inbox.mkdir()
    _settled(inbox / "stop-a.csv", "telephone\n06 12\n")
    _settled(inbox / "stop-b.csv", "telephone;message\n06 12 00 00 01;Je ne veux plus de vos messages\n")

    ok, said = result_outcome(stop_job(inbox=str(inbox), schedule="stop"))

    assert not ok and said is not None
    assert "stop-a.csv refusé(s)" in said and "stop-b.csv mis de côté dans rejete/" in said
