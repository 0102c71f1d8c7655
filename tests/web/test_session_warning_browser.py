"""The warning before a session ends for inactivity, in a real browser (RGAA 13.1, WCAG 2.2.1).

The application is served with an idle limit of a few seconds (`create_app(idle_timeout=…)`): the
warning comes at half of it, as it would three minutes before a limit of thirty.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from privacy import audit
from tests.web.conftest import Site, app_keyring, create_accounts, settings_for
from tests.web.live import live_server, screenshot, serious_accessibility_violations
from tests.web.test_browser_journeys import sign_in
from uptake.web.app import create_app

pytestmark = pytest.mark.browser

# Long enough for a loaded CI machine to sign in, and to check the warning (axe, screenshot) before the
# session ends: the warning comes at half of it.
IDLE = timedelta(seconds=24)


@pytest.fixture
def short_idle_site(sqlite_engine: Engine, tmp_path: Any) -> Iterator[Site]:
    """The application on loopback, its sessions ending after `IDLE` without a request."""
    home = tmp_path / "home"
    audit.seal_commits(sqlite_engine, lambda: app_keyring(home))
    create_accounts(sqlite_engine, ("dpo",))
    app = create_app(
        settings_for(sqlite_engine.url.render_as_string(hide_password=False), home), idle_timeout=IDLE
    )
    with live_server(app) as url:
        yield Site(url, sqlite_engine, home)


def _open_journal_and_type(page: Any, site: Site) -> float:
    """Sign in as the DPO, open the audit log and type in its landmark field; when signed in."""
    signed_in_at = time.monotonic()
    sign_in(page, site, "dpo")
    page.goto(f"{site.url}/dpo/journal")
    page.get_by_label("Repère noté à la vérification précédente (facultatif)").fill("repère en cours")
    return signed_in_at


def test_the_warning_comes_before_the_limit_and_staying_signed_in_keeps_the_session_and_the_typing(
    page: Any, short_idle_site: Site
) -> None:
    signed_in_at = _open_journal_and_type(page, short_idle_site)
    warning = page.get_by_role("alertdialog", name="Votre session va bientôt prendre fin")
    warning.wait_for(state="visible", timeout=int(IDLE.total_seconds() * 1000))
    assert time.monotonic() - signed_in_at < IDLE.total_seconds()
    assert re.search(r"prendra fin à \d{1,2} h \d{2}", warning.inner_text())
    assert "ANSSI" in warning.inner_text()
    # The focus is on the button: the keyboard answers at once.
    assert page.evaluate("document.activeElement.textContent") == "Rester connecté"
    assert serious_accessibility_violations(page) == []
    screenshot(page, "session-avertissement")
    page.keyboard.press("Enter")
    warning.wait_for(state="hidden")
    landmark = page.get_by_label("Repère noté à la vérification précédente (facultatif)")
    assert landmark.input_value() == "repère en cours"
    assert page.evaluate("document.activeElement.id") == "repere"  # back where the typing was
    # Past the limit the session would have had without the button, it still opens pages.
    time.sleep(max(0.0, signed_in_at + IDLE.total_seconds() + 1 - time.monotonic()))
    page.goto(f"{short_idle_site.url}/dpo/journal")
    assert page.url.endswith("/dpo/journal")
    assert page.get_by_role("heading", level=1).inner_text() == "Journal d'audit"


def test_without_an_answer_the_session_ends_and_the_page_says_so(page: Any, short_idle_site: Site) -> None:
    _open_journal_and_type(page, short_idle_site)
    page.get_by_role("alertdialog", name="Votre session va bientôt prendre fin").wait_for(state="visible")
    # The background questions of the page did not keep the session alive.
    ended = page.get_by_role("alertdialog", name="Votre session a pris fin")
    ended.wait_for(state="visible", timeout=int(IDLE.total_seconds() * 1000) + 5000)
    assert "reconnectez-vous" in ended.inner_text()
    assert page.evaluate("document.activeElement.textContent") == "Se reconnecter"
    screenshot(page, "session-terminee")
    page.get_by_role("button", name="Fermer ce message").click()
    landmark = page.get_by_label("Repère noté à la vérification précédente (facultatif)")
    assert landmark.input_value() == "repère en cours"  # still there, to be copied
    page.goto(f"{short_idle_site.url}/dpo/journal")
    assert "/connexion?session=terminee" in page.url
    assert "Votre session a pris fin" in page.get_by_role("main").inner_text()
