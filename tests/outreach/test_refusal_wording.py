"""Refusals that say the real cause: an unknown filter at its own line, an exchange waiting for the
DPO, a launch that belongs to another campaign."""

from __future__ import annotations

import pytest

from outreach.errors import TemplateRefused
from outreach.launch import LaunchOfAnotherCampaign, launch_campaign, run_followups
from outreach.templates import check_campaign
from privacy.errors import ExchangeRefused
from tests.outreach.conftest import NOW
from tests.outreach.factories import campaign_22, campaign_71, flag, flags_frame, many_flags
from tests.outreach.test_template_network import LINE, _letter


@pytest.mark.parametrize(
    "injected",
    [
        "<p>{% if montant_estime %}environ {{ montant_estime|format_euro }}{% endif %}</p>",
        "<p>environ {{ montant_estime|format_euro }}</p>",
    ],
)
def test_an_unknown_filter_is_named_at_its_own_line(tmp_path, injected: str) -> None:
    folder, campaign = _letter(tmp_path, injected)
    with pytest.raises(TemplateRefused) as refused:
        check_campaign(campaign, folder)
    said = str(refused.value)
    assert refused.value.line == LINE, said
    assert "filtre `format_euro` inconnu" in said
    assert "déjà un texte mis en forme" in said and "calcul entre un texte" not in said


def test_a_launch_without_exchange_number_says_which_exchange_waits_for_the_dpo(make_world) -> None:
    world = make_world(approved=False)
    run_id = world.store_run(many_flags(5))
    with pytest.raises(ExchangeRefused) as refused:
        launch_campaign(world.env, campaign_22(), run_id, out_dir=world.out_dir, now=NOW)
    assert f"l'échange n°{world.exchange_id} attend la décision du DPO" in str(refused.value)


def test_a_pending_exchange_is_told_in_the_masculine(make_world) -> None:
    world = make_world(approved=False)
    run_id = world.store_run(many_flags(5))
    with pytest.raises(ExchangeRefused) as refused:
        launch_campaign(
            world.env, campaign_22(), run_id, out_dir=world.out_dir, now=NOW, exchange_id=world.exchange_id
        )
    assert "échange demandé, non approuvé par le DPO" in str(refused.value)


def test_a_followup_of_another_campaigns_launch_names_its_campaign(make_world) -> None:
    world = make_world()
    flags = flags_frame([flag(i, "impaye_locatif") for i in range(1, 4)])
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    launched = launch_campaign(world.env, campaign_71(), run_id, out_dir=world.out_dir, now=NOW)
    with pytest.raises(LaunchOfAnotherCampaign) as refused:
        run_followups(world.env, campaign_22(), launched.launch_id, out_dir=world.out_dir, now=NOW)
    said = str(refused.value)
    assert f"le lancement n°{launched.launch_id} est un lancement de action-7-1-logement" in said
    assert "introuvable" not in said


def test_an_estimated_amount_is_said_to_the_euro() -> None:
    from outreach.templates import format_estimate

    assert format_estimate(510.53) == "511 €"
    assert format_estimate(187.5) == "188 €"
    assert format_estimate(1234.49) == "1\u202f234 €"
    assert format_estimate(None) is None
