"""The outreach commands, run as the data team runs them (real subprocess, real exit codes)."""

from __future__ import annotations

import datetime as dt
import mailbox
import re
from pathlib import Path

from sqlalchemy.orm import Session

from outreach.simulation import delivery_report
from tests.conftest import CONFIG_DIR, log_end_signed
from tests.outreach.conftest import NOW, send_questionnaires, world_in_home
from tests.outreach.factories import automatic_reply, flag, flags_frame, launch_row
from uptake.db import make_engine, upgrade


def test_campaigns_check_reports_sms_encoding_and_segments(cli) -> None:
    assert cli("register", "load").code == 0  # the campaigns' register entry must be loaded
    result = cli("campaigns", "check")
    assert result.code == 0, result.output
    assert "action-2-2-non-recours" in result.stdout and "GSM-7" in result.stdout
    said = " ".join(result.stdout.split())
    assert "correct, avec le questionnaire `pre-diagnostic-logement` (8 questions)" in said


def test_campaigns_list_shows_the_sequences_and_launches_within_80_columns(cli, uptake_home: Path) -> None:
    engine = make_engine(f"sqlite:///{uptake_home / 'uptake.sqlite3'}")
    upgrade(engine)
    with Session(engine) as session, session.begin():
        session.add(
            launch_row(run_id=7, nb_signales=12345, nb_contactes=11000, nb_temoins=1234, nb_exclus=111)
        )
    engine.dispose()

    result = cli("campaigns", "list", env={"COLUMNS": "80"})

    assert result.code == 0, result.output
    lines = result.stdout.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    assert any(line.startswith("action-2-2-non-recours ") for line in lines)  # the name whole
    assert "SMS" in result.stdout and "10\u202f%" in result.stdout
    assert "03/03/26 00:15" in result.stdout  # Paris time
    assert "12\u202f345" in result.stdout and "11\u202f000" in result.stdout


def test_a_bad_campaign_file_is_a_french_error_without_traceback(cli, tmp_path: Path) -> None:
    config = tmp_path / "config"
    (config / "campaigns").mkdir(parents=True)
    (config / "templates").symlink_to(CONFIG_DIR / "templates")
    (config / "territoire.toml").symlink_to(CONFIG_DIR / "territoire.toml")
    (config / "campaigns" / "x.toml").write_text('[campagne]\ntitre = "x"\n', encoding="utf-8")
    result = cli("campaigns", "check", env={"UPTAKE_CONFIG": str(config)})
    assert result.code == 2
    assert "x.toml" in result.stderr and "clé" in result.stderr and "Traceback" not in result.output


def test_launch_on_an_unknown_run_exits_2_with_a_message(cli) -> None:
    result = cli("campaigns", "launch", "action-2-2-non-recours", "--run", "42")
    assert result.code == 2
    assert "exécution de détection `42` introuvable" in result.stderr


def test_outcomes_import_of_a_bad_file_lists_lines_and_exits_2(cli, tmp_path: Path) -> None:
    path = tmp_path / "resultats.csv"
    path.write_text("id_foyer;resultat;date\nfoyer-inconnu-00000001;appel;2026-01-01\n", encoding="utf-8")
    result = cli("outcomes", "import", str(path))
    assert result.code == 2
    assert "ligne 2" in result.stderr and "rien n'a été importé" in result.stderr


def test_report_on_an_empty_database_still_writes_the_page(cli, tmp_path: Path) -> None:
    result = cli("report", "--out", str(tmp_path / "rapport"))
    assert result.code == 0, result.output
    assert (tmp_path / "rapport" / "indicateurs.html").is_file()
    listed = result.stdout.split("Tableaux CSV, dans le même dossier :")[1]
    csv_files = sorted(p.name for p in (tmp_path / "rapport").glob("*.csv"))
    assert csv_files and all(name in listed for name in csv_files)


def test_audit_show_tells_operations_whole_and_counts_in_words_within_80_columns(cli, tmp_path: Path) -> None:
    assert cli("report", "--out", str(tmp_path / "rapport")).code == 0  # one audited operation
    shown = cli("audit", "show", env={"COLUMNS": "80"})
    assert shown.code == 0, shown.output
    assert max(len(line.rstrip()) for line in shown.stdout.splitlines()) <= 80
    assert "rapport.indicateurs" in shown.stdout and "{" not in shown.stdout
    # On the Caf's clock, to the second (the signed UTC stamps are for `uptake audit verify`): the
    # day above the time in 80 columns, on one line in a wide terminal.
    assert re.search(r"\d\d/\d\d/\d{4} .*\n.* \d\d:\d\d:\d\d ", shown.stdout) and "UTC" not in shown.stdout
    wide = cli("audit", "show", env={"COLUMNS": "160"}).stdout
    assert re.search(r"\d\d/\d\d/\d{4} \d\d:\d\d:\d\d", wide)


def test_launch_then_followup_then_report_from_the_command_line(
    cli, uptake_home: Path, tmp_path: Path
) -> None:
    world = world_in_home(uptake_home, tmp_path, now=dt.datetime.now(dt.UTC))
    flags = flags_frame([flag(i) for i in range(1, 4)])
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    world.engine.dispose()

    launched = cli(
        "campaigns", "launch", "action-2-2-non-recours", "--run", str(run_id), "--acteur", "equipe"
    )
    assert launched.code == 0, launched.output
    assert "Lancement n°1" in launched.stdout and "Tentative 1 (SMS)" in launched.stdout
    assert list((uptake_home / "campagnes" / "action-2-2-non-recours").glob("*-t1-sms-*.csv"))
    stop = tmp_path / "stop.csv"
    stop.write_text("telephone\n+33612000001\n+33799999999\n", encoding="utf-8")
    stopped = cli("outcomes", "stop", str(stop))
    assert stopped.code == 0, stopped.output
    said = " ".join(stopped.stdout.split())
    assert "2 réponse(s) STOP : 1 foyer(s) opposé(s)" in said and "1 numéro(s) inconnu(s)" in said
    assert "contient des numéros de téléphone : supprimez-le une fois traité" in said  # as the register says
    assert "612000001" not in stopped.output and "799999999" not in stopped.output
    assert log_end_signed(world.engine)  # the objections recorded cannot be cut off the log unnoticed
    bounced_file = tmp_path / "echecs.csv"
    bounced_file.write_text("email\nfoyer0@example.org\n", encoding="utf-8")
    bounced = cli("outcomes", "bounces", str(bounced_file))
    assert bounced.code == 0, bounced.output
    said = " ".join(bounced.stdout.split())
    # No e-mail has been sent yet: the address is unknown among the households e-mailed.
    assert "1 adresse(s) en échec : 0 foyer(s)" in said and "1 adresse(s) inconnue(s)" in said
    assert "contient des adresses électroniques : supprimez les avis et listes une fois traités" in said
    assert "foyer0" not in bounced.output
    reports = tmp_path / "retours.mbox"
    box = mailbox.mbox(reports, create=True)
    box.add(
        delivery_report(
            [("foyer0@example.org", "failed", "5.1.1"), ("foyer2@example.org", "delayed", "4.4.1")]
        )
    )
    box.add(automatic_reply())
    box.flush()
    read = cli("outcomes", "bounces", str(reports))
    assert read.code == 0, read.output
    said = " ".join(read.stdout.split())
    assert "1 avis de non-distribution lu(s) ; 1 échec(s) temporaire(s) non retenu(s)" in said
    assert "1 message(s) de la boîte ne sont pas des avis de non-distribution" in said
    assert "foyer0@" not in read.output and "foyer2@" not in read.output
    followup = cli("campaigns", "followup", "action-2-2-non-recours", "--launch", "1")
    assert followup.code == 0 and "Aucune relance" in followup.stdout
    report = cli("report")
    assert report.code == 0 and (uptake_home / "rapport" / "indicateurs.html").is_file()


def test_audit_show_keeps_one_operation_and_refuses_an_unknown_code(cli, tmp_path: Path) -> None:
    assert cli("report", "--out", str(tmp_path / "rapport")).code == 0
    assert cli("register", "load").code == 0
    only = cli("audit", "show", "--operation", "registre.chargement")
    assert only.code == 0, only.output
    assert "Chargement du registre des traitements" in only.stdout
    assert "registre.chargement" in only.stdout and "rapport.indicateurs" not in only.stdout
    unknown = cli("audit", "show", "--operation", "registre.chargment")
    assert unknown.code == 2
    assert "vouliez-vous dire registre.chargement" in " ".join(unknown.stderr.split())


def test_returned_questionnaires_import_from_the_command_line_names_those_to_call_back(
    cli, uptake_home: Path, tmp_path: Path
) -> None:
    world = world_in_home(uptake_home, tmp_path, now=NOW)
    _, references = send_questionnaires(world, 2)
    world.engine.dispose()
    first, second = (references[p] for p in sorted(references))
    path = tmp_path / "retours.csv"
    path.write_text(
        # Every question has its column, answered or left empty.
        "reference;date;anciennete;humidite;chauffage;electricite;infiltrations;paiement;proprietaire;"
        "travailleur_social\n"
        f"{first};2026-03-28;7;oui;;;;;;oui\n{second};2026-03-30;;non;;;;;;non\n",
        encoding="utf-8",
    )

    result = cli("outcomes", "questionnaires", str(path), "--acteur", "secretariat")

    assert result.code == 0, result.output
    assert "2 questionnaire(s) importé(s)" in result.stdout and "(5 réponse(s))" in result.stdout
    said = " ".join(result.stdout.split())
    assert "1 foyer(s) demandent à être contactés par un travailleur social :" in said
    assert f"remis sur la liste d'appels de leur campagne : {first}" in said
    again = cli("outcomes", "questionnaires", str(path))
    assert again.code == 2 and "ce questionnaire est déjà enregistré" in again.stderr


def test_sending_an_unknown_launch_says_so_before_asking_for_the_relay(cli) -> None:
    result = cli("campaigns", "send", "action-2-2-non-recours", "--launch", "999")
    assert result.code != 0
    assert "lancement n°999 introuvable" in " ".join(result.output.split())


def test_reconciling_with_a_folder_for_the_extract_says_it_is_a_folder(cli, tmp_path: Path) -> None:
    result = cli("campaigns", "reconcile", "--extract", str(tmp_path))
    assert result.code != 0
    assert f"{tmp_path} est un dossier" in " ".join(result.output.split())


def _config_with(tmp_path: Path, old: str, new: str) -> Path:
    """A copy of the shipped configuration whose campaign action-2-2 has `old` replaced by `new`."""
    import shutil

    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    campaign = config / "campaigns" / "action-2-2-non-recours.toml"
    campaign.write_text(campaign.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    return config


def test_a_campaign_that_check_rejects_is_not_launched(cli, uptake_home: Path, tmp_path: Path) -> None:
    config = _config_with(tmp_path, '"ppa_non_recours"', '"ppa_non_recourss"')  # a typo in a rule
    env = {"UPTAKE_CONFIG": str(config)}
    assert cli("campaigns", "check", "action-2-2-non-recours", env=env).code == 2
    for command in (("launch", "--run", "1"), ("followup", "--launch", "1")):
        refused = cli("campaigns", command[0], "action-2-2-non-recours", *command[1:], env=env)
        said = " ".join(refused.output.split())
        assert refused.code == 2, refused.output
        assert "non lancée" in said and "règle « ppa_non_recourss » absente du catalogue" in said
    assert not (uptake_home / "campagnes").exists()  # no list written
