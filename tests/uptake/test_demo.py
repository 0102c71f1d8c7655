"""`uptake demo` runs the whole main job in a folder of its own and says where everything is."""

from __future__ import annotations

import datetime as dt
import re
import shutil
import sqlite3
from pathlib import Path

import polars as pl

from tests.conftest import CONFIG_DIR, run_cli


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
    assert "chaîne et signatures : intact" in " ".join(result.stdout.split())
    # Precision and recall of the rules are written the French way (`100,0 %`), never `100.0%`.
    assert re.search(r"\b\d{1,3},\d\u202f%", result.stdout) and not re.search(r"\d\.\d%", result.stdout)
    # Only the encrypted vault keeps the names: no clear contact directory is left behind.
    assert not list(folder.rglob("contacts*.csv"))
    # The demo never touches the data folder of the environment.
    assert not (tmp_path / "x").exists()
    # Its simulated month dates the outcomes, not the audit log: each entry bears the moment it was
    # written, in the order of the chain, none after the end of the demonstration.
    with sqlite3.connect(folder / ".uptake" / "uptake.sqlite3") as db:
        stamps = [at for (at,) in db.execute("SELECT at FROM privacy_audit ORDER BY seq")]
    assert len(stamps) > 50 and stamps == sorted(stamps)
    assert dt.datetime.fromisoformat(stamps[-1]) <= dt.datetime.now(dt.UTC)


REUNION_TERRITORY = """\
[territoire]
nom = "Communauté d'agglomération Intercommunale du Nord de la Réunion (CINOR)"
epci = "249740119"

[[points_service]]
nom = "Maison France Services"
commune = "97411"

[eloignement]
part_communes = 0.3

[[perimetres]]
nom = "OPAH Saint-Denis"
type = "OPAH"
communes = ["97411"]

[[perimetres]]
nom = "PIG CINOR"
type = "PIG"
communes = ["97418", "97420"]
"""


def test_the_demo_runs_for_an_overseas_caf_in_its_own_time_zone(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    (config / "territoire.toml").write_text(REUNION_TERRITORY, encoding="utf-8")
    env = {
        "UPTAKE_HOME": str(tmp_path / "x"),
        "UPTAKE_CONFIG": str(config),
        "UPTAKE_FUSEAU": "Indian/Reunion",
    }

    result = run_cli("demo", "--out", str(tmp_path / "demo"), "--foyers", "600", env=env)

    assert result.code == 0, result.output
    assert "(CINOR) (3 communes)" in " ".join(result.stdout.split())
    [sms] = (tmp_path / "demo").glob("*/listes/action-2-2-non-recours/*-t1-sms-*.csv")
    sent = pl.read_csv(sms, separator=";", schema_overrides={"telephone": pl.String})
    assert sent["telephone"].str.starts_with("+262").all()  # La Réunion's numbers, kept as such
    planned = sent["envoi_prevu_le"]
    # Sent within the campaign's hours in La Réunion (UTC+4), its default time zone.
    assert planned.len() > 0 and planned.str.ends_with("+04:00").all()
    hours = planned.str.slice(11, 2).cast(pl.Int32)
    assert hours.is_between(9, 17).all()
    flags = pl.read_parquet(next((tmp_path / "demo").glob("*/.uptake/runs/*/flags.parquet")))
    assert flags["code_commune"].str.starts_with("974").all()
    # No housing benefit estimated on the metropolitan scale; RSA and prime d'activité are.
    assert "al_non_recours" not in flags["regle"].to_list()
    assert {"rsa_non_recours", "ppa_non_recours"} <= set(flags["regle"].to_list())
    said = " ".join(result.stdout.split())
    assert "al_non_recours ne signale pas les foyers de 3 commune(s) du territoire (La Réunion)" in said
    assert "hors du champ de al_non_recours (voir ci-dessus), non comptés" in said
