from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, func, select

from privacy import audit, exchanges, register, retention, rotation, subjects, vault
from privacy.errors import DecisionInvalid
from privacy.keys import Keyring
from privacy.models import AuditEntry, Opposition
from privacy.pseudonyms import key_text, pseudonym_of
from tests.conftest import audit_clock
from tests.privacy.conftest import NOW, TERRITORY, later
from uptake.db import transaction


def test_an_opposition_is_honoured_until_it_expires(engine: Engine) -> None:
    with transaction(engine) as session:
        subjects.record_opposition(session, "p" * 64, source="appel", actor="ts", months=12, now=NOW)
    with transaction(engine) as session:
        assert subjects.opposed(session, ["p" * 64, "q" * 64], now=later(300)) == {"p" * 64}
        assert subjects.active_oppositions(session, now=later(300))["id_foyer"].to_list() == ["p" * 64]
        assert subjects.opposed(session, ["p" * 64], now=later(400)) == set()


def test_an_opposition_recorded_twice_is_kept_once_and_a_longer_one_renews_it(engine: Engine) -> None:
    with transaction(engine) as session:
        first = subjects.record_opposition(
            session, "p" * 64, source="courrier", actor="dpo", months=12, now=NOW
        )
        again = subjects.record_opposition(session, "p" * 64, source="sms", actor="dpo", months=12, now=NOW)
        assert not first.already_in_force and again.already_in_force and again.expires_on == first.expires_on
        renewed = subjects.record_opposition(
            session, "p" * 64, source="appel", actor="dpo", months=24, now=NOW
        )
        assert not renewed.already_in_force and renewed.expires_on > first.expires_on
        # A month later, 12 more months end before the 24 in force: nothing to add.
        covered = subjects.record_opposition(
            session, "p" * 64, source="appel", actor="dpo", months=12, now=later(30)
        )
        assert covered.already_in_force and covered.expires_on == renewed.expires_on
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(Opposition)) == 2
        recorded = session.scalars(select(AuditEntry).where(AuditEntry.action == "opposition.enregistrement"))
        assert len(list(recorded)) == 2


def test_opposition_retention_outside_12_to_24_months_is_refused(engine: Engine) -> None:
    with transaction(engine) as session, pytest.raises(DecisionInvalid, match="entre 12 et 24 mois"):
        subjects.record_opposition(session, "p" * 64, source="appel", actor="ts", months=36)


@pytest.mark.parametrize(("source", "problem"), [("", "vide"), ("  \n ", "vide"), ("x" * 201, "plus de 200")])
def test_an_opposition_without_a_readable_source_is_refused(
    engine: Engine, source: str, problem: str
) -> None:
    # Where an objection came from is what the DPO shows if it is ever contested.
    with (
        transaction(engine) as session,
        pytest.raises(DecisionInvalid, match=f"mode de réception .*{problem}"),
    ):
        subjects.record_opposition(session, "p" * 64, source=source, actor="dpo")
    with transaction(engine) as session:
        assert session.scalar(select(func.count()).select_from(Opposition)) == 0


@pytest.mark.parametrize("pseudonym", ["abc", "p" * 64 + " ", "é" * 20])
def test_an_opposition_for_a_malformed_pseudonym_is_refused(engine: Engine, pseudonym: str) -> None:
    # A mistyped pseudonym would oppose nobody, and the household would go on being contacted.
    with transaction(engine) as session, pytest.raises(DecisionInvalid, match="pseudonyme mal formé"):
        subjects.record_opposition(session, pseudonym, source="appel", actor="ts")


def test_the_pseudonym_for_an_opposition_can_come_from_the_matricule(keyring: Keyring) -> None:
    computed = subjects.pseudonym_for(keyring, " 1234567 ", territory=TERRITORY, finalite="droits")
    assert computed == pseudonym_of(key_text(keyring, TERRITORY, "droits"), "1234567")
    with pytest.raises(DecisionInvalid, match="matricule vide"):
        subjects.pseudonym_for(keyring, "  ", territory=TERRITORY, finalite="droits")


def test_the_access_report_finds_everything_held_from_the_matricule(
    engine: Engine, keyring: Keyring, people: list[dict[str, str]], approved: int, tmp_path: Path
) -> None:
    key = key_text(keyring, TERRITORY, "droits")
    mine = pseudonym_of(key, people[0]["matricule"])
    directory = pl.DataFrame(people).with_columns(
        pl.col("matricule")
        .map_elements(lambda m: pseudonym_of(key, m), return_dtype=pl.String)
        .alias("id_foyer")
    )
    with transaction(engine) as session:
        vault.import_contacts(session, keyring, directory.drop("matricule"), territory=TERRITORY, actor="e")
        subjects.record_opposition(session, mine, source="courrier", actor="ts", now=NOW)
        audit.append(session, actor="ts", action="liste.appel.consultation", object_ref=mine)
        audit.append(session, actor="ts", action="liste.appel.consultation", object_ref="autre" * 10)
    with transaction(engine) as session:
        grant = exchanges.authorise(session, keyring, approved, ["telephone"], now=later(1))
        sms = pl.DataFrame({"telephone": ["+33612345670"], "message": ["Bonjour"]})
        retention.write_personal_output(
            session,
            keyring,
            grant,
            tmp_path / "sms.csv",
            sms,
            actor="e",
            label="SMS prime d'activité",
            households=[mine],
            now=later(1),
        )
    with transaction(engine) as session:
        report = subjects.access_report(
            session, keyring, people[0]["matricule"], territory=TERRITORY, finalites=["droits"], actor="dpo"
        )
    text = subjects.render_text(report)
    assert mine in text
    assert "courrier" in text
    assert "SMS prime d'activité" in text  # the list the household was on
    assert "opposition.enregistrement" in text and text.count("liste.appel.consultation") == 1
    assert people[0]["nom"] not in text and people[0]["nom"] not in subjects.render_html(report)


def test_the_access_report_is_dated_on_the_caf_s_clock(
    engine: Engine, keyring: Keyring, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPTAKE_FUSEAU", "Indian/Reunion")  # UTC+4
    mine = subjects.pseudonym_for(keyring, "1234567", territory=TERRITORY, finalite="droits")
    with transaction(engine) as session:
        with audit_clock(datetime(2026, 3, 11, 21, 30, tzinfo=UTC)):
            audit.append(session, actor="ts", action="liste.appel.consultation", object_ref=mine)
        subjects.record_opposition(
            session,
            mine,
            source="courrier",
            actor="dpo",
            months=12,
            now=datetime(2026, 3, 11, 21, 30, tzinfo=UTC),
        )
    with transaction(engine) as session:
        report = subjects.access_report(
            session,
            keyring,
            "1234567",
            territory=TERRITORY,
            finalites=["droits"],
            actor="dpo",
            now=datetime(2026, 3, 11, 21, 45, tzinfo=UTC),
        )
    text = subjects.render_text(report)
    assert "Édité le 12/03/2026 01:45" in text and "12/03/2026 01:30" in text
    # Recorded at 21:30 UTC on 11 March: the 12th in La Réunion, kept a year from that day.
    assert "Enregistrée le : 12/03/2026 ; Conservée jusqu'au : 12/03/2027 ; Origine : courrier" in text
    assert "UTC" not in text and "UTC" not in subjects.render_html(report)


def test_after_a_key_rotation_everything_is_re_keyed_and_still_found(
    engine: Engine,
    keyring: Keyring,
    sealed: None,
    people: list[dict[str, str]],
    approved: int,
    tmp_path: Path,
) -> None:
    key = key_text(keyring, TERRITORY, "droits")
    old = pseudonym_of(key, people[0]["matricule"])
    directory = pl.DataFrame(people).with_columns(
        pl.col("matricule")
        .map_elements(lambda m: pseudonym_of(key, m), return_dtype=pl.String)
        .alias("id_foyer")
    )
    raw = tmp_path / "brut.parquet"
    pl.DataFrame(
        {"matricule": [p["matricule"] for p in people[1:]] + [people[0]["matricule"]]}
    ).write_parquet(raw)
    with transaction(engine) as session:
        vault.import_contacts(session, keyring, directory.drop("matricule"), territory=TERRITORY, actor="e")
        subjects.record_opposition(session, old, source="courrier", actor="ts", now=NOW)
        grant = exchanges.authorise(session, keyring, approved, ["nom"], now=later(1))
        listing = pl.DataFrame({"id_foyer": [old], "nom": ["x"]})
        retention.write_personal_output(
            session,
            keyring,
            grant,
            tmp_path / "l.csv",
            listing,
            actor="e",
            label="Liste d'appel",
            now=later(1),
        )
    with transaction(engine) as session:
        result = rotation.rotate(
            session, keyring, raw, territory=TERRITORY, finalites=["droits"], actor="dpo", now=later(1)
        )
    assert rotation.promote(keyring, TERRITORY)
    assert (result.vault_rekeyed, result.vault_deleted, result.oppositions_rekeyed) == (6, 0, 1)
    new = pseudonym_of(key_text(keyring, TERRITORY, "droits"), people[0]["matricule"])
    assert new != old
    with transaction(engine) as session:
        assert subjects.opposed(session, [new, old], now=later(1)) == {new}
        grant = exchanges.authorise(session, keyring, approved, ["nom"], now=later(1))
        assert (
            vault.reveal(session, keyring, grant, [new], ["nom"], now=later(1))[new]["nom"]
            == people[0]["nom"]
        )
        report = subjects.access_report(
            session,
            keyring,
            people[0]["matricule"],
            territory=TERRITORY,
            finalites=["droits"],
            actor="dpo",
            now=later(1),
        )
    text = subjects.render_text(report)
    assert old in text and new in text  # the former pseudonym, and the audit entries written under it
    assert "opposition.enregistrement" in text
    assert "Liste d'appel" in text  # the output's household was re-keyed too
    assert audit.verify(engine, keyring.public_key()).ok


def test_both_formats_tell_the_register_s_purposes_recipients_and_retention_with_sources_and_rights(
    engine: Engine, keyring: Keyring, registered: str
) -> None:
    with transaction(engine) as session:
        entry = register.get(session, registered)
        report = subjects.access_report(
            session, keyring, "1234567", territory=TERRITORY, finalites=["droits"], actor="dpo"
        )
    assert report.register_codes == (registered,)
    text, html = subjects.render_text(report), subjects.render_html(report)
    for said in (" ".join(text.split()), html.replace("&#39;", "'")):
        for line in [*entry.finalites, *entry.destinataires, *subjects.retention_items(entry.conservation)]:
            assert " ".join(line.split()) in said
        assert "D'où viennent ces données" in said and "Votre dossier à la Caf" in said
        assert "réclamation à la CNIL" in said and "3 place de Fontenoy" in said
        assert "article 16" in said and "article 21" in said
        # Said by the register, never by a text of its own that could disagree with it.
        assert "communes partenaires" not in said and "au plus tard 12 mois" not in said
    assert "Territoire" not in text and TERRITORY not in text  # the key's territory is no word for a person


def test_without_the_register_the_report_says_so_rather_than_inventing_recipients(
    engine: Engine, keyring: Keyring
) -> None:
    with transaction(engine) as session:
        report = subjects.access_report(
            session, keyring, "1234567", territory=TERRITORY, finalites=["droits"], actor="dpo"
        )
    assert report.register_codes == ()
    text = " ".join(subjects.render_text(report).split())
    assert "registre des traitements n'est pas chargée" in text and "réclamation à la CNIL" in text


def test_the_register_s_retention_is_read_one_duration_per_item_brackets_kept_whole() -> None:
    assert subjects.retention_items("listes : 12 mois ; drapeaux (montants ; explications) : 12 mois ;") == [
        "Listes : 12 mois",
        "Drapeaux (montants ; explications) : 12 mois",
    ]


def test_the_text_report_leaves_empty_fields_out_and_names_things_in_words(
    engine: Engine, keyring: Keyring, people: list[dict[str, str]]
) -> None:
    key = key_text(keyring, TERRITORY, "droits")
    directory = pl.DataFrame(people).with_columns(
        pl.col("matricule")
        .map_elements(lambda m: pseudonym_of(key, m), return_dtype=pl.String)
        .alias("id_foyer")
    )
    with transaction(engine) as session:
        vault.import_contacts(session, keyring, directory.drop("matricule"), territory=TERRITORY, actor="e")
        report = subjects.access_report(
            session, keyring, people[0]["matricule"], territory=TERRITORY, finalites=["droits"], actor="dpo"
        )
    text = subjects.render_text(report)
    assert "Usage : repérage des droits et prises de contact" in text and "Finalité : droits" not in text
    assert "code postal" in text and "code_postal" not in text  # the fields, in words
    assert "Coordonnées écartées" not in text  # none: the empty field is left out
    assert "courrier sur demande" not in text and "caf.fr" in text  # what the person can actually do
