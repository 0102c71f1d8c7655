"""A social worker narrows a long call list to one commune and pages through it, in a real browser."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.web.conftest import LOGINS, Site, seed_worklist
from tests.web.live import screenshot, serious_accessibility_violations
from tests.web.test_browser_journeys import sign_in
from uptake.db import transaction
from uptake.users import set_sectors

pytestmark = pytest.mark.browser


def test_social_worker_filters_the_list_by_commune_and_pages_through_it_with_the_keyboard(
    page: Any, site: Site
) -> None:
    with transaction(site.engine) as session:
        set_sectors(session, LOGINS["travailleur_social"], ["04088", "04104"], actor="admin")
    seed_worklist(site.engine, 30)
    limans = seed_worklist(site.engine, 60, commune="04104", start=100)
    sign_in(page, site, "travailleur_social")
    caption = page.locator("caption")
    assert caption.inner_text().endswith("1–50 sur 90")
    page.get_by_label("Commune").select_option(label="Limans (04104)")
    page.get_by_role("button", name="Afficher").press("Enter")
    page.wait_for_url(re.compile(r".*/travail/liste\?commune=04104&campagne=$"))
    assert caption.inner_text() == (
        "Foyers de vos secteurs à Limans (04104), les plus prioritaires d'abord : 1–50 sur 60"
    )
    assert serious_accessibility_violations(page) == []
    screenshot(page, "liste-appels-filtre")
    pages = page.get_by_role("navigation", name="Pages de la liste d'appels")
    pages.get_by_role("link", name="Suivants").press("Enter")
    page.wait_for_url(re.compile(r".*page=2$"))
    assert caption.inner_text().endswith("51–60 sur 60")
    assert page.get_by_label("Commune").input_value() == "04104"  # the filter is kept
    shown = page.locator("tbody span[title]").evaluate_all("cells => cells.map(c => c.title)")
    assert len(shown) == 10 and set(shown) <= set(limans)
    pages.get_by_role("link", name="Précédents").click()
    page.wait_for_url(re.compile(r".*page=1$"))
    assert caption.inner_text().endswith("1–50 sur 60")


def test_a_result_recorded_from_the_second_page_of_a_commune_comes_back_to_it(page: Any, site: Site) -> None:
    with transaction(site.engine) as session:
        set_sectors(session, LOGINS["travailleur_social"], ["04088", "04104"], actor="admin")
    seed_worklist(site.engine, 30)
    seed_worklist(site.engine, 70, commune="04104", start=100)
    sign_in(page, site, "travailleur_social")
    page.goto(f"{site.url}/travail/liste?commune=04104&page=2")
    page.get_by_role("button", name="Foyer suivant").click()
    page.wait_for_url(re.compile(r".*/travail/foyers/\d+\?commune=04104&page=2$"))
    page.get_by_label("Résultat", exact=True).select_option(label="refus")
    page.get_by_role("button", name="Enregistrer le résultat").click()
    page.wait_for_url(re.compile(r".*/travail/liste\?fait=enregistre&commune=04104&page=2$"))
    assert page.locator("caption").inner_text() == (
        "Foyers de vos secteurs à Limans (04104), les plus prioritaires d'abord : 51–70 sur 70"
    )
    assert page.get_by_label("Commune").input_value() == "04104"
