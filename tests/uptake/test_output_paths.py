"""A command that writes where its user says never overwrites a file, nor writes into a folder, unasked."""

from __future__ import annotations

from pathlib import Path

import pytest

COMMANDS = [
    ("keys", "show", "--exporter-cle-publique"),
    ("register", "export", "--out"),
    ("subjects", "access", "1234567", "--out"),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_an_existing_file_is_kept_unless_replace_is_asked(
    cli, tmp_path: Path, command: tuple[str, ...]
) -> None:
    assert cli("register", "load").code == 0
    target = tmp_path / "a-garder.html"
    target.write_text("à garder", encoding="utf-8")
    refused = cli(*command, str(target))
    assert refused.code == 2
    assert "existe déjà" in " ".join(refused.output.split()) and "--remplacer" in refused.output
    assert target.read_text(encoding="utf-8") == "à garder"
    replaced = cli(*command, str(target), "--remplacer")
    assert replaced.code == 0, replaced.output
    assert target.read_text(encoding="utf-8") != "à garder"


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_folder_or_a_missing_folder_is_refused_with_the_fix(
    cli, tmp_path: Path, command: tuple[str, ...]
) -> None:
    (tmp_path / "dossier.html").mkdir()
    folder = cli(*command, str(tmp_path / "dossier.html"))
    assert folder.code == 2 and "est un dossier" in " ".join(folder.output.split())
    missing = cli(*command, str(tmp_path / "absent" / "sortie.html"))
    assert missing.code == 2 and "n'existe pas : créez-le" in " ".join(missing.output.split())


def test_the_register_is_exported_only_as_html_or_csv(cli, tmp_path: Path) -> None:
    refused = cli("register", "export", "--out", str(tmp_path / "registre.pdf"))
    assert refused.code == 2 and "donnez un fichier .html ou .csv" in " ".join(refused.output.split())
    assert not (tmp_path / "registre.pdf").exists()
