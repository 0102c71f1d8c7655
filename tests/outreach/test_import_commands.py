"""`uptake outcomes …` as the data team runs it: what each import did is told, a file with nothing to
import is refused like any other bad file."""

from __future__ import annotations

from pathlib import Path

from outreach.launch import launch_campaign
from tests.outreach.conftest import NOW, world_in_home
from tests.outreach.factories import campaign_22, flag, flags_frame, pseudonym


def _launched(uptake_home: Path, tmp_path: Path) -> None:
    world = world_in_home(uptake_home, tmp_path)
    flags = flags_frame([flag(i) for i in range(1, 3)])
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    launch_campaign(world.env, campaign_22(), run_id, out_dir=world.out_dir, now=NOW)
    world.engine.dispose()


def test_outcomes_import_run_again_says_how_many_were_recorded_and_how_many_were_there(
    cli, uptake_home: Path, tmp_path: Path
) -> None:
    _launched(uptake_home, tmp_path)
    path = tmp_path / "resultats.csv"
    path.write_text(
        f"id_foyer;resultat;date;montant\n{pseudonym(1)};droit_ouvert;2026-03-12;182,50\n", encoding="utf-8"
    )

    first, again = cli("outcomes", "import", str(path)), cli("outcomes", "import", str(path))

    assert first.code == again.code == 0, first.output + again.output
    assert "1 résultat(s) importé(s)" in first.stdout and "0 déjà enregistré(s)" in first.stdout
    said = " ".join(again.stdout.split())
    assert "0 résultat(s) importé(s)" in said and "1 déjà enregistré(s) à l'identique" in said


def test_a_file_with_a_header_only_is_refused_by_every_import(cli, uptake_home: Path, tmp_path: Path) -> None:
    _launched(uptake_home, tmp_path)
    headers = {
        "import": "id_foyer;resultat;date\n;;\n",
        "questionnaires": "reference;date\n",
        "stop": "telephone;date\n",
        "bounces": "email\n",
    }
    for command, header in headers.items():
        path = tmp_path / f"{command}.csv"
        path.write_text(header, encoding="utf-8")

        result = cli("outcomes", command, str(path))

        assert result.code == 2, (command, result.output)
        assert "ne contient aucune ligne sous son en-tête" in " ".join(result.stderr.split()), command


def test_an_empty_file_is_told_empty(cli, tmp_path: Path) -> None:
    path = tmp_path / "resultats.csv"
    path.write_text("", encoding="utf-8")

    result = cli("outcomes", "import", str(path))

    assert result.code == 2
    assert "le fichier est vide" in result.stderr and "colonne obligatoire" not in result.stderr


def test_a_folder_given_as_the_file_is_told_like_a_missing_file(cli, tmp_path: Path) -> None:
    folder, missing = (
        cli("outcomes", "import", str(tmp_path)),
        cli("outcomes", "import", str(tmp_path / "x.csv")),
    )

    assert folder.code == missing.code == 2
    assert "c'est un dossier, pas un fichier" in folder.stderr and "Traceback" not in folder.output
