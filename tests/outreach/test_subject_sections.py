"""The access report (GDPR art. 15) tells a household everything held on it: flags, lists, contacts,
outcomes with notes, in French."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from sqlalchemy.orm import Session

from outreach.launch import launch_campaign
from outreach.outcomes import record_outcome
from privacy import subjects
from tests.outreach.conftest import NOW
from tests.outreach.factories import campaign_22, flag, flags_frame
from uptake.subject_sections import outreach_sections

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
    assert [row[2:] for row in detected] == [
        ("Prime d'activité non demandée", "182,50 €", "revenus d'activité sans prime d'activité versée")
    ]
    listed = sections["Listes transmises dans le cadre d'un échange approuvé"]
    assert [row[0] for row in listed] == ["SMS action-2-2-non-recours tentative 1"]
    contacts = sections["Contacts préparés ou effectués"]
    assert [(row[2], row[3]) for row in contacts] == [("SMS", "n°1")]
    outcomes = sections["Résultats des contacts enregistrés"]
    assert [(row[1], row[4], row[5]) for row in outcomes] == [
        ("message laissé", "ts1", "Rappeler après 18 h")
    ]
    assert all(flags["id_foyer"][1] not in str(rows) for rows in sections.values())
