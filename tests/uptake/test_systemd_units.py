"""The example systemd units start real `uptake` commands with options those commands accept."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tests.conftest import CONFIG_DIR, run_cli

UNITS = sorted((CONFIG_DIR / "systemd").glob("*.service"))


@pytest.mark.parametrize("unit", UNITS, ids=[unit.name for unit in UNITS])
def test_the_unit_starts_an_uptake_command_with_valid_options(unit: Path, tmp_path: Path) -> None:
    lines = unit.read_text(encoding="utf-8").splitlines()
    (start,) = [line.removeprefix("ExecStart=") for line in lines if line.startswith("ExecStart=")]
    program, *args = shlex.split(start)
    assert program.endswith("/.venv/bin/uptake")
    # --help after the options: they are parsed (a misspelt one is refused), then nothing runs.
    checked = run_cli(*args, "--help", env={"UPTAKE_HOME": str(tmp_path)})
    assert checked.code == 0, checked.output
    assert any(line.startswith("Environment=UPTAKE_HOME=") for line in lines)


def test_both_the_daemon_and_the_web_application_have_a_unit() -> None:
    assert [unit.name for unit in UNITS] == ["uptake-scheduler.service", "uptake-web.service"]
