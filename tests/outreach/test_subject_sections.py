"""The access report (GDPR art. 15) tells a household everything held on it: flags, lists, contacts,
outcomes with notes, in French."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy.orm import Session

from detection.retention import purge_flags
from outreach.launch import launch_campaign
from outreach.outcomes import record_outcome
from privacy import subjects
from tests.outreach.conftest import NOW
from tests.outreach.factories import campaign_22, flag, flags_frame
from uptake.subject_sections import output_label, outreach_sections

MATRICULE = "7654321"


def test_the_access_report_names_the_flags_every_list_and_the_notes_of_the_household(make_world) -> None:
    world = make_world()
    mine = subjects.pseudonym_for(world.keyring, MATRICULE, territory="test", finalite="detection")
    flags = flags_frame([flag(0, id_foyer=mine, montant_estime=182.5), flag(1)])
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    campaign = replace(campaign_22(), temoin=campaign_22().temoin.model_copy(update={"part": 0.0}))
    launch = launch_campaign(world.env, campaign, run_id, out_dir=world.out_dir, now=NOW)
    assert [a.canal for a in launch.attempts] == ["sms"]
    with Session(world.engine) as session, session.begin():
        record_outcome(
            session,
            id_foyer=mine,
            resultat="message_laisse",
            acteur="ts1",
            commentaire="Rappeler après 18 h",
            now=NOW + dt.timedelta(days=1),
        )

    with Session(world.engine) as session, session.begin():
        report = subjects.access_report(
            session,
            world.keyring,
            MATRICULE,
            territory="test",
            finalites=["detection"],
            actor="dpo",
            extra=outreach_sections(session, {"ppa_non_recours": "Prime d'activité non demandée"}),
        )

    sections = {section.title: section.rows for section in report.sections}
    detected = sections["Droits repérés par la détection (traitement automatisé des données de la Caf)"]
    # Kept 12 months after the run finished (10/03/2026), as the purge of flags does.
    assert [row[1:] for row in detected] == [
        (
            "Prime d'activité non demandée",
            "182,50 €",
            "revenus d'activité sans prime d'activité versée",
            "10/03/2027",
        )
    ]
    listed = sections["Listes de contact où vous figurez"]
    assert [row[0] for row in listed] == ["SMS action-2-2-non-recours tentative 1"]
    contacts = sections["Contacts préparés ou effectués"]
    assert [(row[2], row[3]) for row in contacts] == [("SMS", "premier contact")]
    outcomes = sections["Résultats des contacts enregistrés"]
    assert [(row[1], row[4], row[5]) for row in outcomes] == [
        ("message laissé", "un travailleur social", "Rappeler après 18 h")
    ]
    assert all(flags["id_foyer"][1] not in str(rows) for rows in sections.values())


CONTROL_GROUP_TITLE = "Campagnes de contact : la décision prise pour votre foyer"


def test_a_control_group_household_is_told_it_was_left_uncontacted_and_what_the_campaign_keeps(
    make_world, tmp_path
) -> None:
    world = make_world()
    mine = subjects.pseudonym_for(world.keyring, MATRICULE, territory="test", finalite="detection")
    flags = flags_frame(
        [flag(0, id_foyer=mine, regle="rsa_non_recours", montant_estime=787.0, explication="RSA non versé")]
    )
    run_id = world.store_run(flags)
    world.store_contacts([mine])
    # Nearly everyone drawn into the control group: with this seed, the one household is.
    holdout = campaign_22().temoin.model_copy(update={"part": 0.99, "graine": 3})
    launch_campaign(world.env, replace(campaign_22(), temoin=holdout), run_id, out_dir=world.out_dir, now=NOW)
    # A year and more later, the run's flags are purged; the campaign's history stays 36 months.
    with Session(world.engine) as session, session.begin():
        purged = purge_flags(session, tmp_path, actor="purge", now=NOW + dt.timedelta(days=400))
    assert purged.flags == 1

    with Session(world.engine) as session, session.begin():
        report = subjects.access_report(
            session,
            world.keyring,
            MATRICULE,
            territory="test",
            finalites=["detection"],
            actor="dpo",
            extra=outreach_sections(
                session,
                {"rsa_non_recours": "RSA non demandé"},
                campaign_titles={"action-2-2-non-recours": "Action 2.2 : droits non réclamés"},
                commune_names={"04088": "Forcalquier"},
            ),
        )

    sections = {section.title: section for section in report.sections}
    assert (
        sections["Droits repérés par la détection (traitement automatisé des données de la Caf)"].rows == ()
    )
    held = sections[CONTROL_GROUP_TITLE]
    assert [row[:6] for row in held.rows] == [
        (
            "Action 2.2 : droits non réclamés",
            "10/03/2026",
            "groupe témoin : volontairement pas contacté (tirage au sort)",
            "RSA non demandé",
            "787,00 €",
            "RSA non versé",
        )
    ]
    assert held.rows[0][6] == "Forcalquier" and held.rows[0][-1] == "10/03/2029"  # 36 months on
    assert "groupe témoin" in held.note and "tirée au sort" in held.note and "36 mois" in held.note
    text = subjects.render_text(report)
    assert "Montant estimé par mois : 787,00 €" in text and "(aucune donnée)" in text


def test_a_household_left_out_is_told_why_and_nothing_is_shown_by_its_code(make_world) -> None:
    world = make_world()
    mine = subjects.pseudonym_for(world.keyring, MATRICULE, territory="test", finalite="detection")
    flags = flags_frame([flag(0, id_foyer=mine, opposition_contact=True, montant_estime=None), flag(1)])
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    launch_campaign(world.env, campaign_22(), run_id, out_dir=world.out_dir, now=NOW)
    with Session(world.engine) as session, session.begin():
        record_outcome(session, id_foyer=mine, resultat="refus", acteur="ts1", now=NOW)

    with Session(world.engine) as session, session.begin():
        report = subjects.access_report(
            session,
            world.keyring,
            MATRICULE,
            territory="test",
            finalites=["detection"],
            actor="dpo",
            extra=outreach_sections(session),
        )

    sections = {section.title: section.rows for section in report.sections}
    assert sections[CONTROL_GROUP_TITLE][0][2].startswith("pas contacté : opposition au contact")
    outcome = sections["Résultats des contacts enregistrés"][0]
    assert outcome[4] == "un travailleur social" and "ts1" not in outcome
    text = subjects.render_text(report)
    # Empty fields are left out rather than shown as « Montant :  ; ».
    assert " :  ;" not in text and not any(line.rstrip().endswith(" :") for line in text.splitlines())
    assert "Montant estimé par mois" not in text.split(CONTROL_GROUP_TITLE)[1].split("Contacts")[0]


def test_a_list_s_label_names_its_campaign_and_its_attempt_in_words() -> None:
    label = output_label({"action-2-2-non-recours": "Action 2.2 : droits non réclamés"})
    assert (
        label("SMS action-2-2-non-recours tentative 1")
        == "SMS « Action 2.2 : droits non réclamés » (premier contact)"
    )
    assert (
        label("Liste d'appels autre-campagne tentative 3 (CSV)")
        == "Liste d'appels autre-campagne (relance n°2) (CSV)"
    )


def test_the_flags_are_dated_by_the_purge_the_installation_schedules_and_the_report_says_which(
    make_world,
) -> None:
    from uptake.scheduler import add_schedule, pause_schedule
    from uptake.subject_sections import flags_retention

    world = make_world()
    mine = subjects.pseudonym_for(world.keyring, MATRICULE, territory="test", finalite="detection")
    world.store_run(flags_frame([flag(0, id_foyer=mine)]))

    def detected() -> tuple[str, str]:
        with Session(world.engine) as session, session.begin():
            report = subjects.access_report(
                session,
                world.keyring,
                MATRICULE,
                territory="test",
                finalites=["detection"],
                actor="dpo",
                extra=outreach_sections(session, retention=flags_retention(world.engine)),
            )
        [section] = [s for s in report.sections if s.title.startswith("Droits repérés")]
        [row] = section.rows
        return row[-1], section.note

    default_until, default_note = detected()
    add_schedule(world.engine, "nuit", cron="30 2 * * *", job="purge", params={"flags_months": "3"})
    scheduled_until, scheduled_note = detected()
    pause_schedule(world.engine, "nuit")
    paused_until, paused_note = detected()

    # The run finished on 10/03/2026.
    assert default_until == paused_until == "10/03/2027"
    assert "12 mois après la détection, durée prévue par défaut" in default_note
    assert "aucune purge automatique n'est planifiée" in default_note and paused_note == default_note
    assert scheduled_until == "10/06/2026"
    assert "3 mois après la détection, durée appliquée par la purge automatique" in scheduled_note
    assert "« nuit »" in scheduled_note and "aucune purge" not in scheduled_note
