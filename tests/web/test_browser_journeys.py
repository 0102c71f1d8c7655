"""Journeys in a real browser (Debian's chromium): the social worker, the DPO, the data team.

Every main page is checked with axe-core (no serious or critical violation) and kept as a screenshot
under `test-artifacts/screenshots/`.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from outreach.launch import launch_campaign
from privacy.errors import ExchangeRefused
from tests.web.conftest import (
    LOGINS,
    PASSWORD,
    Site,
    approve_exchange,
    request_exchange,
    tamper_audit_entry,
)
from tests.web.live import screenshot, serious_accessibility_violations
from tests.web.world import CALL_FIELDS, call_campaign, launch_calls, prepare
from uptake.db import transaction

pytestmark = pytest.mark.browser


def sign_in(page: Any, site: Site, role: str) -> None:
    """Sign in through the form, with the keyboard only."""
    page.goto(f"{site.url}/connexion")
    page.get_by_label("Identifiant").fill(LOGINS[role])
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_label("Mot de passe").press("Enter")
    page.wait_for_load_state()


def check_page(page: Any, name: str) -> None:
    """French, accessible (axe-core), kept as a screenshot."""
    assert page.locator("html").get_attribute("lang") == "fr"
    assert serious_accessibility_violations(page) == []
    screenshot(page, name)


def sign_out(page: Any) -> None:
    page.get_by_role("button", name="Se déconnecter").click()
    page.wait_for_url(re.compile(r".*/connexion$"))


def test_sign_in_page_is_french_accessible_and_leads_the_admin_to_the_accounts(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/connexion")
    check_page(page, "connexion")
    page.get_by_label("Identifiant").fill(LOGINS["admin"])
    page.get_by_label("Mot de passe").fill("mauvais-mot-de-passe")
    page.get_by_role("button", name="Se connecter").click()
    assert page.get_by_role("alert").inner_text().startswith("Identifiant ou mot de passe incorrect")
    sign_in(page, site, "admin")
    assert page.url.endswith("/admin/comptes")
    assert page.get_by_role("heading", level=1).inner_text() == "Comptes"
    check_page(page, "admin-comptes")


def test_admin_moves_a_worker_to_another_sector_who_then_changes_their_own_password(
    page: Any, site: Site
) -> None:
    sign_in(page, site, "travailleur_social")  # the account exists before the admin looks for it
    sign_out(page)
    sign_in(page, site, "admin")
    page.get_by_role("link", name=LOGINS["travailleur_social"], exact=True).click()
    page.wait_for_load_state()
    check_page(page, "admin-compte")
    page.get_by_label("Codes INSEE des communes").fill("04088 04104")
    page.get_by_role("button", name="Enregistrer les secteurs").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text().startswith("Secteurs enregistrés")
    sign_out(page)
    sign_in(page, site, "travailleur_social")
    page.get_by_role("link", name=re.compile("mon compte")).click()
    page.wait_for_url(re.compile(r".*/compte$"))
    assert "Forcalquier (04088), Limans (04104)" in page.get_by_role("main").inner_text()
    check_page(page, "mon-compte")
    page.get_by_label("Mot de passe actuel").fill(PASSWORD)
    page.get_by_label("Nouveau mot de passe (12 caractères au moins)").fill("une-nouvelle-phrase-de-passe")
    page.get_by_label("Nouveau mot de passe, une seconde fois").fill("une-nouvelle-phrase-de-passe")
    page.get_by_label("Nouveau mot de passe, une seconde fois").press("Enter")
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text().startswith("Mot de passe changé")
    page.get_by_role("link", name="Ma liste d'appels").click()  # still signed in
    page.wait_for_url(re.compile(r".*/travail/liste$"))


def test_the_accessibility_statement_is_linked_from_the_foot_of_every_page(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/connexion")
    page.get_by_role("link", name="Accessibilité : non conforme").click()
    page.wait_for_url(re.compile(r".*/accessibilite$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Déclaration d'accessibilité"
    check_page(page, "accessibilite")
    sign_in(page, site, "dpo")
    footer = page.get_by_role("contentinfo")
    assert footer.get_by_role("link", name="Accessibilité : non conforme").count() == 1


def test_skip_link_is_the_first_keyboard_stop_and_moves_to_the_content(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/connexion")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "contenu"


def test_a_social_worker_cannot_open_a_dpo_page(page: Any, site: Site) -> None:
    sign_in(page, site, "travailleur_social")
    response = page.goto(f"{site.url}/dpo/journal")
    assert response is not None and response.status == 403
    assert page.get_by_role("heading", level=1).inner_text() == "Accès refusé"
    check_page(page, "acces-refuse")


def test_dpo_approves_an_exchange_and_the_call_list_can_then_be_produced(page: Any, site: Site) -> None:
    world, run_id = prepare(site.engine, site.home)
    exchange_id = request_exchange(site.engine, "CTG-FORCALQUIER-DROITS", CALL_FIELDS)
    with pytest.raises(ExchangeRefused):  # no list without the DPO's approval
        launch_campaign(world.env, call_campaign(), run_id, out_dir=world.out_dir)

    sign_in(page, site, "dpo")
    page.goto(f"{site.url}/dpo/echanges")
    check_page(page, "dpo-echanges")
    page.get_by_label("Avis du DPO").fill(
        "Favorable : finalité d'information sur les droits, champs limités."
    )
    page.get_by_label("Recommandations (une par ligne)").fill("Purger la liste à 90 jours")
    page.get_by_role("button", name=f"Approuver l'échange n°{exchange_id}").click()
    assert "Échange approuvé et signé" in page.get_by_role("status").inner_text()

    launch_id = launch_calls(world, run_id)
    from outreach.models import WorklistItem

    with transaction(site.engine) as session:
        assert session.query(WorklistItem).filter_by(launch_id=launch_id).count() > 0


def test_social_worker_takes_the_next_household_records_an_opened_right_and_the_report_counts_it(
    page: Any, site: Site
) -> None:
    world, run_id = prepare(site.engine, site.home)
    from tests.web.conftest import approve_exchange

    approve_exchange(site.engine, site.home, CALL_FIELDS)
    launch_calls(world, run_id)

    sign_in(page, site, "travailleur_social")
    assert page.url.endswith("/travail/liste")
    check_page(page, "travail-liste")
    page.get_by_role("button", name="Foyer suivant").click()
    assert re.search(r"/travail/foyers/\d+$", page.url)
    assert page.get_by_text("Téléphone", exact=True).count() == 1  # the approved exchange covers the phone
    check_page(page, "travail-fiche-foyer")
    page.get_by_label("Résultat", exact=True).select_option("droit_ouvert")
    page.get_by_label("Montant mensuel du droit ouvert, en euros (seulement pour « droit ouvert »)").fill(
        "182,50"
    )
    page.get_by_role("button", name="Enregistrer le résultat").click()
    assert "Résultat enregistré" in page.get_by_role("status").inner_text()
    sign_out(page)

    sign_in(page, site, "equipe_donnees")
    page.goto(f"{site.url}/donnees/indicateurs")
    check_page(page, "donnees-indicateurs")
    summary = page.get_by_role("table", name="Action 2.2 — accès aux droits : synthèse")
    row = summary.get_by_role("row", name=re.compile(r"Droits ouverts \(foyers contactés\)"))
    assert row.get_by_role("cell").nth(1).inner_text() == "1"
    assert "182,5" in page.get_by_role("table", name="Action 2.2 — par canal").inner_text()  # mean amount
    page.goto(f"{site.url}/donnees/campagnes")
    check_page(page, "donnees-campagnes")
    assert "droit ouvert : 1" in page.content()
    page.goto(f"{site.url}/donnees/executions")
    check_page(page, "donnees-executions")
    page.get_by_role("link", name=f"Exécution n° {run_id}").click()
    check_page(page, "donnees-execution")
    assert page.get_by_role("heading", name=f"Exécution n° {run_id}").count() == 1


def test_dpo_verifies_the_audit_log_after_a_tampering_and_sees_where_it_broke(page: Any, site: Site) -> None:
    from privacy import audit

    with transaction(site.engine) as session:
        for i in range(6):
            audit.append(session, actor="equipe-donnees", action="essai", object_ref=f"objet-{i}")
    sign_in(page, site, "dpo")
    page.goto(f"{site.url}/dpo/journal")
    page.get_by_role("button", name="Vérifier l'intégrité").click()
    assert "Journal intact" in page.get_by_role("status").inner_text()
    tamper_audit_entry(site.engine, 4)
    page.get_by_role("button", name="Vérifier l'intégrité").click()
    alert = page.get_by_role("alert").inner_text()
    assert "Journal altéré à partir de l'entrée n°4" in alert
    check_page(page, "dpo-journal-altere")
    for path, name in (
        ("/dpo/consultations", "dpo-consultations"),
        ("/dpo/registre", "dpo-registre"),
        ("/dpo/purges", "dpo-purges"),
        ("/dpo/demandes", "dpo-demandes"),
    ):
        page.goto(f"{site.url}{path}")
        check_page(page, name)


@pytest.mark.parametrize("role", ["dpo", "equipe_donnees", "travailleur_social", "admin"])
def test_on_a_phone_no_page_is_wider_than_the_screen(browser: Any, site: Site, role: str) -> None:
    # Wide tables scroll inside their own frame; the page itself never scrolls sideways.
    world, run_id = prepare(site.engine, site.home)  # a run, the register, contacts: pages have rows
    exchange_id = approve_exchange(site.engine, site.home, CALL_FIELDS)
    launch_calls(world, run_id)
    details = {
        "dpo": f"/dpo/echanges/{exchange_id}",
        "equipe_donnees": f"/donnees/executions/{run_id}",
        "admin": f"/admin/comptes/{LOGINS['travailleur_social']}",
    }
    context = browser.new_context(locale="fr-FR", viewport={"width": 390, "height": 844})
    phone = context.new_page()
    try:
        sign_in(phone, site, role)
        pages = {
            link.get_attribute("href")
            for link in phone.locator("nav a").all()
            if (link.get_attribute("href") or "").startswith("/")
        }
        assert pages
        pages |= {details[role]} if role in details else set()  # a page reached from a list
        pages.add("/compte")  # reached from the header
        wider = {}
        for href in sorted(pages):
            phone.goto(f"{site.url}{href}")
            assert serious_accessibility_violations(phone) == [], href
            width = phone.evaluate("document.documentElement.scrollWidth")
            if width > 390:
                wider[href] = width
        if role == "travailleur_social":  # the call card, reached by taking the next household
            phone.goto(f"{site.url}/travail/liste")
            phone.get_by_role("button", name="Foyer suivant").click()
            phone.wait_for_load_state()
            assert "/travail/foyers/" in phone.url
            width = phone.evaluate("document.documentElement.scrollWidth")
            if width > 390:
                wider["fiche du foyer"] = width
        assert wider == {}
    finally:
        context.close()


def test_social_worker_types_in_a_returned_questionnaire_with_the_keyboard(page: Any, site: Site) -> None:
    from outreach.launch import OutreachEnv
    from tests.outreach.conftest import OutreachWorld, send_questionnaires
    from tests.outreach.conftest import approve_exchange as approve_all_fields
    from tests.outreach.factories import geography, templates_dir
    from tests.web.conftest import app_keyring, load_register

    load_register(site.engine)
    keyring = app_keyring(site.home)
    approve_all_fields(site.engine, keyring)
    env = OutreachEnv(site.engine, keyring, geography(), templates_dir(), actor="equipe-donnees")
    _, references = send_questionnaires(OutreachWorld(site.engine, keyring, env, site.home / "sorties", 0), 1)
    [reference] = references.values()
    sign_in(page, site, "travailleur_social")

    page.get_by_role("link", name="Saisir un questionnaire retourné").click()
    check_page(page, "travail-questionnaire-reference")
    page.get_by_label("Référence du questionnaire").fill(reference)
    page.get_by_label("Référence du questionnaire").press("Enter")
    page.wait_for_load_state()
    check_page(page, "travail-questionnaire-reponses")
    page.get_by_label("Date de réception").fill("2026-03-28")
    page.get_by_role("group", name="Constatez-vous de l'humidité").get_by_label("oui").check()
    page.get_by_role("group", name="Souhaitez-vous être contacté(e)").get_by_label("oui").check()
    page.get_by_role("button", name="Enregistrer le questionnaire").click()
    page.wait_for_load_state()

    assert page.get_by_role("status").inner_text().startswith(f"Questionnaire {reference} enregistré.")
    assert "remis sur la liste d'appels" in page.get_by_role("status").inner_text()
