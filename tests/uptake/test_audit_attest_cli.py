"""`uptake audit attester`: the DPO accepts, after review, the entries no signed checkpoint attests."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from privacy import audit
from privacy.models import AuditCheckpoint, AuditEntry
from uptake.db import make_engine, transaction

PASSWORD = "Fictif-mot-de-passe-du-DPO-2026!"


def _dpo_account(cli) -> None:
    added = cli(
        "users", "add", "dpo1", "--role", "dpo", "--mot-de-passe-definitif", "--password-stdin",
        stdin=PASSWORD,
    )  # fmt: skip
    assert added.code == 0, added.output


def _write_around_uptake(home: Path, actions: list[str]) -> None:
    """Entries appended by a script of its own, on an engine uptake did not seal: nothing signs them."""
    engine = make_engine(f"sqlite:///{home / 'uptake.sqlite3'}")
    with transaction(engine) as session:
        for number, action in enumerate(actions):
            audit.append(session, actor="script-maison", action=action, object_ref=f"objet-{number}")
    engine.dispose()


def _log(home: Path) -> tuple[list[tuple[int, str, str, str]], list[tuple[int, str]]]:
    """Every entry (number, actor, action, hash) and every checkpoint (number, hash) of the log."""
    engine = make_engine(f"sqlite:///{home / 'uptake.sqlite3'}")
    with transaction(engine) as session:
        entries = [
            (e.seq, e.actor, e.action, e.hash)
            for e in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))
        ]
        points = [
            (c.seq, c.entry_hash)
            for c in session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq))
        ]
    engine.dispose()
    return entries, points


def _said(result) -> str:
    return " ".join(result.output.split())


def test_entries_written_around_uptake_are_attested_and_the_log_then_verifies_clean(
    cli, uptake_home: Path
) -> None:
    _dpo_account(cli)  # entry n°1, signed by the command's own commit
    _write_around_uptake(uptake_home, ["foyer.consultation", "foyer.consultation", "purge"])
    before = cli("audit", "verify")
    assert before.code == 1 and "les entrées n°2 à n°4 ne sont attestées" in _said(before)
    assert "le DPO les accepte après examen : `uptake audit attester --dpo IDENTIFIANT`" in _said(before)

    attested = cli("audit", "attester", "--dpo", "dpo1", "--password-stdin", "--oui", stdin=PASSWORD + "\n")

    assert attested.code == 0, attested.output
    said = _said(attested)
    assert "Entrées à attester : n°2 à n°4 (3 entrée(s))" in said
    assert "Consultation de la fiche d'un foyer 2 script-maison" in said
    assert "Purge (bilan) 1 script-maison" in said
    assert "Entrées n°2 à n°4 attestées par dpo1 (attestation inscrite au journal, entrée n°5)" in said
    after = cli("audit", "verify")
    assert after.code == 0, after.output
    assert "Journal intact : 5 entrées chaînées" in _said(after) and "attestées" not in _said(after)


def test_the_attestation_is_in_the_log_with_its_dpo_and_range(cli, uptake_home: Path) -> None:
    _dpo_account(cli)
    _write_around_uptake(uptake_home, ["foyer.consultation"])

    assert cli("audit", "attester", "--dpo", "dpo1", "--password-stdin", "--oui", stdin=PASSWORD).code == 0

    engine = make_engine(f"sqlite:///{uptake_home / 'uptake.sqlite3'}")
    with transaction(engine) as session:
        last = session.scalars(select(AuditEntry).order_by(AuditEntry.seq.desc()).limit(1)).one()
        assert (last.seq, last.actor, last.action) == (3, "dpo1", "journal.attestation")
        assert last.counts == '{"entrees": 1}'
        assert last.details == '{"depuis_l_entree": 2, "jusqu_a_l_entree": 2}'
    engine.dispose()
    shown = cli("audit", "show", "--operation", "journal.attestation")
    assert "Entrées non signées du journal attestées par le DPO" in _said(shown) and "dpo1" in shown.stdout


def test_entries_appended_after_an_attestation_are_signed_as_usual(cli, uptake_home: Path) -> None:
    _dpo_account(cli)
    _write_around_uptake(uptake_home, ["foyer.consultation"])
    assert cli("audit", "attester", "--dpo", "dpo1", "--password-stdin", "--oui", stdin=PASSWORD).code == 0

    assert cli("register", "load").code == 0  # a front door's commit, after the attestation

    entries, points = _log(uptake_home)
    assert entries[-1][2] == "registre.chargement" and points[-1] == (entries[-1][0], entries[-1][3])
    assert cli("audit", "verify").code == 0


def test_a_broken_chain_is_refused_and_nothing_is_written(cli, uptake_home: Path) -> None:
    from tests.web.conftest import tamper_audit_entry

    _dpo_account(cli)
    _write_around_uptake(uptake_home, ["foyer.consultation", "purge"])
    engine = make_engine(f"sqlite:///{uptake_home / 'uptake.sqlite3'}")
    tamper_audit_entry(engine, 1)  # the signed entry's actor rewritten
    engine.dispose()
    before = _log(uptake_home)

    refused = cli("audit", "attester", "--dpo", "dpo1", "--password-stdin", "--oui", stdin=PASSWORD)

    assert refused.code == 1, refused.output
    said = " ".join(refused.stderr.split())
    assert "attestation refusée : l'entrée n°1 a été modifiée" in said
    assert "Rien n'a été attesté : une chaîne altérée ne s'atteste pas" in said
    assert _log(uptake_home) == before


def test_a_tail_cut_since_the_noted_landmark_is_refused(cli, uptake_home: Path) -> None:
    from tests.web.conftest import cut_audit_tail

    _dpo_account(cli)
    assert cli("register", "load").code == 0
    noted = cli("audit", "verify").stdout.split()[-1]  # the landmark, at entry n°2
    engine = make_engine(f"sqlite:///{uptake_home / 'uptake.sqlite3'}")
    cut_audit_tail(engine, 2)  # entry n°2 and its checkpoint removed
    engine.dispose()
    _write_around_uptake(uptake_home, ["foyer.consultation"])  # a new n°2 in its place
    before = _log(uptake_home)

    refused = cli(
        "audit", "attester", "--dpo", "dpo1", "--oui", "--repere", noted, "--password-stdin", stdin=PASSWORD
    )

    assert refused.code == 1, refused.output
    assert "l'entrée n°2 n'est plus celle du repère noté" in " ".join(refused.stderr.split())
    assert _log(uptake_home) == before


def test_up_to_an_entry_attests_only_the_entries_before_it(cli, uptake_home: Path) -> None:
    _dpo_account(cli)
    _write_around_uptake(uptake_home, ["foyer.consultation", "foyer.consultation", "purge", "purge"])

    attested = cli(
        "audit", "attester", "--dpo", "dpo1", "--jusqu-a", "3", "--password-stdin", "--oui", stdin=PASSWORD
    )  # fmt: skip

    assert attested.code == 0, attested.output
    said = _said(attested)
    assert (
        "Entrées à attester : n°2 à n°3 (2 entrée(s))" in said
        and "Purge" not in said.split("attester ici")[0]
    )
    assert "Les entrées n°4 à n°5 ne sont pas attestées ici (--jusqu-a)" in said
    assert (
        "Les entrées n°4 à n°6 (dont cette attestation, qui les suit dans la chaîne) restent à attester"
        in said
    )
    entries, points = _log(uptake_home)
    assert points[-1] == (3, entries[2][3])  # the checkpoint stops at the last entry reviewed
    verified = cli("audit", "verify")
    assert verified.code == 1 and "les entrées n°4 à n°6 ne sont attestées" in _said(verified)
    rest = cli("audit", "attester", "--dpo", "dpo1", "--password-stdin", "--oui", stdin=PASSWORD)
    assert rest.code == 0 and "Entrées n°4 à n°6 attestées par dpo1" in _said(rest)
    assert cli("audit", "verify").code == 0


def test_up_to_an_entry_outside_the_unattested_ones_is_refused(cli, uptake_home: Path) -> None:
    _dpo_account(cli)
    _write_around_uptake(uptake_home, ["purge"])

    refused = cli(
        "audit", "attester", "--dpo", "dpo1", "--jusqu-a", "1", "--oui", "--password-stdin", stdin=PASSWORD
    )

    assert refused.code == 2
    assert "entrée n°1 hors des entrées à attester : seules les entrées n°2 à n°2" in " ".join(
        refused.stderr.split()
    )


def test_without_confirmation_nothing_is_attested(cli, uptake_home: Path) -> None:
    _dpo_account(cli)
    _write_around_uptake(uptake_home, ["foyer.consultation"])
    before = _log(uptake_home)

    declined = cli("audit", "attester", "--dpo", "dpo1", "--password-stdin", stdin=f"{PASSWORD}\nnon\n")
    no_answer = cli("audit", "attester", "--dpo", "dpo1", "--password-stdin", stdin=f"{PASSWORD}\n")

    for result in (declined, no_answer):
        assert result.code == 1, result.output
        assert "Attester ces 1 entrée(s) ? (oui/non) : Rien n'a été attesté." in _said(result)
    assert _log(uptake_home) == before
    confirmed = cli("audit", "attester", "--dpo", "dpo1", "--password-stdin", stdin=f"{PASSWORD}\noui\n")
    assert confirmed.code == 0, confirmed.output


def test_only_an_active_dpo_account_with_its_password_attests(cli, uptake_home: Path) -> None:
    _dpo_account(cli)
    _write_around_uptake(uptake_home, ["foyer.consultation"])
    before = _log(uptake_home)

    stranger = cli("audit", "attester", "--dpo", "quelqu-un", "--password-stdin", "--oui", stdin=PASSWORD)
    wrong = cli("audit", "attester", "--dpo", "dpo1", "--password-stdin", "--oui", stdin="pas-le-bon")

    assert stranger.code == 2 and "« quelqu-un » n'est pas un compte DPO actif" in _said(stranger)
    assert wrong.code == 2 and "Mot de passe incorrect pour le compte « dpo1 »" in _said(wrong)
    assert _log(uptake_home) == before


def test_a_log_with_nothing_unattested_has_nothing_to_attest(cli, uptake_home: Path) -> None:
    _dpo_account(cli)
    before = _log(uptake_home)

    nothing = cli("audit", "attester", "--dpo", "dpo1", "--oui")

    assert nothing.code == 0 and "Rien à attester" in _said(nothing)
    assert _log(uptake_home) == before
