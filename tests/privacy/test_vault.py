from __future__ import annotations

import polars as pl
import pytest
from sqlalchemy import Engine, select

from privacy import exchanges, vault
from privacy.errors import ExchangeRefused, PrivacyError
from privacy.keys import Keyring
from privacy.models import ContactRecord
from privacy.pseudonyms import key_text, pseudonym_of
from tests.privacy.conftest import TERRITORY, later
from uptake.db import transaction


def _directory(keyring: Keyring, people: list[dict[str, str]]) -> pl.DataFrame:
    key = key_text(keyring, TERRITORY, "droits")
    return (
        pl.DataFrame(people)
        .with_columns(
            pl.col("matricule")
            .map_elements(lambda m: pseudonym_of(key, m), return_dtype=pl.String)
            .alias("id_foyer")
        )
        .drop("matricule")
    )


def _stored_directory(engine: Engine, keyring: Keyring, people: list[dict[str, str]]) -> pl.DataFrame:
    """The directory of `people`, imported into the vault."""
    frame = _directory(keyring, people)
    with transaction(engine) as session:
        vault.import_contacts(session, keyring, frame, territory=TERRITORY, actor="e")
    return frame


def test_import_normalises_phone_numbers_and_reports_invalid_values_without_them(
    engine: Engine, keyring: Keyring, people: list[dict[str, str]], approved: int
) -> None:
    people[1]["telephone"] = "01 23"  # too short
    people[2]["email"] = "pas-une-adresse"
    people[3]["telephone"] = "+33 6 12 34 56 78"
    people[4]["telephone"] = "0692 12 34 56"  # a mobile of La Réunion, written the national way
    with transaction(engine) as session:
        report = vault.import_contacts(
            session, keyring, _directory(keyring, people), territory=TERRITORY, actor="e"
        )
    assert (report.records, report.stored, report.rejected) == (6, 6, 0)
    assert {(i.record, i.column) for i in report.issues} == {(2, "telephone"), (3, "email")}
    assert all("01 23" not in i.problem and "pas-une" not in i.problem for i in report.issues)
    frame = _directory(keyring, people)
    ids = frame["id_foyer"].to_list()
    with transaction(engine) as session:
        grant = exchanges.authorise(session, keyring, approved, ["telephone"], now=later(1))
        shown = vault.reveal(session, keyring, grant, ids, ["telephone"], now=later(1))
    assert shown[ids[0]]["telephone"] == "+33612345670"
    assert shown[ids[1]]["telephone"] is None  # invalid: never stored as usable
    assert shown[ids[3]]["telephone"] == "+33612345678"
    assert shown[ids[4]]["telephone"] == "+262692123456"  # not the invalid +33 6 92…


def test_records_are_encrypted_at_rest(
    engine: Engine, keyring: Keyring, people: list[dict[str, str]]
) -> None:
    with transaction(engine) as session:
        vault.import_contacts(session, keyring, _directory(keyring, people), territory=TERRITORY, actor="e")
    with transaction(engine) as session:
        blobs = b"".join(r.ciphertext for r in session.scalars(select(ContactRecord)))
    for person in people:
        assert person["nom"].encode() not in blobs
        assert person["email"].encode() not in blobs


def test_reveal_needs_fields_inside_the_approval(
    engine: Engine, keyring: Keyring, people: list[dict[str, str]], approved: int
) -> None:
    frame = _directory(keyring, people)
    with transaction(engine) as session:
        vault.import_contacts(session, keyring, frame, territory=TERRITORY, actor="e")
        grant = exchanges.authorise(session, keyring, approved, ["nom"], now=later(1))
        with pytest.raises(ExchangeRefused, match="email"):
            vault.reveal(session, keyring, grant, frame["id_foyer"].to_list(), ["email"], now=later(1))


def test_a_record_moved_to_another_household_does_not_decrypt(
    engine: Engine, keyring: Keyring, people: list[dict[str, str]], approved: int
) -> None:
    frame = _directory(keyring, people)
    ids = frame["id_foyer"].to_list()
    with transaction(engine) as session:
        vault.import_contacts(session, keyring, frame, territory=TERRITORY, actor="e")
    with transaction(engine) as session:
        first, second = session.get(ContactRecord, ids[0]), session.get(ContactRecord, ids[1])
        assert first is not None and second is not None
        first.nonce, first.ciphertext = second.nonce, second.ciphertext
    with transaction(engine) as session:
        grant = exchanges.authorise(session, keyring, approved, ["nom"], now=later(1))
        with pytest.raises(PrivacyError, match="altéré"):
            vault.reveal(session, keyring, grant, [ids[0]], ["nom"], now=later(1))


def test_usable_channels_are_known_without_decrypting(
    engine: Engine, keyring: Keyring, people: list[dict[str, str]]
) -> None:
    people[0]["email"] = ""
    frame = _directory(keyring, people)
    with transaction(engine) as session:
        vault.import_contacts(session, keyring, frame, territory=TERRITORY, actor="e")
        channels = vault.usable_channels(session, TERRITORY)
    first = channels.filter(pl.col("id_foyer") == frame["id_foyer"][0]).row(0, named=True)
    assert first["canal_sms"] and first["canal_courrier"] and not first["canal_email"]


def test_bad_pseudonyms_and_duplicates_are_rejected_by_record_number(
    engine: Engine, keyring: Keyring, people: list[dict[str, str]]
) -> None:
    frame = _directory(keyring, people)
    frame = pl.concat([frame, frame.head(1)]).with_columns(
        pl.when(pl.int_range(pl.len()) == 2)
        .then(pl.lit("court"))
        .otherwise(pl.col("id_foyer"))
        .alias("id_foyer")
    )
    with transaction(engine) as session:
        report = vault.import_contacts(session, keyring, frame, territory=TERRITORY, actor="e")
    assert report.rejected == 2
    assert {(i.record, i.column) for i in report.issues} == {(3, "id_foyer"), (7, "id_foyer")}


def test_a_full_directory_import_erases_households_no_longer_in_it(
    engine: Engine, keyring: Keyring, people: list[dict[str, str]]
) -> None:
    frame = _stored_directory(engine, keyring, people)
    with transaction(engine) as session:
        report = vault.import_contacts(
            session, keyring, frame.head(4), territory=TERRITORY, actor="e", replace_all=True
        )
        remaining = set(session.scalars(select(ContactRecord.pseudonym)))
    assert report.deleted == 2
    assert remaining == set(frame["id_foyer"].head(4))


def _held(engine: Engine) -> set[str]:
    with transaction(engine) as session:
        return set(session.scalars(select(ContactRecord.pseudonym)))


def test_a_file_without_names_is_refused_before_it_replaces_anyones_contacts(
    engine: Engine, keyring: Keyring, people: list[dict[str, str]]
) -> None:
    frame = _stored_directory(engine, keyring, people)
    extract_like = frame.select("id_foyer", pl.lit(3).alias("nb_enfants"))  # the extract, given by mistake
    with transaction(engine) as session, pytest.raises(PrivacyError, match="nom, prenom"):
        vault.import_contacts(
            session, keyring, extract_like, territory=TERRITORY, actor="e", replace_all=True
        )
    with transaction(engine) as session:
        assert vault.usable_channels(session, TERRITORY).height == len(people)  # every contact still held


def test_a_full_directory_with_rejected_records_erases_no_household(
    engine: Engine, keyring: Keyring, people: list[dict[str, str]]
) -> None:
    frame = _stored_directory(engine, keyring, people)
    cut = frame.head(3).with_columns(  # a file cut in the middle of its last line
        pl.when(pl.int_range(pl.len()) == 2).then(pl.lit("0a1")).otherwise("id_foyer").alias("id_foyer")
    )
    with transaction(engine) as session:
        report = vault.import_contacts(
            session, keyring, cut, territory=TERRITORY, actor="e", replace_all=True
        )
    assert report.deletion_skipped and report.deleted == 0 and report.rejected == 1
    assert _held(engine) == set(frame["id_foyer"])


def test_a_full_directory_that_would_erase_most_of_the_vault_is_refused_unless_told(
    engine: Engine, keyring: Keyring, people: list[dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(vault, "MASS_DELETION_FLOOR", 2)
    frame = _stored_directory(engine, keyring, people)
    with transaction(engine) as session, pytest.raises(PrivacyError, match="effacerait 4 des 6 foyers"):
        vault.import_contacts(
            session, keyring, frame.head(2), territory=TERRITORY, actor="e", replace_all=True
        )
    assert _held(engine) == set(frame["id_foyer"])  # nothing written
    with transaction(engine) as session:
        report = vault.import_contacts(
            session,
            keyring,
            frame.head(2),
            territory=TERRITORY,
            actor="e",
            replace_all=True,
            mass_deletion=True,
        )
    assert report.deleted == 4 and _held(engine) == set(frame["id_foyer"].head(2))
