"""Typer's own help screens and usage errors are French, through the real `uptake` command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from uptake.cli_wording import french_message, french_value_kind, unwrapped_paragraphs


def _uptake(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "UPTAKE_HOME": str(tmp_path), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "uptake", *args], env=env, capture_output=True, text=True, check=False
    )


@pytest.mark.parametrize(
    ("args", "french"),
    [
        (("demo", "--foyers", "abc"), "Valeur invalide pour '--foyers' : un nombre entier est attendu."),
        (("demo", "--inconnue"), "Option inconnue : --inconnue."),
        (("demox",), "Commande inconnue : 'demox'. Vouliez-vous dire 'demo' ?"),
        (("run",), "Option obligatoire manquante : '--extract' / '-e'."),
        (("run", "-e"), "L'option '-e' attend une valeur."),
        (("runs", "show", "abc"), "Valeur invalide pour 'ID' : un nombre entier est attendu."),
        (("runs", "list", "-n", "0"), "un nombre supérieur ou égal à 1 est attendu."),
        (("validate", "a.parquet", "b.parquet"), "Argument(s) en trop : b.parquet."),
        (("audit", "verify", "--cle-publique", "absente.pem"), "'absente.pem' n'existe pas."),
        (
            ("synth", "--scope", "mars", "-o", "x.parquet"),
            "Valeur invalide pour '--scope' : 'mars' n'est pas une valeur permise (valeurs : 'territoire', "
            "'national').",
        ),
    ],
)
def test_usage_errors_are_reported_in_french_with_the_usage_line(
    tmp_path: Path, args: tuple[str, ...], french: str
) -> None:
    result = _uptake(tmp_path, *args)
    assert result.returncode == 2
    assert french in result.stderr
    assert "Usage" not in result.stderr and "Missing" not in result.stderr and "Invalid" not in result.stderr


def test_help_screens_have_a_french_usage_line_and_help_option(tmp_path: Path) -> None:
    result = _uptake(tmp_path, "run", "--help")
    assert result.returncode == 0
    assert "Utilisation : uptake run" in result.stdout
    assert "Afficher cette aide et quitter." in result.stdout
    assert "Show this message" not in result.stdout and "Usage:" not in result.stdout


def test_a_help_paragraph_written_on_several_lines_is_one_paragraph_on_screen(tmp_path: Path) -> None:
    result = _uptake(tmp_path, "outcomes", "import", "--help")
    [first] = [line for line in result.stdout.splitlines() if "Colonnes :" in line]
    # The docstring's line ends after « Q-12-345), »: at 200 columns the screen line goes on.
    assert "par exemple Q-12-345), resultat, date (obligatoires)" in first


def test_paragraphs_marked_as_preformatted_keep_their_lines() -> None:
    assert unwrapped_paragraphs(["un\ndeux", "\btrois\nquatre"]) == "un deux\n\n\btrois\nquatre"


def test_help_screens_name_value_kinds_in_french_and_none_for_flags(tmp_path: Path) -> None:
    result = _uptake(tmp_path, "run", "--help")
    assert "<chemin>" in result.stdout and "<texte…>" in result.stdout
    assert "<path>" not in result.stdout and "<bool>" not in result.stdout
    assert "<entier>" in _uptake(tmp_path, "runs", "show", "--help").stdout
    verify = _uptake(tmp_path, "audit", "verify", "--help").stdout  # an existing file is asked for
    assert "<fichier>" in verify and "<file>" not in verify


def test_value_kinds_not_known_are_kept() -> None:
    assert french_value_kind("<territoire|national>") == "<territoire|national>"
    assert french_value_kind("<bool>", flag=True) is None


def test_a_message_of_an_unknown_shape_is_kept_rather_than_lost() -> None:
    assert french_message("Something new from a future Typer.") == "Something new from a future Typer."


def test_an_unknown_reason_keeps_its_text_inside_the_french_sentence() -> None:
    assert french_message("Invalid value for '--x': too exotic") == "Valeur invalide pour '--x' : too exotic"


def test_every_subcommand_is_summed_up_in_one_line_in_its_group_listing() -> None:
    """A group's listing (`uptake exchanges --help`) shows each command's first help paragraph with
    its line breaks: it must be written on one line (the top level lists `COMMANDS`' summaries)."""
    from uptake.cli import COMMANDS, commands_of

    split = []
    stack: list[tuple[str, Any]] = [
        (f"{name} {sub_name}", sub)
        for name, entry in COMMANDS.items()
        for sub_name, sub in getattr(commands_of(entry.module)[name], "commands", {}).items()
    ]
    assert len(stack) > 20
    while stack:
        path, command = stack.pop()
        summary = (command.short_help or command.help or "").strip().split("\n\n")[0]
        if "\n" in summary:
            split.append(path)
        stack += [(f"{path} {name}", sub) for name, sub in getattr(command, "commands", {}).items()]
    assert sorted(split) == []
