"""Journeys in a real browser (Debian's chromium): sign-in, access refusal, accessibility."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.conftest import LOGINS, PASSWORD
from tests.web.live import screenshot, serious_accessibility_violations

pytestmark = pytest.mark.browser


def sign_in(page: Any, site: str, role: str) -> None:
    """Sign in through the form, with the keyboard only."""
    page.goto(f"{site}/connexion")
    page.get_by_label("Identifiant").fill(LOGINS[role])
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_label("Mot de passe").press("Enter")
    page.wait_for_load_state()


def test_sign_in_page_is_french_accessible_and_leads_the_admin_to_the_accounts(page: Any, site: str) -> None:
    page.goto(f"{site}/connexion")
    assert page.locator("html").get_attribute("lang") == "fr"
    assert serious_accessibility_violations(page) == []
    screenshot(page, "connexion")
    page.get_by_label("Identifiant").fill(LOGINS["admin"])
    page.get_by_label("Mot de passe").fill("mauvais-mot-de-passe")
    page.get_by_role("button", name="Se connecter").click()
    assert page.get_by_role("alert").inner_text().startswith("Identifiant ou mot de passe incorrect")
    sign_in(page, site, "admin")
    assert page.url.endswith("/admin/comptes")
    assert page.get_by_role("heading", level=1).inner_text() == "Comptes"
    assert serious_accessibility_violations(page) == []
    screenshot(page, "admin-comptes")


def test_skip_link_is_the_first_keyboard_stop_and_moves_to_the_content(page: Any, site: str) -> None:
    page.goto(f"{site}/connexion")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Aller au contenu"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "contenu"


def test_a_social_worker_cannot_open_a_dpo_page(page: Any, site: str) -> None:
    sign_in(page, site, "travailleur_social")
    response = page.goto(f"{site}/admin/comptes")
    assert response is not None and response.status == 403
    assert page.get_by_role("heading", level=1).inner_text() == "Accès refusé"
    assert serious_accessibility_violations(page) == []
    screenshot(page, "acces-refuse")
