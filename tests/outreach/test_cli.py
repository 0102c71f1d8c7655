"""The outreach commands, run as the data team runs them (real subprocess, real exit codes)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import CONFIG_DIR


def test_campaigns_check_reports_sms_encoding_and_segments(cli) -> None:
    result = cli("campaigns", "check")
    assert result.code == 0, result.output
    assert "action-2-2-non-recours" in result.stdout and "GSM-7" in result.stdout


def test_campaigns_list_shows_the_sequences(cli) -> None:
    result = cli("campaigns", "list")
    assert result.code == 0, result.output
    assert "action-7-1-logement" in result.stdout and "SMS" in result.stdout


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
