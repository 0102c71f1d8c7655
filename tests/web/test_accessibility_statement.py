"""The accessibility statement: public, honest about its status, and linked from every page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

Client = Callable[[str | None], TestClient]
LINK = '<a href="/accessibilite">Accessibilité : non conforme</a>'


def test_the_statement_says_its_status_what_is_checked_and_the_remedies(client_for: Client) -> None:
    page = client_for(None).get("/accessibilite")
    assert page.status_code == 200
    assert "<strong>non conforme</strong>" in page.text and "aucun audit de conformité" in page.text
    assert "axe-core" in page.text and "Défenseur des droits" in page.text


def test_the_statement_names_what_is_not_accessible_and_when_it_was_established(client_for: Client) -> None:
    page = client_for(None).get("/accessibilite").text
    assert "Contenus non accessibles" in page
    assert "critère 13.1 du RGAA, respecté" in page and "« Rester connecté »" in page
    assert "Établissement de cette déclaration" in page
    assert 'href="https://formulaire.defenseurdesdroits.fr/"' in page


def test_every_page_links_to_the_statement(client_for: Client) -> None:
    anonymous = client_for(None)
    assert LINK in anonymous.get("/connexion").text
    assert LINK in anonymous.get("/page-inconnue").text  # error pages too
    assert LINK in client_for("dpo").get("/dpo/echanges").text


def test_the_statement_gives_the_caf_s_accessibility_contact_when_one_is_set(
    client_for: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "mailto:" not in client_for(None).get("/accessibilite").text
    monkeypatch.setenv("UPTAKE_CONTACT_ACCESSIBILITE", "Accessibilite@caf-04.example.fr")
    page = client_for(None).get("/accessibilite").text
    assert '<a href="mailto:Accessibilite@caf-04.example.fr">' in page
