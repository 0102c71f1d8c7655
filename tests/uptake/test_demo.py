"""`uptake demo` runs the whole main job in a folder of its own and says where everything is."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from tests.conftest import run_cli


def test_demo_runs_end_to_end_and_names_its_output_folder(tmp_path: Path) -> None:
    result = run_cli(
        "demo",
        "--out",
        str(tmp_path),
        "--foyers",
        "800",
        env={"UPTAKE_HOME": str(tmp_path / "x"), "COLUMNS": "60"},  # paths longer than the terminal
    )
    assert result.code == 0, result.output
    assert "Traceback" not in result.output
    folder = next(p for p in tmp_path.iterdir() if p.is_dir() and re.fullmatch(r"\d{8}-\d{6}(-\d+)?", p.name))
    assert str(folder) in result.stdout.replace("\n", "")
    report = folder / "rapport" / "indicateurs.html"
    assert f"   rapport           {report}\n" in result.stdout  # whole on its line, to be copied
    assert report.is_file() and "Action 2.2" in report.read_text(encoding="utf-8")
    flags = pl.read_parquet(next((folder / ".uptake" / "runs").glob("*/flags.parquet")))
    assert {"ppa_non_recours", "rsa_non_recours", "al_non_recours"} <= set(flags["regle"].unique().to_list())
    assert list((folder / "listes").rglob("*")), "the campaigns produced no list"
    assert "chaîne et signatures : intact" in result.stdout
    # Precision and recall of the rules are written the French way (`100,0 %`), never `100.0%`.
    assert re.search(r"\b\d{1,3},\d\u202f%", result.stdout) and not re.search(r"\d\.\d%", result.stdout)
    # Only the encrypted vault keeps the names: no clear contact directory is left behind.
    assert not list(folder.rglob("contacts*.csv"))
    # The demo never touches the data folder of the environment.
    assert not (tmp_path / "x").exists()
