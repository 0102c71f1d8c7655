"""Files uptake writes are readable by the service's own account only, whatever the shell's umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def lax_umask() -> Iterator[None]:
    """The shell of an operator who never set one: files readable by everyone (0644)."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def _others_may_read(path: Path) -> bool:
    return bool(path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO))


@pytest.mark.usefixtures("lax_umask")
def test_flags_and_access_reports_are_private_files(cli, uptake_home: Path, tmp_path: Path) -> None:
    extract = tmp_path / "extrait.parquet"
    assert cli("synth", "--households", "300", "--out", str(extract)).code == 0
    assert cli("run", "--extract", str(extract)).code == 0
    report = tmp_path / "acces.txt"
    assert cli("subjects", "access", "-", "--out", str(report), stdin="1234567\n").code in (0, 1)

    [flags] = (uptake_home / "runs").glob("*/flags.parquet")
    for path in (extract, flags, flags.parent, report):
        assert not _others_may_read(path), oct(path.stat().st_mode)
