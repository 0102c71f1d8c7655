from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, select, update

from privacy import exchanges, retention
from privacy.errors import DecisionInvalid, ExchangeRefused
from privacy.keys import Keyring
from privacy.models import AuditEntry, Exchange
from tests.privacy.conftest import NOW, REGISTER_CODE, later, request_exchange
from uptake.db import transaction

LIST = pl.DataFrame({"id_foyer": ["a" * 64], "nom": ["Durand"], "telephone": ["+33612345678"]})


def _write(
    engine: Engine, keyring: Keyring, exchange_id: int, out: Path, frame: pl.DataFrame, days: int = 1
) -> None:
    with transaction(engine) as session:
        grant = exchanges.authorise(
            session, keyring, exchange_id, [c for c in frame.columns if c != "id_foyer"], now=later(days)
        )
        retention.write_personal_output(
            session, keyring, grant, out, frame, actor="equipe", label="sms", now=later(days)
        )


def test_an_exchange_without_a_register_entry_is_refused(engine: Engine) -> None:
    with transaction(engine) as session, pytest.raises(ExchangeRefused, match="registre"):
        request_exchange(session)


def test_retention_beyond_twelve_months_cannot_be_requested(engine: Engine, registered: str) -> None:
    with transaction(engine) as session, pytest.raises(DecisionInvalid, match="12 mois"):
        request_exchange(session, days=400)


def test_an_approved_exchange_authorises_exactly_its_fields(
    engine: Engine, keyring: Keyring, approved: int
) -> None:
    with transaction(engine) as session:
        grant = exchanges.authorise(session, keyring, approved, ["nom", "telephone"], now=later(1))
    assert grant.fields == {"nom", "prenom", "telephone"}
    assert grant.register_code == REGISTER_CODE


def test_a_list_with_a_field_outside_the_approval_is_refused_and_nothing_written(
    engine: Engine, keyring: Keyring, approved: int, tmp_path: Path
) -> None:
    out = tmp_path / "liste.csv"
    with transaction(engine) as session:
        grant = exchanges.authorise(session, keyring, approved, ["nom"], now=later(1))
        with pytest.raises(ExchangeRefused, match="champs hors de l'approbation : email"):
            retention.write_personal_output(
                session,
                keyring,
                grant,
                out,
                LIST.with_columns(email=pl.lit("x@example.org")),
                actor="e",
                label="l",
                now=later(1),
            )
    assert not out.exists()
    assert not list((keyring.keys_dir).glob("sortie-*"))


def test_an_expired_approval_is_refused_and_nothing_written(
    engine: Engine, keyring: Keyring, approved: int, tmp_path: Path
) -> None:
    out = tmp_path / "liste.csv"
    with pytest.raises(ExchangeRefused, match="expirée le 2026-06-30"):
        _write(engine, keyring, approved, out, LIST, days=200)
    assert not out.exists()


def test_an_approval_ends_with_its_last_day_in_france_not_in_utc(
    engine: Engine, keyring: Keyring, approved: int
) -> None:
    from datetime import UTC, datetime

    with transaction(engine) as session:  # valid until 30 June 2026
        late_evening = datetime(2026, 6, 30, 21, 30, tzinfo=UTC)  # 11:30 pm in Paris
        assert exchanges.authorise(session, keyring, approved, ["nom"], now=late_evening)
        with pytest.raises(ExchangeRefused, match="expirée le 2026-06-30"):
            # Still 30 June in UTC, but already 1 July in France.
            exchanges.authorise(
                session, keyring, approved, ["nom"], now=datetime(2026, 6, 30, 22, 30, tzinfo=UTC)
            )


def test_an_altered_approval_is_refused_and_nothing_written(
    engine: Engine, keyring: Keyring, approved: int, tmp_path: Path
) -> None:
    with transaction(engine) as session:  # someone widens the approval directly in the database
        session.execute(
            update(Exchange)
            .where(Exchange.id == approved)
            .values(fields=["email", "nom", "prenom", "telephone"])
        )
    out = tmp_path / "liste.csv"
    with pytest.raises(ExchangeRefused, match="signature de l'approbation invalide"):
        _write(engine, keyring, approved, out, LIST)
    assert not out.exists()


def test_an_approval_extended_in_time_is_refused(engine: Engine, keyring: Keyring, approved: int) -> None:
    with transaction(engine) as session:
        session.execute(update(Exchange).where(Exchange.id == approved).values(expires_on=date(2027, 12, 31)))
    with transaction(engine) as session, pytest.raises(ExchangeRefused, match="signature"):
        exchanges.authorise(session, keyring, approved, ["nom"], now=later(1))


def test_a_forged_signature_from_another_key_is_refused(
    engine: Engine, keyring: Keyring, other_keyring: Keyring, registered: str, tmp_path: Path
) -> None:
    with transaction(engine) as session:
        exchange_id = request_exchange(session)
        # The forger approves with their own key (e.g. a copied database on another machine).
        exchanges.approve(session, other_keyring, exchange_id, dpo="dpo", avis="ok", now=NOW)
    out = tmp_path / "liste.csv"
    with pytest.raises(ExchangeRefused, match="signée par une autre clé"):
        _write(engine, keyring, exchange_id, out, LIST)
    assert not out.exists()


def test_unapproved_and_refused_exchanges_authorise_nothing(
    engine: Engine, keyring: Keyring, registered: str
) -> None:
    with transaction(engine) as session:
        pending = request_exchange(session)
        refused = request_exchange(session)
        exchanges.refuse(session, refused, dpo="dpo", avis="Finalité trop large", now=NOW)
    with transaction(engine) as session:
        with pytest.raises(ExchangeRefused, match="échange demandé, non approuvé"):
            exchanges.authorise(session, keyring, pending, ["nom"], now=later(1))
        with pytest.raises(ExchangeRefused, match="échange refusé, non approuvé"):
            exchanges.authorise(session, keyring, refused, ["nom"], now=later(1))


def test_a_decision_cannot_be_taken_twice(engine: Engine, keyring: Keyring, approved: int) -> None:
    with transaction(engine) as session, pytest.raises(DecisionInvalid, match=r"déjà décidé \(statut : app"):
        exchanges.refuse(session, approved, dpo="dpo", avis="non", now=NOW)


def test_a_naive_time_is_taken_as_utc(engine: Engine, keyring: Keyring, approved: int) -> None:
    with transaction(engine) as session:
        grant = exchanges.authorise(session, keyring, approved, ["nom"], now=later(1).replace(tzinfo=None))
    assert grant.exchange_id == approved


def test_a_revoked_approval_authorises_nothing_from_then_on(
    engine: Engine, keyring: Keyring, approved: int, tmp_path: Path
) -> None:
    _write(engine, keyring, approved, tmp_path / "avant.csv", LIST, days=1)
    with transaction(engine) as session:
        exchanges.revoke(session, approved, dpo="dpo", motif="Prestataire SMS changé", now=later(2))
    out = tmp_path / "apres.csv"
    with pytest.raises(ExchangeRefused, match=r"approbation révoquée par le DPO le 04/03/2026"):
        _write(engine, keyring, approved, out, LIST, days=3)
    assert not out.exists()
    with transaction(engine) as session:
        exchange = exchanges.get(session, approved)
        assert (exchange.status, exchange.revoked_by) == (exchanges.REVOKED, "dpo")
        assert exchange.revocation_reason == "Prestataire SMS changé"
        actions = [e.action for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
    assert actions[-1] == exchanges.REVOCATION_ACTION


def test_a_revocation_holds_even_if_the_status_is_set_back_in_the_database(
    engine: Engine, keyring: Keyring, approved: int
) -> None:
    with transaction(engine) as session:
        exchanges.revoke(session, approved, dpo="dpo", motif="Incident", now=later(2))
    with transaction(engine) as session:  # someone with database access undoes the revocation
        session.execute(update(Exchange).where(Exchange.id == approved).values(status=exchanges.APPROVED))
    with transaction(engine) as session, pytest.raises(ExchangeRefused, match="inscrite au journal d'audit"):
        exchanges.authorise(session, keyring, approved, ["nom"], now=later(3))


def test_only_an_approval_in_force_can_be_revoked_and_with_a_reason(
    engine: Engine, keyring: Keyring, approved: int, registered: str
) -> None:
    with transaction(engine) as session:
        pending = request_exchange(session)

    def refused(exchange_id: int, motif: str, days: int) -> str:
        with transaction(engine) as session, pytest.raises(DecisionInvalid) as caught:
            exchanges.revoke(session, exchange_id, dpo="dpo", motif=motif, now=later(days))
        return str(caught.value)

    assert "Seul un échange approuvé se révoque" in refused(pending, "x", 1)
    assert "motif de la révocation manquant" in refused(approved, "  ", 1)
    assert "a expiré le 30/06/2026" in refused(approved, "trop tard", 200)
    with transaction(engine) as session:
        exchanges.revoke(session, approved, dpo="dpo", motif="Fin de campagne", now=later(1))
    assert "n'est pas approuvé (statut : révoquée)" in refused(approved, "encore", 2)


def test_the_outputs_of_a_revoked_exchange_can_be_destroyed_at_once(
    engine: Engine, keyring: Keyring, approved: int, tmp_path: Path
) -> None:
    out = tmp_path / "liste.csv"
    _write(engine, keyring, approved, out, LIST, days=1)
    with transaction(engine) as session, pytest.raises(DecisionInvalid, match="est encore valide"):
        retention.purge_exchange_outputs(session, keyring, approved, actor="dpo", now=later(2))
    assert out.exists()
    with transaction(engine) as session:
        (record,) = retention.held_outputs(session, approved)
        exchanges.revoke(session, approved, dpo="dpo", motif="Fuite chez le prestataire", now=later(2))
        purged = retention.purge_exchange_outputs(session, keyring, approved, actor="dpo", now=later(2))
        assert purged == retention.ExchangeOutputsPurge(1, 2, ())
        assert retention.held_outputs(session, approved) == []
        purge_entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "purge.sortie").order_by(AuditEntry.seq.desc())
        ).first()
    assert not out.exists() and not Path(record.encrypted_path).exists()
    assert not (keyring.keys_dir / record.key_name).exists() and not list(keyring.keys_dir.glob("sortie-*"))
    assert purge_entry is not None and purge_entry.object_ref == f"sortie:{record.id}"
