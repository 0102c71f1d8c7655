"""Caps across launches and campaigns (from the contact history), and the reconciliation job."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.campaigns import CapsSection
from outreach.launch import launch_campaign
from outreach.models import Assignment, Contact
from tests.outreach.conftest import NOW
from tests.outreach.factories import campaign_22, extract_frame, flag, flags_frame, pseudonym
from uptake.jobs import followups_job, reconciliation_job


def _no_holdout(campaign):
    return replace(campaign, temoin=campaign.temoin.model_copy(update={"part": 0.0}))


def test_a_second_launch_never_recontacts_about_the_same_right_nor_beyond_the_monthly_cap(make_world) -> None:
    world = make_world()
    flags = flags_frame([flag(1, "ppa_non_recours"), flag(2, "ppa_non_recours"), flag(2, "al_non_recours")])
    run_id = world.store_run(flags)
    world.store_contacts([pseudonym(1), pseudonym(2)])
    ppa_only = replace(
        _no_holdout(campaign_22()),
        campagne=campaign_22().campagne.model_copy(update={"regles": ["ppa_non_recours"]}),
    )
    launch_campaign(world.env, ppa_only, run_id, out_dir=world.out_dir / "1", now=NOW)

    # Same right, ten days later: nobody is contacted again.
    # (A campaign is launched once per run: the next runs flag the same households.)
    again = launch_campaign(
        world.env,
        ppa_only,
        world.store_run(flags),
        out_dir=world.out_dir / "2",
        now=NOW + dt.timedelta(days=10),
    )
    assert again.contactes == 0 and again.exclusions == {"contact_recent_meme_droit": 2}

    # Another right, but at most one contact per 30 days across campaigns: household 2 is over its cap.
    strict = replace(_no_holdout(campaign_22()), plafonds=CapsSection(tentatives_max_30_jours=1))
    third = launch_campaign(
        world.env,
        strict,
        world.store_run(flags),
        out_dir=world.out_dir / "3",
        now=NOW + dt.timedelta(days=10),
    )
    with Session(world.engine) as session:
        reasons = dict(
            session.execute(
                select(Assignment.id_foyer, Assignment.motif_exclusion).where(
                    Assignment.launch_id == third.launch_id
                )
            ).all()
        )
        contacted = session.scalars(
            select(Contact.id_foyer).where(Contact.launch_id == third.launch_id)
        ).all()
    assert reasons == {pseudonym(1): "plafond_tentatives", pseudonym(2): "plafond_tentatives"}
    assert contacted == []


def test_reconciliation_job_takes_the_newest_extract_of_the_inbox(uptake_home: Path, tmp_path: Path) -> None:
    inbox = tmp_path / "depot"
    (inbox / "archive").mkdir(parents=True)
    assert reconciliation_job(inbox=str(inbox), schedule="test") == {"status": "nothing_to_do"}
    extract_frame(["foyer-test-00000001"], month="2026-04-01").write_parquet(
        inbox / "archive" / "avril.parquet"
    )
    result = reconciliation_job(inbox=str(inbox), schedule="test")
    assert result["status"] == "succeeded" and result["mois_reference"] == "2026-04-01"
    assert result["droits_ouverts_contactes"] == 0


def test_followups_job_runs_on_an_empty_database(uptake_home: Path) -> None:
    assert followups_job(schedule="test") == {"status": "succeeded", "lancements": 0, "foyers": 0}


def test_a_contact_about_several_rights_counts_for_each_of_them(make_world) -> None:
    world = make_world()
    flags = flags_frame([flag(1, "ppa_non_recours"), flag(1, "rsa_non_recours", priorite=2)])
    run_id = world.store_run(flags)
    world.store_contacts([pseudonym(1)])
    launch_campaign(world.env, _no_holdout(campaign_22()), run_id, out_dir=world.out_dir / "1", now=NOW)
    rsa_only = replace(
        _no_holdout(campaign_22()),
        campagne=campaign_22().campagne.model_copy(update={"regles": ["rsa_non_recours"]}),
        plafonds=CapsSection(tentatives_max_30_jours=5),
    )
    again = launch_campaign(
        world.env,
        rsa_only,
        world.store_run(flags),
        out_dir=world.out_dir / "2",
        now=NOW + dt.timedelta(days=5),
    )
    assert again.exclusions == {"contact_recent_meme_droit": 1}


def test_a_launch_the_followups_job_cannot_serve_is_told_and_the_others_are_served(
    uptake_home: Path,
) -> None:
    from outreach.models import Launch
    from uptake.db import make_engine, upgrade
    from uptake.jobs import result_outcome

    engine = make_engine(f"sqlite:///{uptake_home / 'uptake.sqlite3'}")
    upgrade(engine)
    with Session(engine) as session, session.begin():  # a launch whose campaign file was removed since
        session.add(
            Launch(
                campagne="campagne-retiree",
                action="2.2",
                run_id=1,
                graine=1,
                part_temoin=0.0,
                config_sha256="0" * 64,
                acteur="equipe",
                lance_le=dt.datetime.now(dt.UTC),
                nb_signales=0,
                nb_contactes=0,
                nb_temoins=0,
                nb_exclus=0,
            )
        )
    engine.dispose()

    result = followups_job(schedule="quotidien")

    assert result["status"] == "followups_not_produced" and result["lancements"] == 1
    succeeded, said = result_outcome(result)
    assert not succeeded and said is not None
    assert said.startswith("relances produites pour les autres lancements, pas pour : lancement n°1")
    assert "campagne-retiree" in said and "la prochaine exécution les produira" in said
