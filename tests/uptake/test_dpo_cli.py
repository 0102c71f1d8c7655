"""The DPO's commands: revoking an exchange and what it produced, verifying the log with the exported key."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
from pathlib import Path

import polars as pl
from sqlalchemy import select

from privacy import exchanges, retention
from privacy.keys import open_keyring, public_key_pem
from privacy.models import AuditEntry
from uptake.db import make_engine, transaction


def _approved_exchange(cli) -> None:
    assert cli("register", "load").code == 0
    expiry = (dt.date.today() + dt.timedelta(days=60)).isoformat()
    requested = cli(
        "exchanges", "request", "--destinataire", "Prestataire SMS", "--finalite", "Prime d'activité",
        "--registre", "CTG-FORCALQUIER-DROITS", "--champs", "nom,telephone",
        "--base-legale", "L.114-8 II CRPA", "--conservation-jours", "90", "--expire-le", expiry,
    )  # fmt: skip
    assert requested.code == 0, requested.output
    assert cli("exchanges", "approve", "1", "--dpo", "DPO", "--avis", "Favorable").code == 0


def _write_a_list(home: Path, out: Path) -> None:
    engine = make_engine(f"sqlite:///{home / 'uptake.sqlite3'}")
    keyring = open_keyring(home / "keys", home / "master.key", environ={})
    with transaction(engine) as session:
        grant = exchanges.authorise(session, keyring, 1, ["nom"], now=dt.datetime.now(dt.UTC))
        frame = pl.DataFrame({"id_foyer": ["f" * 64], "nom": ["Fictif"]})
        retention.write_personal_output(session, keyring, grant, out, frame, actor="equipe", label="sms")
    engine.dispose()


def test_a_revoked_exchange_is_shown_listed_and_its_outputs_purged_on_request(
    cli, uptake_home: Path, tmp_path: Path
) -> None:
    _approved_exchange(cli)
    out = tmp_path / "sms.csv"
    _write_a_list(uptake_home, out)
    refused = cli("exchanges", "purge-outputs", "1")
    assert refused.code != 0 and "est encore valide" in refused.output and out.exists()

    revoked = cli("exchanges", "revoke", "1", "--dpo", "DPO", "--motif", "Prestataire changé")
    assert revoked.code == 0, revoked.output
    assert "Échange n°1 révoqué" in revoked.stdout
    assert "1 sortie(s) déjà produite(s) sous cet échange restent conservées" in revoked.stdout
    assert "uptake exchanges purge-outputs 1" in revoked.stdout
    shown = cli("exchanges", "show", "1").stdout
    assert "Échange n°1 — révoquée" in shown and "Motif de la révocation : Prestataire changé" in shown
    moment = r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d"  # on the Caf's clock
    assert re.search(f"Demandé le : {moment}", shown) and re.search(
        f"Révoquée par le DPO .* le {moment}", shown
    )
    assert "UTC" not in shown
    assert "révoquée" in cli("exchanges", "list", "--statut", "revoquee").stdout
    unknown = cli("exchanges", "list", "--statut", "annulee")
    assert unknown.code == 2 and "statut « annulee » inconnu" in unknown.output

    purged = cli("exchanges", "purge-outputs", "1")
    assert purged.code == 0, purged.output
    assert "1 sortie(s) de l'échange n°1 purgée(s) (2 fichier(s) supprimé(s))" in purged.stdout
    assert not out.exists()
    again = cli("exchanges", "revoke", "1", "--dpo", "DPO", "--motif", "encore")
    assert again.code != 0 and "Seul un échange approuvé se révoque" in again.output


def test_revoking_with_purge_destroys_the_outputs_at_once(cli, uptake_home: Path, tmp_path: Path) -> None:
    _approved_exchange(cli)
    out = tmp_path / "sms.csv"
    _write_a_list(uptake_home, out)
    revoked = cli("exchanges", "revoke", "1", "--dpo", "DPO", "--motif", "Fuite", "--purger-sorties")
    assert revoked.code == 0, revoked.output
    assert "1 sortie(s) produite(s) sous cet échange purgée(s)" in revoked.stdout
    assert not out.exists()


def test_a_public_key_file_that_is_not_one_is_told_with_how_to_export_it(cli, tmp_path: Path) -> None:
    not_a_key = tmp_path / "dpo.pem"
    not_a_key.write_text("ceci n'est pas une clé\n", encoding="utf-8")
    verified = cli("audit", "verify", "--cle-publique", str(not_a_key))
    assert verified.code == 2
    assert "Exportez la clé du DPO avec `uptake keys show --exporter-cle-publique dpo.pem`." in " ".join(
        verified.stderr.split()
    )


def test_a_key_that_did_not_sign_the_log_is_told_apart_from_tampering(cli, tmp_path: Path) -> None:
    _approved_exchange(cli)  # writes to the log, whose end the commands sign
    other = open_keyring(tmp_path / "autres-cles", tmp_path / "autre.key", environ={})
    pem = tmp_path / "autre.pem"
    pem.write_bytes(public_key_pem(other.public_key()))

    verified = cli("audit", "verify", "--cle-publique", str(pem))

    assert verified.code == 4, verified.output
    assert "Clé différente" in verified.stdout and "Journal altéré" not in verified.stdout
    assert cli("audit", "verify").code == 0


def test_a_landmark_noted_at_one_verification_finds_a_tail_cut_at_the_next(cli, uptake_home: Path) -> None:
    from tests.web.conftest import cut_audit_tail

    _approved_exchange(cli)
    first = cli("audit", "verify")
    assert first.code == 0
    [noted] = re.findall(r"\(--repere\) : (\d+:[0-9a-f]+)", " ".join(first.stdout.split()))
    assert cli("audit", "verify", "--repere", noted).code == 0  # nothing cut yet
    seq = int(noted.split(":")[0])
    engine = make_engine(f"sqlite:///{uptake_home / 'uptake.sqlite3'}")
    cut_audit_tail(engine, seq - 1)  # someone with write access cuts the tail, checkpoints too
    engine.dispose()
    cut = cli("audit", "verify", "--repere", noted)
    assert cut.code == 1
    said = " ".join(cut.stdout.split())
    assert f"Journal altéré : l'entrée n°{seq} du repère noté manque" in said
    malformed = cli("audit", "verify", "--repere", "abc")
    assert malformed.code == 2 and "repère « abc » illisible" in " ".join(malformed.output.split())


def test_a_copy_of_the_data_folder_purges_its_own_outputs_and_leaves_the_originals(
    cli, uptake_home: Path, tmp_path: Path
) -> None:
    # A backup restored elsewhere to check it: its database names the original's files.
    _approved_exchange(cli)
    inside = uptake_home / "campagnes" / "c1" / "sms.csv"
    outside = tmp_path / "export" / "sms.csv"  # a folder given with --out
    _write_a_list(uptake_home, inside)
    _write_a_list(uptake_home, outside)
    originals = [inside, outside, *(uptake_home / "sorties-chiffrees").iterdir()]
    assert len(originals) == 4
    copy = tmp_path / "copie"
    shutil.copytree(uptake_home, copy)

    revoked = cli(
        "exchanges", "revoke", "1", "--dpo", "DPO", "--motif", "Essai de restauration", "--purger-sorties",
        env={"UPTAKE_HOME": str(copy)},
    )  # fmt: skip

    assert revoked.code == 0, revoked.output
    assert all(path.exists() for path in originals)
    assert not (copy / "campagnes" / "c1" / "sms.csv").exists()
    assert not list((copy / "sorties-chiffrees").iterdir())
    assert "1 fichier(s) laissé(s) en place, non supprimé(s)" in revoked.stdout
    assert f"  {outside}\n" in revoked.stdout and str(copy) in revoked.stdout
    engine = make_engine(f"sqlite:///{copy / 'uptake.sqlite3'}")
    with transaction(engine) as session:
        purges = session.scalars(select(AuditEntry).where(AuditEntry.action == "purge.sortie")).all()
    engine.dispose()
    left = [json.loads(entry.details or "{}").get("fichiers_laisses") for entry in purges]
    assert sorted(left, key=bool) == [None, [str(outside)]]

    in_place = cli("exchanges", "revoke", "1", "--dpo", "DPO", "--motif", "Fuite", "--purger-sorties")
    assert in_place.code == 0, in_place.output
    assert "laissé" not in in_place.stdout
    assert not any(path.exists() for path in originals)
