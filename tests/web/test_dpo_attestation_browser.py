"""In a real browser (Debian's chromium): the DPO finds unattested entries, reviews and attests them from
the journal page, and the warning is gone."""

from __future__ import annotations

import re
from typing import Any

import pytest

from privacy import audit
from tests.web.conftest import LOGINS, PASSWORD, Site, app_keyring
from tests.web.live import screenshot, serious_accessibility_violations
from uptake.db import make_engine, transaction

pytestmark = pytest.mark.browser


def test_the_dpo_attests_the_unattested_entries_from_the_journal_page_and_the_warning_goes(
    page: Any, site: Site
) -> None:
    other = make_engine(site.engine.url.render_as_string(hide_password=False))  # not sealed by uptake
    with transaction(other) as session:
        for number in range(3):
            audit.append(session, actor="script-maison", action="foyer.consultation", object_ref=str(number))
    other.dispose()
    page.goto(f"{site.url}/connexion")
    page.get_by_label("Identifiant").fill(LOGINS["dpo"])
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_label("Mot de passe").press("Enter")
    page.wait_for_load_state()
    page.goto(f"{site.url}/dpo/journal")

    page.get_by_role("button", name="Vérifier l'intégrité").click()

    assert "Entrées non attestées" in page.get_by_role("alert").inner_text()
    section = page.get_by_role("region", name="Examiner et attester les entrées non signées")
    assert "Consultation de la fiche d'un foyer" in section.get_by_role("table").inner_text()
    field = section.get_by_label(re.compile(r"Attester jusqu'à l'entrée n°"))
    assert field.input_value() == field.get_attribute("max")  # all shown, by default
    assert serious_accessibility_violations(page) == []
    screenshot(page, "dpo-journal-a-attester")
    field.focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Attester ces entrées"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*/dpo/journal\?atteste=\d+$"))

    notice = page.get_by_role("status").inner_text()
    assert f"attestées par {LOGINS['dpo']}" in notice and "un point de contrôle signé les couvre" in notice
    assert page.get_by_role("alert").count() == 0
    assert serious_accessibility_violations(page) == []
    screenshot(page, "dpo-journal-atteste")
    page.get_by_role("button", name="Vérifier l'intégrité").click()
    assert "Journal intact" in page.get_by_role("status").inner_text()
    assert page.get_by_role("alert").count() == 0
    assert audit.verify(site.engine, app_keyring(site.home).public_key()).ok
