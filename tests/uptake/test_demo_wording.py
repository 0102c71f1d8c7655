"""The demo's own lines read as French text: wrapped between words, dated in the Caf's time."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rich.console import Console

from uptake.commands import demo


def test_a_wrapped_line_never_starts_with_the_punctuation_a_space_precedes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    out = io.StringIO()
    monkeypatch.setattr(demo, "console", Console(file=out, width=60))
    for shift in range(12):
        demo._say(
            "x" * shift + " 21 avis de non-distribution du relais de messagerie : 15 adresses en échec "
            "définitif ne sont plus utilisées ; 6 échecs temporaires non retenus."
        )
    lines = out.getvalue().splitlines()
    assert all(len(line) <= 60 for line in lines)
    assert all(line.startswith("   ") for line in lines)  # wrapped lines stay under their step
    assert not [line for line in lines if line.strip()[:1] in {";", ":", "!", "?", "»"}]


def test_the_demo_folder_is_named_after_the_caf_local_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Fourteen hours ahead of UTC: the name tells the zone apart from the machine's clock.
    monkeypatch.setenv("UPTAKE_FUSEAU", "Pacific/Kiritimati")
    before = dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).replace(microsecond=0, tzinfo=None)
    folder = demo._new_folder(tmp_path)
    after = dt.datetime.now(ZoneInfo("Pacific/Kiritimati")).replace(tzinfo=None)
    named = dt.datetime.strptime(folder.name, "%Y%m%d-%H%M%S")
    assert before <= named <= after
