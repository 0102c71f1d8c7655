"""Copies of the shipped rule catalogue, for tests that change a rule and watch what uptake does."""

from __future__ import annotations

import shutil
from pathlib import Path

from rules.catalogue import default_catalogue_dir

RULE = "impaye_locatif"
# One of RULE's cases turned wrong: a debt of 950 € for two rents of 450 € expected not flagged.
RIGHT_CASE, WRONG_CASE = "dette_locative: 899.99", "dette_locative: 950.0"


def catalogue_copy(folder: Path) -> Path:
    """The shipped catalogue copied into `folder` (created), which is returned."""
    shutil.copytree(default_catalogue_dir(), folder)
    return folder


def edit_file(path: Path, old: str, new: str) -> None:
    """Replace the first `old` of the file by `new`; `old` must be there, or the test proves nothing."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} absent de {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def edit_rule(folder: Path, old: str, new: str, rule: str = RULE) -> None:
    """`edit_file` on one rule of a catalogue copy."""
    edit_file(folder / f"{rule}.yaml", old, new)
