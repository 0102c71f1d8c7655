"""The DPO's pages: decide exchanges, verify the audit log, read the access log, register, purges."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from outreach.models import QuestionnaireAnswer
from privacy import audit, exchanges, retention
from privacy.models import AuditEntry, Opposition
from tests.conftest import audit_clock, log_end_signed
from tests.web.conftest import (
    LOGINS,
    app_keyring,
    approve_exchange,
    csrf_of,
    cut_audit_tail,
    load_register,
    request_exchange,
    tamper_audit_entry,
)
from uptake import french
from uptake.db import transaction
from uptake.web.household_views import VIEW_ACTION, record_view

Client = Callable[[str | None], TestClient]


def _exchange_with_one_list(engine: Engine, tmp_path: Path, label: str) -> tuple[int, Path]:
    """An exchange for `nom` approved with the application's key, and one list written under it."""
    home = tmp_path / "home"
    exchange_id = approve_exchange(engine, home, fields=("nom",))
    out = tmp_path / "liste.csv"
    with transaction(engine) as session:
        grant = exchanges.authorise(session, app_keyring(home), exchange_id, ["nom"], now=datetime.now(UTC))
        frame = pl.DataFrame({"id_foyer": ["f" * 64], "nom": ["Fictif"]})
        retention.write_personal_output(
            session, app_keyring(home), grant, out, frame, actor="equipe", label=label
        )
    return exchange_id, out


def test_dpo_approves_an_exchange_with_opinion_and_recommendations(
    client_for: Client, engine: Engine
) -> None:
    exchange_id = request_exchange(engine, load_register(engine))
    client = client_for("dpo")
    page = client.get("/dpo/echanges")
    assert f"Échange n°{exchange_id}" in page.text
    response = client.post(
        f"/dpo/echanges/{exchange_id}/approuver",
        data={
            "csrf_token": csrf_of(page.text),
            "avis": "Favorable",
            "recommandations": "SMS sobre\n\n   \nPas de relance  le dimanche\n",  # blank lines are none
        },
    )
    assert response.status_code == 303
    with transaction(engine) as session:
        exchange = exchanges.get(session, exchange_id)
        assert exchange.status == exchanges.APPROVED
        assert exchange.dpo == LOGINS["dpo"]
        assert exchange.recommandations == ["SMS sobre", "Pas de relance le dimanche"]
        assert exchange.signature
    assert "Échange approuvé et signé" in client.get(response.headers["location"]).text


def test_the_dpo_is_not_offered_to_decide_an_exchange_they_requested(
    client_for: Client, engine: Engine
) -> None:
    register_code = load_register(engine)
    own = request_exchange(engine, register_code, requester=LOGINS["dpo"].upper())
    other = request_exchange(engine, register_code)
    page = client_for("dpo").get("/dpo/echanges").text
    assert "Vous avez fait cette demande : la décision revient à un autre DPO" in page
    assert f"/dpo/echanges/{own}/approuver" not in page and f"/dpo/echanges/{own}/refuser" not in page
    assert f"/dpo/echanges/{other}/approuver" in page and page.count("Vous avez fait cette demande") == 1


def test_an_exchange_whose_register_entry_was_removed_is_shown_unusable(
    client_for: Client, engine: Engine
) -> None:
    from privacy import register

    exchange_id = request_exchange(engine, load_register(engine))
    client = client_for("dpo")
    assert "fiche du registre retirée" not in client.get("/dpo/echanges").text
    with transaction(engine) as session:
        register.save(session, [], actor="equipe-donnees", source="dossier vide")
    removed = "fiche du registre retirée : inutilisable tant qu'elle n'est pas rechargée"
    assert removed in html.unescape(client.get("/dpo/echanges").text)
    assert removed in html.unescape(client.get(f"/dpo/echanges/{exchange_id}").text)


def test_a_decided_exchange_cannot_be_decided_again(client_for: Client, engine: Engine) -> None:
    exchange_id = request_exchange(engine, load_register(engine))
    client = client_for("dpo")
    token = csrf_of(client.get("/dpo/echanges").text)
    assert (
        client.post(
            f"/dpo/echanges/{exchange_id}/refuser", data={"csrf_token": token, "avis": "Non"}
        ).status_code
        == 303
    )
    again = client.post(f"/dpo/echanges/{exchange_id}/approuver", data={"csrf_token": token, "avis": "Oui"})
    assert again.status_code == 400
    assert "déjà décidé (statut : refusée)" in again.text


def test_an_exchange_page_shows_its_terms_whether_its_signature_holds_and_what_it_produced(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    from sqlalchemy import update

    from privacy.models import Exchange

    exchange_id, _ = _exchange_with_one_list(engine, tmp_path, "Courriers action-2-2 tentative 4")
    client = client_for("dpo")
    assert f'href="/dpo/echanges/{exchange_id}"' in client.get("/dpo/echanges").text
    page = client.get(f"/dpo/echanges/{exchange_id}").text
    assert "Prestataire SMS (sous-traitant)" in page and "Art. L.114-8 II CRPA" in page
    assert "<strong>valide</strong>, la décision n'a pas été modifiée" in page
    assert "Sorties produites sous cet échange (1)" in page and "Courriers action-2-2 tentative 4" in page
    assert "Fictif" not in page  # the output's content is never shown
    with transaction(engine) as session:  # someone widens the approval in the database
        session.execute(
            update(Exchange).where(Exchange.id == exchange_id).values(fields=["nom", "telephone"])
        )
    assert "<strong>invalide</strong>" in client.get(f"/dpo/echanges/{exchange_id}").text
    assert client.get("/dpo/echanges/999").status_code == 404


def _journal_of_five(client_for: Client, engine: Engine) -> tuple[TestClient, str]:
    """Five entries in the log; the DPO's client on the journal page, and the page's form token."""
    with transaction(engine) as session:
        for i in range(5):
            audit.append(session, actor="equipe-donnees", action="essai", object_ref=f"objet-{i}")
    client = client_for("dpo")
    return client, csrf_of(client.get("/dpo/journal").text)


def test_audit_verification_shows_the_entry_where_the_log_was_tampered(
    client_for: Client, engine: Engine
) -> None:
    client, token = _journal_of_five(client_for, engine)
    intact = client.post("/dpo/journal/verifier", data={"csrf_token": token})
    assert "Journal intact" in intact.text
    tamper_audit_entry(engine, 3)
    broken = client.post("/dpo/journal/verifier", data={"csrf_token": token})
    assert "Journal altéré à partir de l'entrée n°3" in broken.text


def test_the_journal_check_gives_a_landmark_that_finds_a_tail_cut_at_the_next_check(
    client_for: Client, engine: Engine
) -> None:
    import re as regex

    client, token = _journal_of_five(client_for, engine)
    first = client.post("/dpo/journal/verifier", data={"csrf_token": token}).text
    [noted] = regex.findall(r"prochaine vérification : <strong>(\d+:[0-9a-f]+)</strong>", first)
    intact = client.post("/dpo/journal/verifier", data={"csrf_token": token, "repere": noted}).text
    assert "Journal intact" in intact
    cut_audit_tail(engine, 3)  # the newest entries cut back to a signed checkpoint, with theirs
    cut = client.post("/dpo/journal/verifier", data={"csrf_token": token, "repere": noted}).text
    assert f"Journal altéré à partir de l'entrée n°{noted.split(':')[0]}." in cut
    assert "du repère noté manque" in cut
    wrong = client.post("/dpo/journal/verifier", data={"csrf_token": token, "repere": "n'importe"}).text
    assert "illisible" in wrong and "Journal intact" not in wrong


def test_a_mistyped_landmark_leaves_a_healthy_log_intact_at_the_next_check(
    client_for: Client, engine: Engine
) -> None:
    import re as regex

    client, token = _journal_of_five(client_for, engine)
    first = client.post("/dpo/journal/verifier", data={"csrf_token": token}).text
    [noted] = regex.findall(r"prochaine vérification : <strong>(\d+:[0-9a-f]+)</strong>", first)
    typo = noted[:-1] + ("0" if noted[-1] != "0" else "1")
    assert (
        "Journal altéré"
        in client.post("/dpo/journal/verifier", data={"csrf_token": token, "repere": typo}).text
    )

    again = client.post("/dpo/journal/verifier", data={"csrf_token": token}).text

    assert "Journal intact" in again


def test_audit_page_shows_counts_and_details_in_french_words_not_json(
    client_for: Client, engine: Engine
) -> None:
    with transaction(engine) as session:
        audit.append(
            session,
            actor="equipe-donnees",
            action="detection.execution",
            object_ref="execution:4",
            counts={"foyers": 1234567, "hors_territoire": None},
            details={
                "forcee": False,
                "regles": {"ppa_non_recours": "1.2.0"},
                "fichiers": ["a.csv", "b.csv"],
                "termine_le": "2027-05-30",
            },
        )
    client = client_for("dpo")
    page = client.get("/dpo/journal").text
    assert (  # keys in the order the log stores them (sorted)
        "foyers : 1\u202f234\u202f567<br>foyers hors du territoire : —<br>fichiers : a.csv, b.csv<br>"
        "relance forcée : non<br>règles : ppa_non_recours 1.2.0<br>terminée le : 30/05/2027</td>"
    ) in page
    export = client.get("/dpo/journal.csv").text
    assert "foyers hors du territoire : — ; fichiers : a.csv, b.csv ; relance forcée : non" in export
    assert "{&#34;" not in page and '{"' not in page
    assert '<div class="defilement" tabindex="0">' in page  # a wide table scrolls in its own frame


def test_audit_page_names_each_operation_in_french_and_filters_by_operation(
    client_for: Client, engine: Engine
) -> None:
    with transaction(engine) as session:
        for seq in range(3):
            audit.append(session, actor="ts-a", action="foyer.consultation", object_ref=f"foyer-{seq}")
        audit.append(session, actor="dpo", action="echange.revocation", object_ref="echange:7")
        audit.append(session, actor="x", action="operation.future", object_ref="y")
    client = client_for("dpo")
    page = client.get("/dpo/journal").text
    assert "Révocation d&#39;un échange<br><code>echange.revocation</code>" in page
    assert "operation.future<br><code>operation.future</code>" in page  # no label: its code
    assert '<option value="foyer.consultation">Consultation de la fiche d&#39;un foyer</option>' in page
    only = client.get("/dpo/journal", params={"operation": "echange.revocation"}).text
    assert "« Révocation d&#39;un échange » : 1 entrée(s)" in only
    assert "echange:7" in only and "foyer-0" not in only
    assert '<option value="echange.revocation" selected>' in only
    none = client.get("/dpo/journal", params={"operation": "inconnue"}).text
    assert "Aucune entrée pour cette opération." in none


def test_the_audit_log_exports_as_csv_one_operation_or_all_and_the_export_is_audited(
    client_for: Client, engine: Engine
) -> None:
    with transaction(engine) as session:
        audit.append(session, actor="ts-a", action="foyer.consultation", object_ref="foyer-1")
        audit.append(
            session, actor="dpo", action="echange.revocation", object_ref="echange:7", counts={"n": 1234}
        )
    client = client_for("dpo")
    page = client.get("/dpo/journal", params={"operation": "echange.revocation"}).text
    assert 'href="/dpo/journal.csv?operation=echange.revocation"' in page
    only = client.get("/dpo/journal.csv", params={"operation": "echange.revocation"})
    assert only.headers["content-disposition"] == 'attachment; filename="journal-audit.csv"'
    lines = only.text.lstrip("\ufeff").splitlines()
    assert lines[0] == "N°;Date;Horodatage (UTC);Acteur;Opération;Code;Objet;Comptes et détails"
    assert len(lines) == 2 and lines[1].endswith(
        ";dpo;Révocation d'un échange;echange.revocation;echange:7;n : 1\u202f234"
    )
    everything = client.get("/dpo/journal.csv").text
    assert "foyer.consultation" in everything and "journal.export" in everything  # the first export
    with transaction(engine) as session:
        exports = session.scalars(select(AuditEntry).where(AuditEntry.action == "journal.export")).all()
    assert [entry.actor for entry in exports] == [LOGINS["dpo"], LOGINS["dpo"]]


def test_an_audit_export_cut_at_its_limit_says_so_in_the_file(
    client_for: Client, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from uptake.web.routes import dpo

    monkeypatch.setattr(dpo, "AUDIT_EXPORT_LIMIT", 2)
    with transaction(engine) as session:
        for seq in range(3):
            audit.append(session, actor="ts-a", action="foyer.consultation", object_ref=f"foyer-{seq}")
    lines = client_for("dpo").get("/dpo/journal.csv").text.lstrip("\ufeff").splitlines()
    assert len(lines) == 4  # header, the 2 newest entries, the warning
    assert lines[-1] == "… export limité aux 2 entrées les plus récentes : filtrez par opération"
    assert "foyer-0" not in "\n".join(lines)


def test_access_log_filters_by_agent_and_household_and_exports_csv(
    client_for: Client, engine: Engine
) -> None:
    with transaction(engine) as session:
        record_view(session, actor="ts-a", pseudonym="foyer-aaa", motif="appel", campagne="c1", worklist_id=1)
        record_view(session, actor="ts-b", pseudonym="foyer-bbb", motif="appel", campagne="c1", worklist_id=2)
        record_view(session, actor="ts-a", pseudonym="foyer-ccc", motif="appel", campagne="c1", worklist_id=3)
    client = client_for("dpo")
    everything = client.get("/dpo/consultations").text
    assert all(p in everything for p in ("foyer-aaa", "foyer-bbb", "foyer-ccc"))
    by_agent = client.get("/dpo/consultations", params={"acteur": "ts-a"}).text
    assert "foyer-aaa" in by_agent and "foyer-ccc" in by_agent and "foyer-bbb" not in by_agent
    by_household = client.get("/dpo/consultations", params={"foyer": "foyer-bbb"}).text
    assert "foyer-bbb" in by_household and "foyer-aaa" not in by_household
    export = client.get("/dpo/consultations.csv", params={"acteur": "ts-b"})
    assert export.headers["content-type"].startswith("text/csv")
    lines = export.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Date;Horodatage (UTC);Agent;Foyer")
    assert len(lines) == 2 and "foyer-bbb" in lines[1]


@pytest.mark.parametrize(
    ("zone", "shown"), [("Europe/Paris", "12/03/2026 00:30:05"), ("Indian/Reunion", "12/03/2026 03:30:05")]
)
def test_the_audit_log_reads_the_caf_s_clock_and_its_export_keeps_the_signed_utc_stamp(
    client_for: Client, engine: Engine, monkeypatch: pytest.MonkeyPatch, zone: str, shown: str
) -> None:
    monkeypatch.setenv("UPTAKE_FUSEAU", zone)
    with transaction(engine) as session, audit_clock(datetime(2026, 3, 11, 23, 30, 5, tzinfo=UTC)):
        entry = audit.append(session, actor="dpo", action="echange.revocation", object_ref="echange:9")
        seq = entry.seq
    client = client_for("dpo")
    page = client.get("/dpo/journal").text
    assert f'<time datetime="2026-03-11T23:30:05.000000Z">{shown}</time>' in page
    assert "UTC" not in page
    lines = client.get("/dpo/journal.csv").text.lstrip("\ufeff").splitlines()
    assert f"{seq};{shown};2026-03-11T23:30:05.000000Z;dpo;Révocation d'un échange;" in "\n".join(lines)


@pytest.mark.parametrize(
    ("zone", "shown", "day", "other_day"),
    [
        ("Europe/Paris", "12/03/2026 00:30", "2026-03-12", "2026-03-11"),
        ("America/Cayenne", "11/03/2026 20:30", "2026-03-11", "2026-03-12"),
    ],
)
def test_access_log_dates_and_day_filters_are_the_caf_s(
    client_for: Client,
    engine: Engine,
    monkeypatch: pytest.MonkeyPatch,
    zone: str,
    shown: str,
    day: str,
    other_day: str,
) -> None:
    monkeypatch.setenv("UPTAKE_FUSEAU", zone)
    # A view stamped 23:30 UTC on 11 March.
    with transaction(engine) as session, audit_clock(datetime(2026, 3, 11, 23, 30, tzinfo=UTC)):
        audit.append(
            session, actor="ts-a", action=VIEW_ACTION, object_ref="foyer-nuit", details={"motif": "appel"}
        )
    client = client_for("dpo")
    page = client.get("/dpo/consultations", params={"du": day, "au": day}).text
    assert "foyer-nuit" in page and shown in page
    assert (
        "foyer-nuit" not in client.get("/dpo/consultations", params={"du": other_day, "au": other_day}).text
    )
    export = client.get("/dpo/consultations.csv", params={"du": day}).text.lstrip("\ufeff").splitlines()
    assert export[1].startswith(f"{shown};2026-03-11T23:30:00.000000Z;ts-a;foyer-nuit")


def test_register_page_and_csv_show_the_loaded_entries(client_for: Client, engine: Engine) -> None:
    code = load_register(engine)
    client = client_for("dpo")
    assert code in client.get("/dpo/registre").text
    export = client.get("/dpo/registre.csv")
    assert export.status_code == 200
    assert code in export.text


def test_purges_page_lists_nothing_on_a_fresh_database(client_for: Client) -> None:
    page = client_for("dpo").get("/dpo/purges")
    assert page.status_code == 200
    assert "Aucun fichier conservé" in page.text


def test_purges_page_tells_the_dpo_whether_a_purge_runs_and_how_the_last_one_ended(
    client_for: Client, engine: Engine
) -> None:
    import datetime as dt

    from apscheduler.events import EVENT_JOB_ERROR, JobExecutionEvent

    from privacy.errors import KeyringError
    from uptake import scheduler

    client = client_for("dpo")
    assert "Aucune purge planifiée" in html.unescape(client.get("/dpo/purges").text)

    scheduler.add_schedule(engine, "nuit", cron="30 2 * * *", job="purge", params={})
    page = html.unescape(client.get("/dpo/purges").text)
    assert "Aucune purge planifiée" not in page
    assert "Purge planifiée « nuit » (30 2 * * *) : prochaine le" in " ".join(
        re.sub("<[^>]+>", "", page).split()
    )
    assert "pas encore lancée" in page

    at = dt.datetime(2026, 11, 28, 1, 30, tzinfo=dt.UTC)
    assert scheduler.claim_execution(engine, "nuit", at, "a:1")
    failure = KeyringError("keys/sorties.key", "fichier de clé illisible", "vérifiez ses droits")
    event = JobExecutionEvent(EVENT_JOB_ERROR, "nuit", "default", at, exception=failure)
    scheduler._record_outcome(engine, None, event)
    page = html.unescape(client.get("/dpo/purges").text)
    assert "dernière le 28/11/2026 02:30 (échec)" in page
    assert f"Échec de la dernière purge : {failure}" in page


def test_purges_page_tells_the_dpo_which_runs_flags_are_kept_and_until_when(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    import datetime as dt

    from detection.records import SUCCEEDED, DetectionRun

    with transaction(engine) as session:
        for day, purged in ((6, None), (7, dt.datetime(2026, 3, 1, tzinfo=dt.UTC))):
            session.add(
                DetectionRun(
                    status=SUCCEEDED,
                    trigger="test",
                    extract_name=f"extrait-{day}.parquet",
                    mois_reference=dt.date(2025, 1, 1),
                    flags_count=1234,
                    started_at=dt.datetime(2025, 1, day, 8, 0, tzinfo=dt.UTC),
                    finished_at=dt.datetime(2025, 1, day, 8, 2, tzinfo=dt.UTC),
                    flags_purged_at=purged,
                )
            )
    page = client_for("dpo").get("/dpo/purges").text
    assert "supprimés 12 mois après l'exécution" in page
    assert "1\u202f234" in page and "janvier 2025" in page
    assert "07/01/2026 (échus : supprimés à la prochaine purge)" in page  # finished 06/01/2025
    assert "08/01/2026" not in page  # the other run's flags are already deleted

    from detection.retention import purge_flags

    with transaction(engine) as session:
        purge_flags(session, tmp_path, actor="dpo1", now=dt.datetime(2026, 2, 1, tzinfo=dt.UTC))
    page = client_for("dpo").get("/dpo/purges").text
    assert "Aucun drapeau conservé." in page
    assert re.search(
        r"<td>Drapeaux d&#39;une exécution de détection supprimés</td><td>execution:\d+</td><td>dpo1</td>"
        r"<td>drapeaux : 0 · fichiers : 0</td>",
        page,
    )
    assert "{" not in page.split("Dernières opérations de purge")[1]  # counts in words, not JSON


def test_dpo_launches_the_purge_from_the_page_and_it_is_audited_in_their_name(
    client_for: Client, engine: Engine
) -> None:
    from detection.records import SUCCEEDED, DetectionRun

    with transaction(engine) as session:
        session.add(
            DetectionRun(
                status=SUCCEEDED,
                trigger="test",
                extract_name="extrait-ancien.parquet",
                mois_reference=date(2024, 1, 1),
                flags_count=12,
                started_at=datetime(2024, 1, 6, 8, 0, tzinfo=UTC),
                finished_at=datetime(2024, 1, 6, 8, 2, tzinfo=UTC),
            )
        )
    client = client_for("dpo")
    page = client.get("/dpo/purges").text
    assert "(échus : supprimés à la prochaine purge)" in page
    response = client.post("/dpo/purges/lancer", data={"csrf_token": csrf_of(page)})
    assert response.status_code == 303
    after = client.get(response.headers["location"]).text
    assert "Purge effectuée : son bilan est dans « Dernières opérations de purge »." in after
    assert "Aucun drapeau conservé." in after
    with transaction(engine) as session:
        purges = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "purge")))
    assert [entry.actor for entry in purges] == [LOGINS["dpo"]]


def test_purges_page_lists_the_extracts_kept_in_the_scheduled_drop_folders(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    from uptake.scheduler import add_schedule

    inbox = tmp_path / "depot"
    (inbox / "archive").mkdir(parents=True)
    extract = inbox / "archive" / "foyers-2025-01.parquet"
    extract.write_bytes(b"PAR1")
    add_schedule(engine, "mensuelle", cron="0 6 5 * *", job="detection", params={"inbox": str(inbox)})
    page = client_for("dpo").get("/dpo/purges").text
    assert str(extract) in page
    assert "Aucun extrait conservé" not in page
    assert "supprimés 12 mois après leur dépôt" in page

    # The days shown follow the retention the purge schedule applies.
    add_schedule(engine, "nuit", cron="30 2 * * *", job="purge", params={"flags_months": "3"})
    page = client_for("dpo").get("/dpo/purges").text
    assert "supprimés 3 mois après leur dépôt" in page and "supprimés 3 mois après l'exécution" in page


def test_dpo_records_an_opposition_that_the_next_household_claim_honours(
    client_for: Client, engine: Engine
) -> None:
    from tests.web.conftest import seed_worklist
    from uptake.web.worklist import claim_next

    pseudonyms = seed_worklist(engine, 1)
    client = client_for("dpo")
    token = csrf_of(client.get("/dpo/demandes").text)
    response = client.post(
        "/dpo/demandes/opposition",
        data={"csrf_token": token, "pseudonyme": pseudonyms[0], "source": "courrier", "mois": "24"},
    )
    assert response.status_code == 200
    assert "Opposition enregistrée" in response.text
    assert claim_next(engine, "ts-a", ["04088"]) is None
    again = client.post(  # the form sent twice: one objection, and the page says so
        "/dpo/demandes/opposition",
        data={"csrf_token": token, "pseudonyme": pseudonyms[0], "source": "courrier", "mois": "24"},
    )
    assert "Une opposition est déjà en vigueur pour ce foyer" in again.text
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(Opposition)) == 1
    bad = client.post(
        "/dpo/demandes/opposition",
        data={"csrf_token": token, "pseudonyme": pseudonyms[0], "source": "x", "mois": "3"},
    )
    assert bad.status_code == 400
    assert "entre 12 et 24 mois" in bad.text


def _pseudonym_of(matricule: str, tmp_path: Path) -> str:
    """The household's pseudonym under the test application's key (territory: the default EPCI)."""
    from privacy.pseudonyms import DEFAULT_FINALITE, key_text, pseudonym_of
    from tests.web.conftest import app_keyring

    return pseudonym_of(key_text(app_keyring(tmp_path / "home"), "240400440", DEFAULT_FINALITE), matricule)


def test_dpo_records_an_opposition_from_the_matricule_without_echoing_it(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    from privacy import subjects

    matricule = "7654321"
    pseudonym = _pseudonym_of(matricule, tmp_path)
    client = client_for("dpo")
    token = csrf_of(client.get("/dpo/demandes").text)
    neither = client.post("/dpo/demandes/opposition", data={"csrf_token": token, "source": "appel"})
    assert neither.status_code == 400 and "l'un des deux seulement" in html.unescape(neither.text)
    response = client.post(
        "/dpo/demandes/opposition",
        data={"csrf_token": token, "matricule": matricule, "source": "appel", "mois": "24"},
    )
    assert response.status_code == 200 and "Opposition enregistrée" in response.text
    # Nothing is known of that household: a mistyped matricule must not pass for a recorded objection.
    assert "Aucun foyer n&#39;est connu aujourd&#39;hui sous cet identifiant" in response.text
    assert matricule not in response.text
    with transaction(engine) as session:
        assert subjects.opposed(session, [pseudonym]) == {pseudonym}


def test_access_report_finds_the_household_from_its_matricule_without_echoing_it(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    from tests.web.conftest import load_register, seed_worklist

    matricule = "1234567"
    pseudonym = _pseudonym_of(matricule, tmp_path)
    seed_worklist(engine, 1)
    received = datetime(2026, 3, 28, 9, 0, tzinfo=UTC)
    with transaction(engine) as session:
        record_view(session, actor="ts-a", pseudonym=pseudonym, motif="appel")
        session.add(
            QuestionnaireAnswer(
                launch_id=1,
                id_foyer=pseudonym,
                questionnaire="pre-diagnostic-logement",
                question="humidite",
                libelle="Humidité ou moisissures",
                ordre=2,
                reponse="oui",
                recu_le=received,
                acteur="secretariat",
                enregistre_le=received,
            )
        )
    client = client_for("dpo")
    token = csrf_of(client.get("/dpo/demandes").text)
    report = client.post("/dpo/demandes/acces", data={"csrf_token": token, "matricule": matricule})
    assert report.status_code == 200
    assert pseudonym in report.text
    # The person reads what was done in words, not the log's codes.
    assert "Consultation de la fiche d&#39;un foyer" in report.text
    assert "foyer.consultation" not in report.text
    assert matricule not in report.text
    # What the outreach tables hold on the household: its answers to a returned questionnaire too.
    assert "Réponses aux questionnaires retournés" in report.text
    assert "<td>28/03/2026</td><td>Humidité ou moisissures</td><td>oui</td>" in report.text
    assert "Aucune donnée n&#39;est détenue" not in report.text
    # Without the register, the report lacks what article 15(1) owes: the DPO is told, not the person.
    assert "le registre des traitements n&#39;est pas chargé" in report.text.lower()
    unknown = client.post("/dpo/demandes/acces", data={"csrf_token": token, "matricule": "1111111"})
    assert "Aucune donnée n&#39;est détenue sous ce matricule" in unknown.text
    load_register(engine)
    loaded = client.post("/dpo/demandes/acces", data={"csrf_token": token, "matricule": matricule})
    assert "registre des traitements n&#39;est pas chargé" not in loaded.text
    # The information owed with the data, from the register: recipients, retention, rights.
    assert "Travailleurs sociaux de la Caf (listes d&#39;appel de leur secteur)" in loaded.text
    assert "Combien de temps elles sont conservées" in loaded.text and "3 place de Fontenoy" in loaded.text


def test_dpo_revokes_an_approval_in_force_and_destroys_what_was_produced_under_it(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    exchange_id, out = _exchange_with_one_list(engine, tmp_path, "courriers")
    client = client_for("dpo")
    page = client.get("/dpo/echanges")
    assert "Approbations en vigueur (1)" in page.text
    assert "Détruire aussi maintenant les 1 sortie(s)" in page.text
    response = client.post(
        f"/dpo/echanges/{exchange_id}/revoquer",
        data={"csrf_token": csrf_of(page.text), "motif": "Fin de la convention", "purger": "oui"},
    )
    assert response.status_code == 303
    after = client.get(response.headers["location"]).text
    assert "Échange révoqué, et les sorties déjà produites sous cet échange détruites." in after
    assert "Approbations en vigueur (0)" in after
    # The day in the Caf's time zone (past 11 pm UTC it is already the next day in Paris).
    assert f"révoquée le {french.day(datetime.now(UTC))} par {LOGINS['dpo']}" in after
    assert "Motif de la révocation : Fin de la convention" in after
    assert not out.exists()
    assert log_end_signed(engine)  # the revocation cannot be cut off the log unnoticed
    with transaction(engine) as session:
        assert retention.held_outputs(session, exchange_id) == []
    again = client.post(
        f"/dpo/echanges/{exchange_id}/revoquer", data={"csrf_token": csrf_of(after), "motif": "encore"}
    )
    assert again.status_code == 400 and "Seul un échange approuvé se révoque" in again.text


def test_a_journal_page_past_the_end_shows_the_oldest_entries_not_an_empty_log(
    client_for: Client, engine: Engine
) -> None:
    with transaction(engine) as session:
        for i in range(3):
            audit.append(session, actor="equipe-donnees", action="essai", object_ref=f"objet-{i}")
    page = client_for("dpo").get("/dpo/journal?page=999999").text
    assert "Le journal est vide" not in page
    assert "objet-0" in page and "page 1 sur 1" in page
