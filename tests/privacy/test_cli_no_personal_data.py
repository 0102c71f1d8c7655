"""The CLI commands, run for real on synthetic contacts: they work and never print a name, number, e-mail."""

from __future__ import annotations

import logging
import re
import sqlite3
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import phonenumbers
import polars as pl
import pytest
from faker import Faker
from sqlalchemy import Engine

from privacy import exchanges, retention, vault
from privacy.errors import PrivacyError
from privacy.keys import Keyring
from privacy.pseudonyms import key_text, pseudonym_of
from tests.privacy.conftest import TERRITORY, later

Cli = Any
EXPIRY = (date.today() + timedelta(days=300)).isoformat()  # within the 12 months an approval may last


def _synthetic_contacts(n: int = 12) -> list[dict[str, str]]:
    fake = Faker("fr_FR")
    fake.seed_instance(7)
    rows = []
    for i in range(n):
        rows.append(
            {
                "matricule": str(5_000_000 + i),
                "civilite": "Mme" if i % 2 else "M.",
                "nom": f"{fake.last_name()}ZZ{i}",  # unique markers, easy to grep
                "prenom": f"{fake.first_name()}QQ{i}",
                # a few invalid values, which must be reported without being echoed
                "telephone": "06 99 1" if i == 3 else f"06 {20 + i} 45 67 89",
                "email": "sans-arobase.example.org" if i == 4 else f"personne{i}.x@example.org",
                "adresse": f"{fake.building_number()} rue Secrète{i}",
                "code_postal": "04300",
                "ville": "Forcalquier",
            }
        )
    return rows


def _needles(rows: list[dict[str, str]]) -> list[str]:
    needles = []
    for row in rows:
        needles += [row["nom"], row["prenom"], row["email"], row["adresse"], row["telephone"]]
        needles.append(row["telephone"].replace(" ", ""))
        try:
            number = phonenumbers.parse(row["telephone"], "FR")
            needles.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
        except phonenumbers.NumberParseException:
            pass
        needles.append(row["matricule"])
    return needles


def _leaked(rows: list[dict[str, str]], text: str) -> list[str]:
    """The personal values of `rows` found in `text`, each as a whole token (a short value such as an
    invalid phone like 06991 may occur by chance inside a hex pseudonym), shortened to 2 characters."""
    return [
        f"{needle[:2]}…"
        for needle in _needles(rows)
        if re.search(rf"(?<![0-9A-Za-z]){re.escape(needle)}(?![0-9A-Za-z])", text)
    ]


def test_the_cli_round_trip_never_prints_personal_data(cli: Cli, tmp_path: Path) -> None:
    rows = _synthetic_contacts()
    raw_contacts = tmp_path / "contacts-brut.csv"
    pl.DataFrame(rows).write_csv(raw_contacts)
    raw_extract = tmp_path / "brut.csv"
    pl.DataFrame(
        {"matricule": [r["matricule"] for r in rows], "code_commune": ["04088"] * len(rows)}
    ).write_csv(raw_extract)
    outputs = []

    def run(*args: str, expect: int = 0) -> str:
        result = cli(*args)
        outputs.append(result.output)
        assert result.code == expect, result.output
        return str(result.output)

    run(
        "pseudonymise",
        str(raw_extract),
        "--out",
        str(tmp_path / "foyers.csv"),
        "--contacts",
        str(raw_contacts),
        "--contacts-out",
        str(tmp_path / "contacts.csv"),
    )
    imported = run("contacts", "import", str(tmp_path / "contacts.csv"))
    assert "12 rangés chiffrés" in imported
    assert "enregistrement n°4, colonne `telephone`" in imported
    assert "enregistrement n°5, colonne `email`" in imported
    # The raw directory cannot go into the vault: refused, without echoing its content.
    run("contacts", "import", str(raw_contacts), expect=2)
    run("register", "load")
    run(
        "exchanges",
        "request",
        "--destinataire",
        "Prestataire SMS",
        "--finalite",
        "Prime d'activité",
        "--registre",
        "CTG-FORCALQUIER-DROITS",
        "--champs",
        "nom,prenom,telephone",
        "--base-legale",
        "L.114-8 II CRPA",
        "--conservation-jours",
        "90",
        "--expire-le",
        EXPIRY,
    )
    run(
        "exchanges",
        "request",
        "--destinataire",
        "X",
        "--finalite",
        "Y",
        "--registre",
        "INCONNU",
        "--champs",
        "nom",
        "--base-legale",
        "Z",
        "--conservation-jours",
        "30",
        "--expire-le",
        EXPIRY,
        expect=3,
    )
    run(
        "exchanges",
        "approve",
        "1",
        "--dpo",
        "DPO",
        "--avis",
        "Favorable",
        "--recommandation",
        "Message sobre",
    )
    shown = run("exchanges", "show", "1")
    assert "approuvée" in shown and re.search(r"Expire le : \d\d/\d\d/\d{4}", shown)  # the French way
    run("subjects", "oppose", pseudonym_of_first(tmp_path), "--source", "courrier")
    result = cli("subjects", "access", "-", stdin=rows[0]["matricule"] + "\n")
    outputs.append(result.output)
    report = result.output
    assert "Origine : courrier" in report and "Opération : Opposition enregistrée" in report
    # What the outreach tables hold is part of the report from the command line too, as on the web.
    assert "Résultats des contacts enregistrés" in report
    assert "Réponses aux questionnaires retournés" in report
    # An opposition received by phone, the household named by its matricule (never echoed).
    opposed = cli(
        "subjects", "oppose", "--matricule", "-", "--source", "appel", stdin=rows[1]["matricule"] + "\n"
    )
    outputs.append(opposed.output)
    assert opposed.code == 0, opposed.output
    run("subjects", "access", rows[1]["matricule"], "--format", "html", "--out", str(tmp_path / "acces.html"))
    assert "<td>appel</td>" in (tmp_path / "acces.html").read_text(encoding="utf-8")  # its opposition
    run("purge")
    assert "Journal intact" in run("audit", "verify")

    assert not _leaked(rows, "\n".join(outputs)), "donnée personnelle dans la sortie"
    assert not _leaked(rows, (tmp_path / "acces.html").read_text(encoding="utf-8"))


def pseudonym_of_first(tmp_path: Path) -> str:
    return str(pl.read_csv(tmp_path / "contacts.csv", infer_schema=False)["id_foyer"][0])


def test_library_errors_and_logs_hold_no_personal_data(
    engine: Engine, keyring: Keyring, approved: int, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    rows = _synthetic_contacts(6)
    key = key_text(keyring, TERRITORY, "droits")
    frame = pl.DataFrame(rows).with_columns(
        pl.col("matricule")
        .map_elements(lambda m: pseudonym_of(key, m), return_dtype=pl.String)
        .alias("id_foyer")
    )
    messages: list[str] = []
    from uptake.db import transaction

    with transaction(engine) as session:
        report = vault.import_contacts(
            session, keyring, frame.drop("matricule"), territory=TERRITORY, actor="e"
        )
        messages += [i.problem for i in report.issues]
        grant = exchanges.authorise(session, keyring, approved, ["nom", "telephone"], now=later(1))
        shown = vault.reveal(
            session, keyring, grant, frame["id_foyer"].to_list(), ["nom", "telephone"], now=later(1)
        )
        listing = pl.DataFrame(
            {"id_foyer": list(shown), "nom": [v["nom"] for v in shown.values()]}
        ).with_columns(email=pl.lit(rows[0]["email"]))
        try:
            retention.write_personal_output(
                session, keyring, grant, tmp_path / "l.csv", listing, actor="e", label="l", now=later(1)
            )
        except PrivacyError as exc:
            messages.append(str(exc))
        try:
            vault.import_contacts(session, keyring, frame.drop("id_foyer"), territory=TERRITORY, actor="e")
        except PrivacyError as exc:
            messages.append(str(exc))
    assert len(messages) >= 3
    text = "\n".join(messages) + caplog.text
    assert not _leaked(rows, text)


def test_audit_verify_exits_1_and_names_the_entry_after_tampering(cli: Cli, uptake_home: Path) -> None:
    assert cli("register", "load").code == 0
    with sqlite3.connect(uptake_home / "uptake.sqlite3") as db:
        db.execute("DROP TRIGGER privacy_audit_no_update")
        db.execute("UPDATE privacy_audit SET actor = 'intrus' WHERE seq = 1")
    result = cli("audit", "verify")
    assert result.code == 1
    assert "l'entrée n°1 a été modifiée" in result.output
