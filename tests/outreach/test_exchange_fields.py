"""What a campaign's exchange must approve: the contact fields of its channels, and what its lists and
messages tell of the detection about a named person (the rights presumed, the reasons and estimate)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.campaigns import Attempt
from outreach.launch import campaign_fields, launch_campaign
from outreach.models import Launch
from outreach.templates import Renderer
from privacy.directory import PERSONAL_FIELDS
from privacy.errors import ExchangeRefused
from privacy.exchanges import DETECTION_FIELDS
from privacy.models import PersonalOutput
from tests.outreach.conftest import NOW
from tests.outreach.factories import campaign_22, campaign_71, flag, flags_frame, many_flags, templates_dir


def _only(canal: str, modele: str) -> Attempt:
    return Attempt(canal=canal, modele=modele, condition="toujours")


def test_the_shipped_campaigns_ask_for_the_rights_presumed_and_the_detection_reasons() -> None:
    fields = campaign_fields(Renderer(templates_dir(), campaign_22()))
    assert {"droits_presumes", "motifs", "telephone", "email", "adresse"} <= set(fields)
    sms_only = replace(campaign_22(), tentatives=(_only("sms", "2-2-sms"),))
    # An SMS names the right but never an amount nor a reason: its provider gets no more.
    assert campaign_fields(Renderer(templates_dir(), sms_only)) == ["droits_presumes", "telephone"]
    calls_only = replace(campaign_22(), tentatives=(_only("appel", "2-2-script-appel"),))
    assert set(campaign_fields(Renderer(templates_dir(), calls_only))) >= {"motifs", "droits_presumes"}


def test_a_message_asks_for_the_reasons_only_when_its_template_reads_them(tmp_path: Path) -> None:
    texts = tmp_path / "templates"
    shutil.copytree(templates_dir(), texts)
    (texts / "sobre.txt.j2").write_text("Droit {{ prestations_a }}. {{ mention_droits }}\n")
    (texts / "sobre.html.j2").write_text("<p>Vous pourriez avoir droit {{ prestations_a }}.</p>\n")
    (texts / "montant.txt.j2").write_text("Environ {{ montant_estime }} par mois.\n")
    (texts / "bavard.txt.j2").write_text('{{ prestations_a }} {% include "montant.txt.j2" %}\n')
    (texts / "bavard.html.j2").write_text("<p>{{ prestations_a }}</p>\n")
    renderer = Renderer(texts, campaign_22())
    assert renderer.disclosed(_only("email", "sobre")) == ("droits_presumes",)
    # The amount is read by an included text: found all the same.
    assert renderer.disclosed(_only("email", "bavard")) == DETECTION_FIELDS


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_launch_is_refused_when_the_exchange_covers_the_contacts_but_not_what_the_lists_say(
    make_world,
) -> None:
    world = make_world(fields=PERSONAL_FIELDS)  # every contact field, nothing of the detection
    run_id = world.store_run(many_flags(5))
    with pytest.raises(ExchangeRefused) as refused:
        launch_campaign(world.env, campaign_71(), run_id, out_dir=world.out_dir, now=NOW)
    assert "droits_presumes" in str(refused.value) and "motifs" in str(refused.value)
    assert not world.out_dir.exists() or not any(world.out_dir.iterdir())
    with Session(world.engine) as session:
        assert session.scalars(select(Launch)).first() is None


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_each_list_records_the_detection_fields_it_holds(make_world) -> None:
    world = make_world()
    texted = flags_frame([flag(i) for i in range(1, 6)])
    called = flags_frame([flag(i, "logement_non_decent") for i in range(6, 11)])
    world.store_contacts([*texted["id_foyer"], *called["id_foyer"]])
    launch_campaign(world.env, campaign_22(), world.store_run(texted), out_dir=world.out_dir, now=NOW)
    calls_run = world.store_run(called)
    launch_campaign(world.env, campaign_71(), calls_run, out_dir=world.out_dir, now=NOW)
    with Session(world.engine) as session:
        recorded = {o.label: set(o.fields) for o in session.scalars(select(PersonalOutput))}
    sms = next(fields for label, fields in recorded.items() if label.startswith("SMS"))
    calls = next(fields for label, fields in recorded.items() if label.startswith("Liste d'appels"))
    assert sms == {"telephone", "droits_presumes"}
    assert {"nom", "telephone", "droits_presumes", "motifs"} <= calls
