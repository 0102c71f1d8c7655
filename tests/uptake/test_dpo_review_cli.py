"""What the DPO's review found in the command line: exchange requests with blank terms or for years,
deciding one's own request, decisions by anyone, the register loaded from a wrong folder, objections
and access requests for a household nobody knows."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from privacy.models import ContactRecord
from uptake.db import make_engine, transaction

EXPIRY = (dt.date.today() + dt.timedelta(days=60)).isoformat()
KNOWN = "a" * 64


def _request(cli, *, acteur: str = "equipe", **terms: str):
    given = {"--destinataire": "Prestataire SMS", "--finalite": "Prime d'activité",
             "--base-legale": "L.114-8 II CRPA", "--expire-le": EXPIRY, **terms}  # fmt: skip
    options = [part for pair in given.items() for part in pair]
    return cli(
        "exchanges", "request", "--registre", "CTG-FORCALQUIER-DROITS", "--champs", "nom,telephone",
        "--conservation-jours", "90", "--acteur", acteur, *options,
    )  # fmt: skip


def _count(home: Path, table: str) -> int:
    with sqlite3.connect(home / "uptake.sqlite3") as db:
        return int(db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_a_request_with_a_blank_term_or_for_years_is_refused_naming_the_option(
    cli, uptake_home: Path
) -> None:
    assert cli("register", "load").code == 0
    for option in ("--destinataire", "--finalite", "--base-legale"):
        blank = _request(cli, **{option: "  "})
        assert blank.code == 2 and f"({option}) vide" in " ".join(blank.output.split()), blank.output
    for_years = _request(cli, **{"--expire-le": "2035-01-01"})
    assert for_years.code == 2
    assert "plus de 365 jours" in " ".join(for_years.output.split())
    no_such_day = _request(cli, **{"--expire-le": "2027-02-30"})
    assert no_such_day.code == 2
    assert "le 2027-02-30 n'existe pas dans le calendrier" in " ".join(no_such_day.output.split())
    assert _count(uptake_home, "privacy_exchange") == 0


def test_the_requester_cannot_decide_their_own_request(cli) -> None:
    assert cli("register", "load").code == 0
    assert _request(cli, acteur="alice").code == 0
    for decision in (("approve", "--avis", "Favorable"), ("refuse", "--avis", "Non")):
        own = cli("exchanges", decision[0], "1", "--dpo", "alice", *decision[1:])
        assert own.code == 2 and "sa propre demande" in " ".join(own.output.split()), own.output
    assert "demandée" in cli("exchanges", "show", "1").stdout


def test_without_dpo_accounts_the_decision_is_taken_with_a_warning(cli) -> None:
    assert cli("register", "load").code == 0
    assert _request(cli).code == 0
    approved = cli("exchanges", "approve", "1", "--dpo", "bob", "--avis", "Favorable")
    assert approved.code == 0, approved.output
    assert "aucun compte DPO n'existe" in " ".join(approved.stdout.split())


def test_with_dpo_accounts_only_one_of_them_decides(cli) -> None:
    assert cli("register", "load").code == 0
    added = cli(
        "users", "add", "carole", "--role", "dpo", "--mot-de-passe-definitif", "--password-stdin",
        stdin="phrase de passe longue\n",
    )  # fmt: skip
    assert added.code == 0, added.output
    given = cli(
        "users", "add", "david", "--role", "dpo", "--password-stdin", stdin="lavande-tuile-orage-velo\n"
    )
    assert given.code == 0, given.output
    assert _request(cli).code == 0
    stranger = cli("exchanges", "approve", "1", "--dpo", "bob", "--avis", "Favorable")
    assert stranger.code == 2
    assert "« bob » n'est pas un compte DPO actif" in " ".join(stranger.output.split())
    assert "(carole, david)" in stranger.output
    # The administrator who gave david his provisional password cannot decide in his name.
    provisional = cli(
        "exchanges", "approve", "1", "--dpo", "david", "--avis", "Favorable", "--password-stdin",
        stdin="lavande-tuile-orage-velo\n",
    )  # fmt: skip
    assert provisional.code == 2 and "est provisoire" in " ".join(provisional.output.split())
    # A name typed on the command line is not the DPO: their password confirms the decision.
    unconfirmed = cli("exchanges", "approve", "1", "--dpo", "carole", "--avis", "Favorable")
    assert unconfirmed.code == 2 and "ajoutez --password-stdin" in " ".join(unconfirmed.output.split())
    guessed = cli(
        "exchanges", "approve", "1", "--dpo", "carole", "--avis", "Favorable", "--password-stdin",
        stdin="devinette\n",
    )  # fmt: skip
    assert guessed.code == 2 and "Mot de passe incorrect pour le compte « carole »" in guessed.output
    assert "demandée" in cli("exchanges", "show", "1").stdout
    approved = cli(
        "exchanges", "approve", "1", "--dpo", "carole", "--avis", "Favorable", "--password-stdin",
        stdin="phrase de passe longue\n",
    )  # fmt: skip
    assert approved.code == 0 and "aucun compte DPO" not in approved.output
    # Confirming a decision is not signing in to the application: the access review is not misled.
    assert "jamais" in " ".join(cli("users", "list").stdout.split()).split("carole")[1][:200]
    revoked = cli("exchanges", "revoke", "1", "--dpo", "bob", "--motif", "Fin")
    assert revoked.code == 2 and "approuvée" in cli("exchanges", "show", "1").stdout


def test_a_missing_or_empty_register_folder_is_an_error_that_changes_nothing(
    cli, uptake_home: Path, tmp_path: Path
) -> None:
    assert cli("register", "load").code == 0
    entries, logged = _count(uptake_home, "privacy_register_entry"), _count(uptake_home, "privacy_audit")
    (tmp_path / "vide").mkdir()
    for folder in (tmp_path / "absent", tmp_path / "vide"):
        refused = cli("register", "load", "--dossier", str(folder))
        assert refused.code == 2 and "Erreur" in refused.stderr and "0 fiche" not in refused.output
    assert "introuvable" in " ".join(
        cli("register", "load", "--dossier", str(tmp_path / "absent")).output.split()
    )
    assert (_count(uptake_home, "privacy_register_entry"), _count(uptake_home, "privacy_audit")) == (
        entries,
        logged,
    )


def test_a_load_says_which_entries_it_added_and_removed_and_the_exchanges_left_without_one(
    cli, tmp_path: Path
) -> None:
    assert cli("register", "load").code == 0
    assert _request(cli).code == 0
    shipped = (
        Path(__file__).resolve().parents[2] / "config" / "registre" / "information-proactive-droits.toml"
    )
    text = shipped.read_text(encoding="utf-8")
    (tmp_path / "autre.toml").write_text(text.replace("CTG-FORCALQUIER-DROITS", "AUTRE"), encoding="utf-8")
    loaded = cli("register", "load", "--dossier", str(tmp_path))
    assert loaded.code == 0, loaded.output
    assert "Ajoutée : AUTRE" in loaded.stdout
    assert "Retirée (absente du dossier) : CTG-FORCALQUIER-DROITS" in loaded.stdout
    assert "1 échange(s) en attente ou en vigueur (n°1) relève(nt) d'une fiche retirée" in " ".join(
        loaded.stdout.split()
    )
    # Afterwards too, the exchange is not shown as if it could be used.
    removed = "fiche du registre retirée : inutilisable tant qu'elle n'est pas rechargée"
    assert removed in " ".join(cli("exchanges", "show", "1").stdout.split())
    assert removed in " ".join(cli("exchanges", "list").stdout.replace("│", " ").split())
    assert cli("register", "load").code == 0
    assert "retirée" not in cli("exchanges", "show", "1").stdout


def _known_household(home: Path) -> None:
    engine = make_engine(f"sqlite:///{home / 'uptake.sqlite3'}")
    with transaction(engine) as session:
        session.add(
            ContactRecord(
                pseudonym=KNOWN,
                territory="240400440",
                nonce=b"0" * 12,
                ciphertext=b"chiffre",
                usable_fields=["telephone"],
                invalid_fields=[],
                imported_at="2026-01-05T09:00:00+00:00",
            )
        )
    engine.dispose()


def test_an_objection_for_an_unknown_household_is_kept_but_said_unknown(cli, uptake_home: Path) -> None:
    assert cli("register", "load").code == 0
    _known_household(uptake_home)
    known = cli("subjects", "oppose", KNOWN)
    assert known.code == 0 and "Opposition enregistrée" in known.stdout
    assert "aucun foyer n'est connu" not in known.output
    mistyped = cli("subjects", "oppose", "--matricule", "-", stdin="1234567\n")
    assert mistyped.code == 0 and "Opposition enregistrée" in mistyped.stdout
    told = " ".join(mistyped.stdout.split())
    assert "aucun foyer n'est connu aujourd'hui sous cet identifiant" in told
    assert "Vérifiez l'identifiant" in told and "1234567" not in told
    assert _count(uptake_home, "privacy_opposition") == 2


def test_an_access_request_finding_nothing_says_so(cli) -> None:
    assert cli("register", "load").code == 0
    nothing = cli("subjects", "access", "-", stdin="7654321\n")
    assert nothing.code == 0
    told = " ".join(nothing.stdout.split())
    assert "aucune donnée n'est détenue sous cet identifiant" in told and "Vérifiez le matricule" in told
    assert cli("subjects", "oppose", "--matricule", "-", stdin="7654321\n").code == 0
    again = cli("subjects", "access", "-", stdin="7654321\n")
    assert again.code == 0 and "aucune donnée n'est détenue" not in " ".join(again.stdout.split())


def test_an_access_report_written_to_an_html_file_is_html_unless_text_is_asked(cli, tmp_path) -> None:
    assert cli("register", "load").code == 0
    page, plain = tmp_path / "acces.html", tmp_path / "acces.txt"

    assert cli("subjects", "access", "-", "--out", str(page), stdin="7654321\n").code == 0
    assert cli("subjects", "access", "-", "--out", str(plain), stdin="7654321\n").code == 0

    assert page.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert plain.read_text(encoding="utf-8").startswith("Rapport d'accès à vos données")
    asked = tmp_path / "texte.html"
    assert (
        cli("subjects", "access", "-", "--out", str(asked), "--format", "texte", stdin="7654321\n").code == 0
    )
    assert asked.read_text(encoding="utf-8").startswith("Rapport d'accès à vos données")


def test_a_matricule_typed_with_spaces_is_the_same_household_and_one_per_request(cli) -> None:
    assert cli("register", "load").code == 0
    assert cli("subjects", "oppose", "--matricule", "-", stdin="7654321\n").code == 0
    spaced = cli("subjects", "access", "-", stdin="76 54 321\n")  # as read out, or printed on a letter
    assert spaced.code == 0 and "aucune donnée n'est détenue" not in " ".join(spaced.stdout.split())
    two = cli("subjects", "access", "-", stdin="7654321\n1234567\n")
    assert two.code == 2 and "un seul matricule par demande" in " ".join(two.output.split())


def test_an_access_request_for_another_purpose_finding_nothing_names_the_purpose(cli) -> None:
    assert cli("register", "load").code == 0
    assert cli("subjects", "oppose", "--matricule", "-", stdin="7654321\n").code == 0
    other = cli("subjects", "access", "-", "--finalite", "inconnue", stdin="7654321\n")
    told = " ".join(other.stdout.split())
    assert "aucune donnée n'est détenue" in told and "et la finalité (inconnue)" in told


def test_an_access_report_without_the_register_warns_the_dpo_and_with_it_tells_the_person_all(cli) -> None:
    assert cli("subjects", "oppose", "--matricule", "-", stdin="7654321\n").code == 0
    bare = cli("subjects", "access", "-", stdin="7654321\n")
    told = " ".join(bare.stdout.split())
    assert bare.code == 0 and "le registre des traitements n'est pas chargé" in told
    assert "uptake register load" in told
    assert cli("register", "load").code == 0
    full = cli("subjects", "access", "-", stdin="7654321\n")
    told = " ".join(full.stdout.split())
    assert full.code == 0 and "n'est pas chargé" not in told
    # The default text format tells what article 15(1) owes, as the HTML does.
    for heading in ("Pourquoi vos données sont traitées", "D'où viennent ces données", "Qui les reçoit"):
        assert heading in told
    assert "Combien de temps elles sont conservées" in told and "Historique des campagnes" in told
    assert "réclamation à la CNIL" in told
