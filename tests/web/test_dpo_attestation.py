"""The DPO attests, from the journal page, the entries no signed checkpoint attests: only what the page
showed, only in an intact log, only on a server that can sign, and in the DPO's name."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from privacy import audit
from privacy.keys import SIGNING_KEY
from privacy.models import AuditCheckpoint, AuditEntry
from tests.web.conftest import LOGINS, app_keyring, csrf_of, cut_audit_tail, tamper_audit_entry
from uptake.db import make_engine, transaction

Client = Callable[[str | None], TestClient]
FIELDS = ("premiere", "derniere", "empreinte", "repere", "jusqu_a")


def _log_with_unattested_tail(engine: Engine) -> None:
    """Entries n°1 and n°2 written by uptake (signed), n°3 to n°5 by a script on an engine of its own,
    which uptake did not seal (unattested)."""
    with transaction(engine) as session:
        for number in range(2):
            audit.append(
                session, actor="equipe-donnees", action="registre.chargement", object_ref=f"r-{number}"
            )
    other = make_engine(engine.url.render_as_string(hide_password=False))
    with transaction(other) as session:
        for action in ("foyer.consultation", "foyer.consultation", "purge"):
            audit.append(session, actor="script-maison", action=action)
    other.dispose()


def _state(engine: Engine) -> tuple[int, int]:
    with transaction(engine) as session:
        entries = session.scalar(select(func.count()).select_from(AuditEntry)) or 0
        points = session.scalar(select(func.count()).select_from(AuditCheckpoint)) or 0
    return entries, points


def _read(response: httpx.Response) -> str:
    """A page's text as a person reads it (entities unescaped)."""
    return html.unescape(response.text)


def _form_of(page: str) -> dict[str, str]:
    """The attestation form's fields as the page filled them (`jusqu_a`: its default)."""
    form = page[page.index('action="/dpo/journal/attester"') :]
    found = {}
    for name in FIELDS:
        match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', form)
        assert match, f"no field {name} in the attestation form"
        found[name] = match.group(1)
    found["csrf_token"] = csrf_of(page)
    return found


def _reviewed(client: TestClient) -> tuple[str, dict[str, str]]:
    """The DPO verifies the log; the page (as read, entities unescaped) and its attestation form."""
    page = client.post("/dpo/journal/verifier", data={"csrf_token": csrf_of(client.get("/dpo/journal").text)})
    assert page.status_code == 200, page.text
    return html.unescape(page.text), _form_of(page.text)


def _attest_directly(engine: Engine, home: Path, up_to: int | None = None) -> None:
    """Another DPO's attestation, from the command line, while the page is open."""
    keyring = app_keyring(home)
    with transaction(engine) as session:
        pending = audit.unattested(session, keyring.public_key())
        assert pending is not None
        audit.attest(session, keyring, pending, dpo="autre-dpo", up_to=up_to)


def test_the_dpo_reviews_the_unattested_entries_and_attests_them_in_their_name(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    client = client_for("dpo")  # entry n°1, its account's creation
    _log_with_unattested_tail(engine)

    page, form = _reviewed(client)

    # The verification's own entry (n°7) is unsigned with them: it is offered too.
    assert "Entrées non attestées à partir de l'entrée n°4." in page
    assert "Entrées n° 4 à 7 (4 entrée(s)), écrites du" in page
    assert (
        "Consultation de la fiche d'un foyer<br><code>foyer.consultation</code></td>"
        '<td class="nombre">2</td><td>script-maison</td>' in page
    )
    assert "Purge (bilan)" in page
    assert (form["premiere"], form["derniere"], form["jusqu_a"]) == ("4", "7", "7")

    attested = client.post("/dpo/journal/attester", data=form)

    assert attested.status_code == 303 and attested.headers["location"] == "/dpo/journal?atteste=8"
    journal = _read(client.get(attested.headers["location"]))
    assert (
        f"Entrées n° 4 à 7 (4 entrées) attestées par {LOGINS['dpo']} : l'attestation est inscrite au journal "
        "(entrée n° 8) et un point de contrôle signé les couvre." in journal
    )
    assert "restent à attester" not in journal and "non attestées" not in journal
    assert "entrées n° 4 à 7 (4 entrées)</td>" in journal  # the attestation's line in the log
    assert audit.verify(engine, app_keyring(tmp_path / "home").public_key()).ok
    with transaction(engine) as session:
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).one()
        assert (last.seq, last.actor, last.action) == (8, LOGINS["dpo"], "journal.attestation")
    export = client.get("/dpo/journal.csv").text.splitlines()
    [exported] = [row for row in export if "journal.attestation" in row]
    assert exported.endswith(";entrées n° 4 à 7 (4 entrées)")  # the range in the export too
    again = client.post("/dpo/journal/verifier", data={"csrf_token": form["csrf_token"]}).text
    assert "Journal intact" in again and 'action="/dpo/journal/attester"' not in again


def test_attesting_up_to_an_entry_leaves_the_next_ones_to_attest_and_says_so(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    client = client_for("dpo")  # entry n°1, its account's creation
    _log_with_unattested_tail(engine)
    _page, form = _reviewed(client)

    attested = client.post("/dpo/journal/attester", data={**form, "jusqu_a": "5"})

    assert attested.status_code == 303
    journal = _read(client.get(attested.headers["location"]))
    assert "Entrées n° 4 à 5 (2 entrées) attestées par" in journal
    assert (
        "Les entrées à partir du n° 6 (dont cette attestation, qui les suit dans la chaîne) restent"
        in journal
    )
    problem = audit.verify(engine, app_keyring(tmp_path / "home").public_key()).problem
    assert problem is not None and (problem.kind, problem.seq) == ("non_signee", 6)


def test_a_log_changed_since_the_page_showed_it_is_refused_and_shown_again(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    client = client_for("dpo")  # entry n°1, its account's creation
    _log_with_unattested_tail(engine)
    _page, form = _reviewed(client)
    _attest_directly(engine, tmp_path / "home", up_to=5)  # n°4 and n°5 attested meanwhile, n°8 records it
    before = _state(engine)

    refused = client.post("/dpo/journal/attester", data=form)

    assert refused.status_code == 409
    said = _read(refused)
    assert "Le journal a changé depuis son affichage" in said and "rien n'a été attesté" in said
    assert _state(engine) == before
    fresh = _form_of(_read(refused))  # what is left, to review again
    assert (fresh["premiere"], fresh["derniere"]) == ("6", "8")


def test_nothing_left_to_attest_is_said_and_nothing_is_written(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    client = client_for("dpo")  # entry n°1, its account's creation
    _log_with_unattested_tail(engine)
    _page, form = _reviewed(client)
    _attest_directly(engine, tmp_path / "home")
    before = _state(engine)

    refused = client.post("/dpo/journal/attester", data=form)

    assert refused.status_code == 409
    assert "Rien à attester : toutes les entrées du journal sont attestées" in _read(refused)
    assert 'action="/dpo/journal/attester"' not in _read(refused)
    assert _state(engine) == before


def test_a_chain_broken_since_the_page_showed_it_is_not_attested(client_for: Client, engine: Engine) -> None:
    client = client_for("dpo")  # entry n°1, its account's creation
    _log_with_unattested_tail(engine)
    _page, form = _reviewed(client)
    tamper_audit_entry(engine, 1)
    before = _state(engine)

    refused = client.post("/dpo/journal/attester", data=form)

    assert refused.status_code == 409
    assert "Attestation refusée : l'entrée n°1 a été modifiée" in _read(refused)
    assert "une chaîne altérée ne s'atteste pas" in _read(refused)
    assert _state(engine) == before


def test_a_server_without_its_signing_key_attests_nothing(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    client = client_for("dpo")  # entry n°1, its account's creation
    _log_with_unattested_tail(engine)
    _page, form = _reviewed(client)
    (tmp_path / "home" / "keys" / f"{SIGNING_KEY}.key").unlink()
    before = _state(engine)

    refused = client.post("/dpo/journal/attester", data=form)

    assert refused.status_code == 503
    said = _read(refused)
    assert "Ce serveur ne peut pas signer le journal" in said and "Rien n'a été attesté" in said
    assert _state(engine) == before


def test_only_a_dpo_may_attest(client_for: Client, engine: Engine) -> None:
    _log_with_unattested_tail(engine)
    _page, form = _reviewed(client_for("dpo"))
    others = {role: client_for(role) for role in ("equipe_donnees", "admin", "travailleur_social")}
    before = _state(engine)

    for role, other in others.items():
        token = csrf_of(other.get("/compte").text)
        refused = other.post("/dpo/journal/attester", data={**form, "csrf_token": token})
        assert refused.status_code == 403, role

    assert _state(engine) == before


def test_unsigned_entries_in_place_of_the_noted_ones_are_a_rewritten_tail_not_offered_to_attest(
    client_for: Client, engine: Engine
) -> None:
    client = client_for("dpo")
    token = csrf_of(client.get("/dpo/journal").text)
    first = client.post("/dpo/journal/verifier", data={"csrf_token": token}).text
    [noted] = re.findall(r"prochaine vérification : <strong>(\d+:[0-9a-f]+)</strong>", first)
    cut_audit_tail(engine, int(noted.split(":")[0]))  # the verification's entry cut, with its checkpoint
    _log_with_unattested_tail(engine)  # then entries in its place, some of them unsigned

    checked = _read(client.post("/dpo/journal/verifier", data={"csrf_token": token, "repere": noted}))

    assert "n'est plus celle du repère noté : le journal a été réécrit" in checked
    assert 'action="/dpo/journal/attester"' not in checked
