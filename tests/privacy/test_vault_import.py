"""Importing the contact directory: a rejected value never erases a valid one held, and a rejected
record makes the import incomplete."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import Engine, event

from privacy.errors import InputInvalid
from privacy.keys import Keyring, vault_key_name
from privacy.models import ContactRecord
from privacy.pseudonyms import key_text, pseudonym_of
from privacy.vault import ContactIssue, ImportReport, import_contacts
from tests.privacy.conftest import TERRITORY
from uptake.db import transaction


def _write(keyring: Keyring, people: list[dict[str, str]], path: Path) -> list[str]:
    """The directory of `people`, pseudonymised, as a CSV file; their pseudonyms."""
    key = key_text(keyring, TERRITORY, "droits")
    rows = [{"id_foyer": pseudonym_of(key, p["matricule"]), **p} for p in people]
    pl.DataFrame(rows).drop("matricule").write_csv(path, separator=";")
    return [row["id_foyer"] for row in rows]


def _import(engine: Engine, keyring: Keyring, path: Path) -> ImportReport:
    with transaction(engine) as session:
        return import_contacts(session, keyring, path, territory=TERRITORY, actor="equipe-donnees")


def _stored(engine: Engine, keyring: Keyring, pseudonym: str) -> tuple[dict[str, str], list[str], list[str]]:
    with transaction(engine) as session:
        record = session.get_one(ContactRecord, pseudonym)
        plain = AESGCM(keyring.secret(vault_key_name(TERRITORY))).decrypt(
            record.nonce, record.ciphertext, pseudonym.encode()
        )
        return json.loads(plain), list(record.usable_fields), list(record.invalid_fields)


def test_a_rejected_phone_and_email_keep_the_valid_ones_held_and_the_other_fields_are_updated(
    engine: Engine, keyring: Keyring, people: list[dict[str, str]], tmp_path: Path
) -> None:
    first = tmp_path / "annuaire-1.csv"
    ids = _write(keyring, people, first)
    _import(engine, keyring, first)
    held, _, _ = _stored(engine, keyring, ids[0])

    people[0].update(telephone="01 23", email="pas-une-adresse", ville="Manosque")
    second = tmp_path / "annuaire-2.csv"
    _write(keyring, people, second)
    done = _import(engine, keyring, second)

    values, usable, invalid = _stored(engine, keyring, ids[0])
    assert values["telephone"] == held["telephone"] and values["email"] == held["email"]
    assert values["ville"] == "Manosque"  # a valid new value still replaces the old one
    assert {"telephone", "email"} <= set(usable) and not {"telephone", "email"} & set(invalid)
    assert done.kept == {"email": 1, "telephone": 1}
    assert done.replaced == len(people) and done.complete


def test_each_record_is_marked_invalid_in_its_own_rejected_fields_only(
    engine: Engine, keyring: Keyring, people: list[dict[str, str]], tmp_path: Path
) -> None:
    people[0]["telephone"] = "01 23"
    people[2]["email"] = "pas-une-adresse"
    people[3].update(telephone="99", email="ni-une-adresse", code_postal="43")
    # A rejected record (a household twice) between them: its issue is its own too.
    path = tmp_path / "annuaire.csv"
    ids = _write(keyring, [*people[:4], people[1], *people[4:]], path)
    done = _import(engine, keyring, path)
    assert done.rejected == 1
    expected = [["telephone"], [], ["email"], ["code_postal", "email", "telephone"], [], []]
    for pseudonym, invalid in zip(ids[:4] + ids[5:], expected, strict=True):
        assert _stored(engine, keyring, pseudonym)[2] == invalid


def test_an_emptied_field_is_not_a_rejected_one_and_is_removed(
    engine: Engine, keyring: Keyring, people: list[dict[str, str]], tmp_path: Path
) -> None:
    path = tmp_path / "annuaire.csv"
    ids = _write(keyring, people, path)
    _import(engine, keyring, path)
    people[0]["email"] = ""
    _write(keyring, people, path)
    _import(engine, keyring, path)
    values, usable, _ = _stored(engine, keyring, ids[0])
    assert "email" not in values and "email" not in usable


def test_a_directory_with_rejected_records_is_an_incomplete_import(
    engine: Engine, keyring: Keyring, people: list[dict[str, str]], tmp_path: Path
) -> None:
    path = tmp_path / "annuaire.csv"
    _write(keyring, [*people, people[0]], path)  # the first household twice
    done = _import(engine, keyring, path)
    assert done.rejected == 1 and done.stored == len(people)
    assert not done.complete


def test_a_directory_not_in_utf8_is_said_so_and_nothing_is_stored(
    engine: Engine, keyring: Keyring, tmp_path: Path
) -> None:
    path = tmp_path / "annuaire.csv"
    path.write_bytes(f"id_foyer;nom;prenom\n{'a' * 20};Hélène;Zoé\n".encode("latin-1"))
    with pytest.raises(InputInvalid) as refused:
        _import(engine, keyring, path)
    assert str(refused.value).startswith(f"{path} : le fichier n'est pas encodé en UTF-8")
    assert "ComputeError" not in str(refused.value) and "Hélène" not in str(refused.value)
    with transaction(engine) as session:
        assert session.get(ContactRecord, "a" * 20) is None


def test_the_command_exits_1_and_says_so_when_records_were_rejected(cli, tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    valid = "b" * 64
    path.write_text(
        "id_foyer;nom;prenom;telephone\n"
        f"{valid};Martin;Léa;06 12 34 56 78\n{valid};Martin;Léa;06 12 34 56 79\n"
        "pas-un-pseudonyme;Roux;Paul;06 12 34 56 70\n",
        encoding="utf-8",
    )

    result = cli("contacts", "import", str(path))

    assert result.code == 1, result.output
    said = " ".join(result.stdout.split())
    assert "enregistrement(s) rejeté(s) : corrigez-les dans l'annuaire" in said
    assert "06 12" not in result.output


def test_a_full_directory_cut_short_erases_nothing_and_says_why(cli, tmp_path: Path) -> None:
    whole, cut = tmp_path / "annuaire.csv", tmp_path / "annuaire-coupe.csv"
    rows = [f"{letter * 64};Nom{letter};Prénom;06 12 34 56 7{i}" for i, letter in enumerate("abcde")]
    whole.write_text("id_foyer;nom;prenom;telephone\n" + "\n".join(rows) + "\n", encoding="utf-8")
    cut.write_text("id_foyer;nom;prenom;telephone\n" + rows[0] + "\n" + rows[1][:10] + "\n", encoding="utf-8")
    assert cli("contacts", "import", str(whole)).code == 0
    result = cli("contacts", "import", str(cut), "--remplacer")
    assert result.code == 1, result.output
    assert "Aucun foyer effacé du coffre" in " ".join(result.stdout.split())
    again = cli("contacts", "import", str(whole), "--remplacer")
    assert "dont 5 remplacés" in again.stdout and "effacés du coffre : 0" in again.stdout


def test_a_directory_with_its_header_only_is_told_and_exits_1(cli, tmp_path: Path) -> None:
    empty = tmp_path / "annuaire.csv"
    empty.write_text("id_foyer;nom;prenom;telephone\n", encoding="utf-8")
    whole = tmp_path / "complet.csv"
    whole.write_text(
        f"id_foyer;nom;prenom;telephone\n{'a' * 64};Nom;Prénom;06 12 34 56 78\n", encoding="utf-8"
    )
    assert cli("contacts", "import", str(whole)).code == 0
    result = cli("contacts", "import", str(empty), "--remplacer")
    assert result.code == 1
    said = " ".join(result.stdout.split())
    assert "aucun enregistrement" in said and "Aucun foyer effacé du coffre" in said


def _import_in_batches(engine: Engine, keyring: Keyring, path: Path, rows: int) -> ImportReport:
    with transaction(engine) as session:
        return import_contacts(
            session, keyring, path, territory=TERRITORY, actor="equipe-donnees", batch_rows=rows
        )


def test_a_record_unreadable_far_down_the_file_writes_nothing_though_earlier_batches_were_stored(
    sealed: None, engine: Engine, keyring: Keyring, people: list[dict[str, str]], tmp_path: Path
) -> None:
    first = tmp_path / "annuaire-1.csv"
    ids = _write(keyring, people[:3], first)
    _import(engine, keyring, first)
    held = _stored(engine, keyring, ids[0])[0]

    people[0]["ville"] = "Manosque"
    second = tmp_path / "annuaire-2.csv"
    _write(keyring, people[:3], second)
    # Enough records for the reader to hand over batches before it meets the last one, in Latin-1.
    newcomers = [f"{number:064d}" for number in range(1_000)]
    with second.open("ab") as handle:
        handle.writelines(
            f"{name};;Nom;Prénom;06 12 34 {n // 100:02d} {n % 100:02d};;;;\n".encode()
            for n, name in enumerate(newcomers)
        )
        handle.write(f"{'c' * 64};;Hélène;Zoé;;;;;\n".encode("latin-1"))
    inserts: list[str] = []

    def count_inserts(conn: object, cursor: object, statement: str, *args: object) -> None:
        if statement.startswith("INSERT INTO privacy_contact"):
            inserts.append(statement)

    event.listen(engine, "before_cursor_execute", count_inserts)
    try:
        with pytest.raises(InputInvalid) as refused:
            _import_in_batches(engine, keyring, second, rows=100)
    finally:
        event.remove(engine, "before_cursor_execute", count_inserts)

    assert inserts, "no batch was written before the unreadable record: the test proves nothing"
    assert str(refused.value).startswith(f"{second} : le fichier n'est pas encodé en UTF-8")
    assert f"ligne {len(newcomers) + 5}" in str(refused.value)
    assert _stored(engine, keyring, ids[0])[0] == held
    with transaction(engine) as session:
        assert not [name for name in newcomers if session.get(ContactRecord, name) is not None]


def test_batches_smaller_than_the_file_number_records_and_find_a_household_twice_as_one_read_does(
    sealed: None, engine: Engine, keyring: Keyring, people: list[dict[str, str]], tmp_path: Path
) -> None:
    people[4]["telephone"] = "01 23"
    path = tmp_path / "annuaire.csv"
    # The first household again at the end, three batches of two records after its first line.
    _write(keyring, [*people, people[0]], path)

    whole = _import_in_batches(engine, keyring, path, rows=10_000)
    batched = _import_in_batches(engine, keyring, path, rows=2)

    assert (
        batched.issues
        == whole.issues
        == [
            ContactIssue(5, "telephone", "numéro de téléphone invalide"),
            ContactIssue(7, "id_foyer", "foyer en double dans le fichier"),
        ]
    )
    assert (batched.records, batched.stored, batched.rejected, batched.replaced) == (7, 6, 1, 6)
