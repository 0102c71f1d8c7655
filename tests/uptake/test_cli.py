"""The `uptake` command loads a command's module only when that command runs."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer._click.core import Context

import uptake.commands
from uptake.cli import COMMANDS, commands_of


def test_the_command_table_names_exactly_what_each_command_module_registers() -> None:
    modules = {
        path.stem
        for path in Path(uptake.commands.__file__).parent.glob("*.py")
        if "def register(" in path.read_text(encoding="utf-8")
    }
    assert {entry.module for entry in COMMANDS.values()} == modules
    for module in modules:
        listed = {name for name, entry in COMMANDS.items() if entry.module == module}
        assert set(commands_of(module)) == listed, module


def test_the_help_summary_of_each_command_is_the_first_paragraph_of_its_own_help() -> None:
    differing = {}
    for name, entry in COMMANDS.items():
        command = commands_of(entry.module)[name]
        own = inspect.cleandoc(command.short_help or command.help or "").split("\n\n")[0]
        if " ".join(own.split()) != entry.summary:
            differing[name] = (own, entry.summary)
    assert differing == {}


def test_the_general_help_loads_no_command() -> None:
    probe = (
        "import sys\n"
        "from uptake.cli import app\n"
        "try:\n"
        "    app(['--help'], prog_name='uptake')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('uptake.commands.') or m == 'polars'),"
        " file=sys.stderr)\n"
    )
    env = {**os.environ, "COLUMNS": "200"}
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False
    )
    assert result.stderr.strip().splitlines()[-1] == "[]"
    assert "Historique des exécutions de la détection." in result.stdout


def test_a_command_imports_neither_the_other_commands_nor_the_domains_it_does_not_use(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from uptake.cli import app\n"
        "try:\n"
        "    app(['users', 'list'], prog_name='uptake')\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = [m for m in ('uptake.commands.users', 'uptake.commands.run', 'outreach.launch')"
        " if m in sys.modules]\n"
        "print(','.join(loaded), file=sys.stderr)\n"
    )
    env = {**os.environ, "UPTAKE_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False
    )
    assert result.stderr.strip().splitlines()[-1] == "uptake.commands.users"


HEAVY = ("polars", "lark", "detection.runs", "outreach.launch", "xhtml2pdf", "openpyxl", "holidays")


@pytest.mark.parametrize(
    ("command", "needed"),
    [
        (["audit", "verify"], set()),
        (["schedule", "list"], {"polars"}),
        (["users", "list"], {"polars"}),  # reads the schedules, for the delay of the unused-account sweep
        (["exchanges", "list"], {"polars"}),
        (["campaigns", "list"], {"polars"}),
    ],
)
def test_a_command_loads_only_the_heavy_libraries_its_own_work_needs(
    command: list[str], needed: set[str], tmp_path: Path
) -> None:
    # Each `uptake` call pays for what it imports (3 to 4 s on a slow machine when every command
    # loaded the rule language, the outreach machinery and the PDF library).
    probe = (
        "import sys\n"
        "from uptake.cli import app\n"
        "try:\n"
        f"    app({command!r}, prog_name='uptake')\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print('chargés:' + ','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)\n"
    )
    env = {**os.environ, "UPTAKE_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=False
    )
    loaded = result.stderr.strip().splitlines()[-1].removeprefix("chargés:")
    assert set(filter(None, loaded.split(","))) == needed, result.stderr


def test_the_help_lists_every_command_in_the_table_order(tmp_path: Path) -> None:
    env = {**os.environ, "UPTAKE_HOME": str(tmp_path), "COLUMNS": "200", "NO_COLOR": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "uptake", "--help"], env=env, capture_output=True, text=True, check=True
    )
    listed = [
        line.split()[1] for line in result.stdout.splitlines() if line.startswith("│ ") and line[2] != " "
    ]
    commands = [name for name in listed if name in COMMANDS]
    assert commands == list(COMMANDS)


def _leaf_commands(command: Any, context: Context) -> Iterator[tuple[Any, Context]]:
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        yield command, context
        return
    for name, sub in subcommands.items():
        yield from _leaf_commands(sub, Context(sub, parent=context, info_name=name))


def test_every_option_of_every_command_names_its_value_kind_in_french() -> None:
    english = {"<text>", "<integer>", "<path>", "<int>", "<str>", "<float>", "<bool>"}
    shown = set()
    for module in {entry.module for entry in COMMANDS.values()}:
        for name, command in commands_of(module).items():
            for leaf, context in _leaf_commands(command, Context(command, info_name=name)):
                shown |= {
                    p.display_type_rich(context) for p in leaf.params if hasattr(p, "display_type_rich")
                }
    kinds = {kind for kind in shown if kind is not None}
    assert {"<chemin>", "<entier>", "<texte>"} <= kinds
    assert not {kind for kind in kinds if kind in english or "list[" in kind or "Path" in kind}


def test_every_argument_of_every_command_is_named_in_french_capitals() -> None:
    named = {}
    for module in {entry.module for entry in COMMANDS.values()}:
        for name, command in commands_of(module).items():
            for leaf, context in _leaf_commands(command, Context(command, info_name=name)):
                for param in leaf.params:
                    if param.param_type_name == "argument":
                        named[f"{context.command_path} {param.name}"] = param.metavar
    assert named  # uptake validate FICHIER, uptake runs show ID…
    assert {path: shown for path, shown in named.items() if not (shown and shown.isupper())} == {}


@pytest.mark.parametrize(
    "command",
    [
        ("runs", "show", "99999999999999999999"),
        ("exchanges", "show", "99999999999999999999"),
        ("exchanges", "purge-outputs", "99999999999999999999"),
        ("campaigns", "launch", "action-2-2-non-recours", "--run", "99999999999999999999"),
        ("campaigns", "followup", "action-2-2-non-recours", "--launch", "99999999999999999999"),
        ("audit", "show", "--dernieres", "99999999999999999999"),
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_a_number_no_record_can_have_is_refused_in_words(cli: Any, command: tuple[str, ...]) -> None:
    result = cli(*command)
    assert result.code == 2
    assert "Erreur interne" not in result.output and "inférieur ou égal à" in " ".join(result.output.split())


def test_a_file_given_where_a_folder_is_expected_says_a_folder_is_expected(cli: Any, tmp_path: Path) -> None:
    extract = tmp_path / "extrait.parquet"
    extract.write_bytes(b"un extrait")
    result = cli("report", "--out", str(extract))
    assert result.code != 0 and "Traceback" not in result.output
    assert "donnez le chemin d'un dossier" in " ".join(result.output.split())
    assert extract.read_bytes() == b"un extrait"
