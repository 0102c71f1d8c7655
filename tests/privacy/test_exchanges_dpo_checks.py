"""What the DPO found missing in exchanges: blank terms, approvals for years, deciding one's own request,
outputs of an expired approval that could not be destroyed early."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, select, update

from privacy import exchanges, retention
from privacy.errors import DecisionInvalid
from privacy.keys import Keyring
from privacy.models import AuditEntry, Exchange
from tests.privacy.conftest import NOW, REGISTER_CODE, later
from uptake.db import transaction

WANTED = exchanges.ExchangeRequest(
    requester="alice",
    recipient="Prestataire SMS (sous-traitant)",
    purpose="Informer les foyers de leur droit probable à la prime d'activité",
    register_code=REGISTER_CODE,
    fields=("nom", "telephone"),
    legal_basis="Art. L.114-8 II CRPA",
    retention_days=90,
    expires_on=NOW.date() + timedelta(days=90),
)
LIST = pl.DataFrame({"id_foyer": ["a" * 64], "nom": ["Durand"]})


def _request(engine: Engine, wanted: exchanges.ExchangeRequest = WANTED) -> int:
    with transaction(engine) as session:
        return exchanges.request(session, wanted, now=NOW).id


@pytest.mark.parametrize(
    ("term", "option"),
    [("recipient", "--destinataire"), ("purpose", "--finalite"), ("legal_basis", "--base-legale")],
)
def test_a_blank_term_is_refused_naming_its_option(
    engine: Engine, registered: str, term: str, option: str
) -> None:
    with pytest.raises(DecisionInvalid, match=f"\\({option}\\) vide"):
        _request(engine, replace(WANTED, **{term: "  \t"}))
    with transaction(engine) as session:
        assert exchanges.list_exchanges(session) == []


def test_the_terms_are_recorded_without_surrounding_blanks(engine: Engine, registered: str) -> None:
    exchange_id = _request(engine, replace(WANTED, recipient="  Caf 04 "))
    with transaction(engine) as session:
        assert exchanges.get(session, exchange_id).recipient == "Caf 04"


def test_an_approval_cannot_be_requested_for_more_than_twelve_months(engine: Engine, registered: str) -> None:
    at_most = NOW.date() + timedelta(days=exchanges.MAX_APPROVAL_DAYS)
    with pytest.raises(DecisionInvalid, match=f"--expire-le {at_most.isoformat()} au plus tard"):
        _request(engine, replace(WANTED, expires_on=at_most + timedelta(days=1)))
    assert _request(engine, replace(WANTED, expires_on=at_most))


def test_a_request_for_years_recorded_before_the_limit_cannot_be_approved(
    engine: Engine, keyring: Keyring, registered: str
) -> None:
    exchange_id = _request(engine)
    with transaction(engine) as session:  # as a request recorded before the limit existed
        far = NOW.date().replace(year=NOW.year + 9)
        session.execute(update(Exchange).where(Exchange.id == exchange_id).values(expires_on=far))
    with transaction(engine) as session, pytest.raises(DecisionInvalid, match="plus de 365 jours"):
        exchanges.approve(session, keyring, exchange_id, dpo="dpo", avis="Favorable", now=NOW)


@pytest.mark.parametrize("dpo", ["alice", " Alice "])
def test_the_requester_can_neither_approve_nor_refuse_their_own_request(
    engine: Engine, keyring: Keyring, registered: str, dpo: str
) -> None:
    exchange_id = _request(engine)
    with transaction(engine) as session, pytest.raises(DecisionInvalid, match="sa propre demande"):
        exchanges.approve(session, keyring, exchange_id, dpo=dpo, avis="Favorable", now=NOW)
    with transaction(engine) as session, pytest.raises(DecisionInvalid, match="sa propre demande"):
        exchanges.refuse(session, exchange_id, dpo=dpo, avis="Défavorable", now=NOW)
    with transaction(engine) as session:
        assert exchanges.get(session, exchange_id).status == exchanges.REQUESTED
        approved = exchanges.approve(session, keyring, exchange_id, dpo="dpo", avis="Favorable", now=NOW)
    assert approved.dpo == "dpo"


def test_a_decision_without_a_dpo_name_or_an_opinion_is_refused(
    engine: Engine, keyring: Keyring, registered: str
) -> None:
    exchange_id = _request(engine)
    with transaction(engine) as session, pytest.raises(DecisionInvalid, match=r"nom du DPO vide"):
        exchanges.approve(session, keyring, exchange_id, dpo=" ", avis="Favorable", now=NOW)
    with transaction(engine) as session, pytest.raises(DecisionInvalid, match=r"avis du DPO vide"):
        exchanges.refuse(session, exchange_id, dpo="dpo", avis="", now=NOW)


def _write_list(engine: Engine, keyring: Keyring, exchange_id: int, out: Path) -> None:
    with transaction(engine) as session:
        grant = exchanges.authorise(session, keyring, exchange_id, ["nom"], now=later(1))
        retention.write_personal_output(
            session, keyring, grant, out, LIST, actor="equipe", label="sms", now=later(1)
        )


def test_the_outputs_of_an_expired_approval_can_be_destroyed_before_their_retention_end(
    engine: Engine, keyring: Keyring, approved: int, tmp_path: Path
) -> None:
    out = tmp_path / "liste.csv"
    _write_list(engine, keyring, approved, out)
    with transaction(engine) as session:
        expiry = exchanges.get(session, approved).expires_on
    after_expiry = later((expiry - NOW.date()).days + 1)
    with transaction(engine) as session:
        purged = retention.purge_exchange_outputs(session, keyring, approved, actor="dpo", now=after_expiry)
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "purge.sortie").order_by(AuditEntry.seq.desc())
        ).first()
    assert purged == retention.ExchangeOutputsPurge(1, 2, ()) and not out.exists()
    assert entry is not None and entry.details is not None and "approbation expirée" in entry.details


def test_the_outputs_of_an_approval_still_in_force_need_its_revocation_first(
    engine: Engine, keyring: Keyring, approved: int, tmp_path: Path
) -> None:
    out = tmp_path / "liste.csv"
    _write_list(engine, keyring, approved, out)
    with transaction(engine) as session, pytest.raises(DecisionInvalid) as refused:
        retention.purge_exchange_outputs(session, keyring, approved, actor="dpo", now=later(2))
    assert "est encore valide (jusqu'au 30/06/2026)" in str(refused.value)
    assert f"uptake exchanges revoke {approved}" in str(refused.value)
    assert out.exists()


def test_an_exchange_never_approved_has_no_outputs_to_purge_early(
    engine: Engine, keyring: Keyring, registered: str
) -> None:
    exchange_id = _request(engine)
    with transaction(engine) as session, pytest.raises(DecisionInvalid, match="ni révoqué ni expiré"):
        retention.purge_exchange_outputs(session, keyring, exchange_id, actor="dpo", now=later(200))


def test_revoking_an_expired_approval_points_to_the_purge_of_its_outputs(
    engine: Engine, approved: int
) -> None:
    with transaction(engine) as session, pytest.raises(DecisionInvalid) as refused:
        exchanges.revoke(session, approved, dpo="dpo", motif="Fin", now=later(200))
    assert f"uptake exchanges purge-outputs {approved}" in str(refused.value)
