"""`uptake outcomes import`: run again, it records nothing twice; a file holding an outcome twice is
refused; an amount is told for what is wrong with it."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from outreach.channels import WORKLIST_HEADERS
from outreach.errors import OutcomeImportInvalid, OutreachError
from outreach.launch import launch_campaign
from outreach.models import Assignment, Outcome
from outreach.outcome_import import import_outcome_file
from outreach.outcomes import record_outcome
from privacy.canonical import caf_day
from tests.outreach.conftest import NOW
from tests.outreach.factories import campaign_22, campaign_71, flag, flags_frame, pseudonym

TYPED_AT = NOW + dt.timedelta(days=3)


def _launched(make_world, n: int = 3):
    world = make_world()
    flags = flags_frame([flag(i) for i in range(1, n + 1)])
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    launch_campaign(world.env, campaign_22(), run_id, out_dir=world.out_dir, now=NOW)
    return world


def _import(world, path: Path):
    with Session(world.engine) as session, session.begin():
        return import_outcome_file(session, path, actor="import-cli", now=TYPED_AT)


def _outcomes(world) -> list[tuple[str, str, float | None]]:
    with Session(world.engine) as session:
        rows = session.execute(
            select(Outcome.id_foyer, Outcome.resultat, Outcome.montant).order_by(Outcome.id)
        )
        return [tuple(row) for row in rows]


def test_an_import_run_three_times_records_each_outcome_once_and_counts_the_others(
    make_world, tmp_path: Path
) -> None:
    world = _launched(make_world)
    path = tmp_path / "resultats.csv"
    path.write_text(
        f"id_foyer;resultat;date;montant\n{pseudonym(1)};droit_ouvert;2026-03-12;182,50\n", encoding="utf-8"
    )

    first, second, third = (_import(world, path) for _ in range(3))

    assert (first.recorded, first.already_recorded) == (1, 0)
    assert (second.recorded, second.already_recorded) == (third.recorded, third.already_recorded) == (0, 1)
    assert _outcomes(world) == [(pseudonym(1), "droit_ouvert", 182.5)]


@pytest.mark.parametrize(
    ("zone", "entered"),
    [
        # 00:30 in Paris on 12 March is still 11 March in UTC: the day is the Caf's.
        ("Europe/Paris", dt.datetime(2026, 3, 11, 23, 30, tzinfo=dt.UTC)),
        # 22:30 in Cayenne on 12 March is already 13 March in UTC.
        ("America/Cayenne", dt.datetime(2026, 3, 13, 1, 30, tzinfo=dt.UTC)),
    ],
)
def test_an_outcome_entered_on_the_web_the_same_day_is_not_recorded_again_by_an_import(
    make_world, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, zone: str, entered: dt.datetime
) -> None:
    monkeypatch.setenv("UPTAKE_FUSEAU", zone)
    world = _launched(make_world)
    with Session(world.engine) as session, session.begin():
        record_outcome(
            session, id_foyer=pseudonym(2), resultat="refus", acteur="ts1", survenu_le=entered, now=NOW
        )
    path = tmp_path / "resultats.csv"
    path.write_text(
        "id_foyer;resultat;date;commentaire\n"
        f"{pseudonym(2)};refus;12/03/2026;saisi aussi au tableur\n{pseudonym(3)};joint;2026-03-12;\n",
        encoding="utf-8",
    )

    done = _import(world, path)

    assert (done.recorded, done.already_recorded) == (1, 1)
    with Session(world.engine) as session:
        typed = session.scalars(select(Outcome.survenu_le).where(Outcome.id_foyer == pseudonym(3))).one()
    assert caf_day(typed) == dt.date(2026, 3, 12)  # not the evening of the 11th (midnight UTC)


def test_another_amount_day_or_result_is_another_outcome(make_world, tmp_path: Path) -> None:
    world = _launched(make_world)
    first = tmp_path / "premier.csv"
    first.write_text(
        f"id_foyer;resultat;date;montant\n{pseudonym(1)};droit_ouvert;2026-03-12;182,50\n", encoding="utf-8"
    )
    _import(world, first)
    later = tmp_path / "second.csv"
    later.write_text(
        "id_foyer;resultat;date;montant\n"
        f"{pseudonym(1)};droit_ouvert;2026-03-12;190\n"
        f"{pseudonym(1)};droit_ouvert;2026-03-13;182,50\n"
        f"{pseudonym(1)};joint;2026-03-12;\n",
        encoding="utf-8",
    )

    done = _import(world, later)

    assert (done.recorded, done.already_recorded) == (3, 0)


def test_an_outcome_typed_by_reference_and_by_pseudonym_is_the_same_outcome(
    make_world, tmp_path: Path
) -> None:
    world = _launched(make_world)
    with Session(world.engine) as session:
        launch_id, rank = session.execute(
            select(Assignment.launch_id, Assignment.rang).where(
                Assignment.id_foyer == pseudonym(3), Assignment.rang.is_not(None)
            )
        ).one()
    path = tmp_path / "resultats.csv"
    path.write_text(
        "id_foyer;reference;resultat;date\n"
        f"{pseudonym(3)};;joint;2026-03-12\n"
        f";Q-{launch_id}-{rank};joint;2026-03-12T16:00\n",
        encoding="utf-8",
    )

    with pytest.raises(OutcomeImportInvalid) as refused:
        _import(world, path)

    assert "ligne 3, colonne `resultat` : même résultat qu'à la ligne 2" in str(refused.value)


def test_a_file_holding_the_same_outcome_twice_is_refused_naming_both_lines(
    make_world, tmp_path: Path
) -> None:
    world = _launched(make_world)
    path = tmp_path / "resultats.csv"
    path.write_text(
        "id_foyer;resultat;date;montant;acteur\n"
        f"{pseudonym(1)};droit_ouvert;2026-03-12;182,50;ts1\n"
        f"{pseudonym(2)};joint;2026-03-12;;ts1\n"
        f"{pseudonym(1)};droit_ouvert;2026-03-12;182.5;ts2\n",
        encoding="utf-8",
    )

    with pytest.raises(OutcomeImportInvalid) as refused:
        _import(world, path)

    said = str(refused.value)
    assert "ligne 4, colonne `resultat` : même résultat qu'à la ligne 2" in said
    assert "rien n'a été importé" in said
    assert _outcomes(world) == []


def test_a_negative_amount_is_told_negative_with_its_line(make_world, tmp_path: Path) -> None:
    world = _launched(make_world)
    path = tmp_path / "resultats.csv"
    path.write_text(
        f"id_foyer;resultat;date;montant\n{pseudonym(1)};droit_ouvert;2026-03-12;-182,50\n"
        f"{pseudonym(2)};droit_ouvert;2026-03-12;cent euros\n",
        encoding="utf-8",
    )

    with pytest.raises(OutcomeImportInvalid) as refused:
        _import(world, path)

    said = str(refused.value)
    assert "ligne 2, colonne `montant` : le montant est négatif" in said
    assert "ligne 3, colonne `montant` : montant illisible" in said


def test_a_note_holding_a_phone_number_is_refused_with_its_line_and_never_quoted(
    make_world, tmp_path: Path
) -> None:
    world = _launched(make_world)
    path = tmp_path / "resultats.csv"
    path.write_text(
        f"id_foyer;resultat;date;commentaire\n{pseudonym(1)};joint;2026-03-12;Dossier en cours\n"
        f"{pseudonym(2)};joint;2026-03-12;Rappeler au 06 12 34 56 78\n",
        encoding="utf-8",
    )

    with pytest.raises(OutcomeImportInvalid) as refused:
        _import(world, path)

    said = str(refused.value)
    assert "ligne 3, colonne `commentaire` : la note contient un numéro de téléphone" in said
    assert "ligne 2" not in said and "06 12" not in said
    assert _outcomes(world) == []


def test_a_call_list_filled_in_goes_back_as_is_with_its_french_headers(make_world, tmp_path: Path) -> None:
    world = make_world()
    flags = flags_frame([flag(i, "logement_non_decent") for i in range(1, 5)])
    world.store_contacts(flags["id_foyer"].to_list())
    launch_campaign(world.env, campaign_71(), world.store_run(flags), out_dir=world.out_dir, now=NOW)
    written = next(world.out_dir.glob("*-appel-*.csv"))
    sheet = pl.read_csv(written, separator=";", infer_schema=False)
    # Two households called, two not yet; saved from the spreadsheet with its French headers.
    sheet = sheet.with_columns(
        resultat=pl.Series(["injoignable", "droit_ouvert", "", ""]),
        date=pl.Series(["12/03/2026", "13/03/2026", "", ""]),
        montant=pl.Series(["", "150", "", ""]),
    ).rename(WORKLIST_HEADERS, strict=False)
    filled = tmp_path / "liste-remplie.csv"
    sheet.write_csv(filled, separator=";")

    report = _import(world, filled)

    assert report.recorded == 2
    called = sheet.get_column("Référence foyer").to_list()[:2]
    assert sorted(_outcomes(world)) == sorted(
        [(called[0], "injoignable", None), (called[1], "droit_ouvert", 150.0)]
    )


def test_the_call_list_workbook_filled_in_goes_back_as_is_dates_and_amounts_typed_as_cells(
    make_world, tmp_path: Path
) -> None:
    import openpyxl

    world = make_world()
    flags = flags_frame([flag(i, "logement_non_decent") for i in range(1, 5)])
    world.store_contacts(flags["id_foyer"].to_list())
    launch_campaign(world.env, campaign_71(), world.store_run(flags), out_dir=world.out_dir, now=NOW)
    workbook = openpyxl.load_workbook(next(world.out_dir.glob("*-appel-*.xlsx")))
    sheet = workbook.active
    assert sheet is not None
    header = [cell.value for cell in sheet[1]]
    column = {name: header.index(WORKLIST_HEADERS[name]) + 1 for name in ("resultat", "date", "montant")}
    # As a spreadsheet keeps them: the day a date cell, the amount a number with a decimal part.
    sheet.cell(2, column["resultat"], "injoignable")
    sheet.cell(2, column["date"], dt.datetime(2026, 3, 12))
    sheet.cell(3, column["resultat"], "droit_ouvert")
    sheet.cell(3, column["date"], dt.datetime(2026, 3, 13))
    sheet.cell(3, column["montant"], 150.5)
    filled = tmp_path / "liste-remplie.xlsx"
    workbook.save(filled)
    called = [sheet.cell(row, header.index("Référence foyer") + 1).value for row in (2, 3)]

    report = _import(world, filled)

    assert report.recorded == 2
    assert sorted(_outcomes(world)) == sorted(
        [(called[0], "injoignable", None), (called[1], "droit_ouvert", 150.5)]
    )
    with Session(world.engine) as session:
        days = session.scalars(select(Outcome.survenu_le).order_by(Outcome.id)).all()
    assert sorted(caf_day(day) for day in days) == [dt.date(2026, 3, 12), dt.date(2026, 3, 13)]


def test_a_bad_cell_of_the_workbook_is_told_by_the_row_the_spreadsheet_shows(
    make_world, tmp_path: Path
) -> None:
    import openpyxl

    world = _launched(make_world)
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(["id_foyer", "resultat", "date"])
    sheet.append([pseudonym(1), "injoignable", dt.datetime(2026, 3, 12)])
    sheet.append([pseudonym(2), "ouvert", dt.datetime(2026, 3, 12)])
    path = tmp_path / "resultats.xlsx"
    workbook.save(path)
    with pytest.raises(OutcomeImportInvalid) as refused:
        _import(world, path)
    assert "ligne 3, colonne `resultat`" in str(refused.value)

    sheet.append([pseudonym(3), "injoignable", dt.datetime(2026, 3, 12), "à rappeler"])  # no header
    workbook.save(path)
    with pytest.raises(OutcomeImportInvalid) as refused:
        _import(world, path)
    assert "ligne 4, colonne `(colonne sans nom n° 4)` : valeur sous une colonne sans nom" in str(
        refused.value
    )
    assert _outcomes(world) == []


def _rotate(world, turns: int) -> dict[str, str]:
    """What `uptake keys rotate` leaves in the database, `turns` times over: assignments under new
    pseudonyms and, for each rotation, the aliases old → new. The pseudonyms before the first one →
    after the last."""
    from privacy.models import PseudonymAlias

    with Session(world.engine) as session, session.begin():
        first = set(session.scalars(select(Assignment.id_foyer)))
        now = {p: p for p in first}
        for turn in range(1, turns + 1):
            renamed = {p: pseudonym(9000 + turn * 100 + i) for i, p in enumerate(sorted(now.values()))}
            for old, new in renamed.items():
                session.execute(update(Assignment).where(Assignment.id_foyer == old).values(id_foyer=new))
                session.add(PseudonymAlias(old_pseudonym=old, new_pseudonym=new, rotated_at=f"tour {turn}"))
            now = {given: renamed[p] for given, p in now.items()}
    return now


@pytest.mark.parametrize("turns", [1, 2])
def test_a_file_typed_before_key_rotations_finds_its_households_under_their_new_pseudonyms(
    make_world, tmp_path: Path, turns: int
) -> None:
    world = _launched(make_world)
    path = tmp_path / "resultats.csv"
    path.write_text(
        f"id_foyer;resultat;date\n{pseudonym(1)};injoignable;2026-03-12\n{pseudonym(2)};refus;2026-03-12\n",
        encoding="utf-8",
    )
    now = _rotate(world, turns)

    report = _import(world, path)

    assert report.recorded == 2
    assert sorted(_outcomes(world)) == sorted(
        [(now[pseudonym(1)], "injoignable", None), (now[pseudonym(2)], "refus", None)]
    )
    # Run again under the new pseudonyms: the same outcomes, not recorded twice.
    again = tmp_path / "resultats-nouveaux.csv"
    again.write_text(
        f"id_foyer;resultat;date\n{now[pseudonym(1)]};injoignable;2026-03-12\n", encoding="utf-8"
    )
    assert _import(world, again).already_recorded == 1


def test_the_columns_of_a_call_list_are_refused_in_an_ordinary_outcome_file(
    make_world, tmp_path: Path
) -> None:
    world = _launched(make_world)
    path = tmp_path / "resultats.csv"
    path.write_text(
        f"id_foyer;resultat;date;telephone\n{pseudonym(1)};injoignable;2026-03-12;0612345678\n",
        encoding="utf-8",
    )
    with pytest.raises(OutcomeImportInvalid) as refused:
        _import(world, path)
    assert "telephone" in str(refused.value) and "0612345678" not in str(refused.value)
    assert _outcomes(world) == []


@pytest.mark.parametrize(
    ("first_bytes", "said"),
    [
        (b"PK\x03\x04\x14\x00", "c'est un classeur LibreOffice (.ods) ou une archive, pas un classeur Excel"),
        (b"PAR1\x15\x04", "c'est un fichier Parquet, pas un fichier CSV"),
    ],
)
def test_a_spreadsheet_or_parquet_file_given_for_the_csv_is_named_for_what_it_is(
    make_world, tmp_path: Path, first_bytes: bytes, said: str
) -> None:
    world = _launched(make_world)
    path = tmp_path / "resultats.csv"
    path.write_bytes(first_bytes + bytes(range(256)))
    with pytest.raises(OutreachError) as refused:
        _import(world, path)
    assert said in str(refused.value) and "CSV UTF-8" in str(refused.value) and ".xlsx" in str(refused.value)


SECOND_LAUNCH = NOW + dt.timedelta(weeks=20)


def _import_after_both(world, path: Path):
    with Session(world.engine) as session, session.begin():
        return import_outcome_file(
            session, path, actor="import-cli", now=SECOND_LAUNCH + dt.timedelta(days=2)
        )


def _two_launches_of_one_campaign(make_world):
    """Two launches of action 7.1 on two months' runs holding the same households, then a launch of
    action 2.2: the world, and each call list of 7.1 as written (CSV)."""
    world = make_world()
    flags = flags_frame([flag(i, "logement_non_decent") for i in range(1, 4)])
    world.store_contacts([*flags["id_foyer"].to_list(), pseudonym(9)])
    out_dirs = []
    # Twenty weeks apart: past the campaign's 120 days between two contacts for the same right.
    for month, launched_on in enumerate((NOW, SECOND_LAUNCH)):
        out_dirs.append(world.out_dir / f"mois-{month}")
        launch_campaign(
            world.env, campaign_71(), world.store_run(flags), out_dir=out_dirs[-1], now=launched_on
        )
    other = flags_frame([flag(9)])
    launch_campaign(world.env, campaign_22(), world.store_run(other), out_dir=world.out_dir, now=NOW)
    lists = [pl.read_csv(next(d.glob("*-appel-*.csv")), separator=";", infer_schema=False) for d in out_dirs]
    return world, lists


def _filled(sheet: pl.DataFrame, results: dict[str, str]) -> pl.DataFrame:
    """The call list with `results` (household → result) typed in, on the same day."""
    return sheet.with_columns(
        resultat=pl.col("id_foyer").replace_strict(results, default=""),
        date=pl.when(pl.col("id_foyer").is_in(list(results)))
        .then(pl.lit("29/07/2026"))
        .otherwise(pl.lit("")),
    )


def _line_of(path: Path, household: str) -> int:
    """The line of the CSV `path` where the household's record starts (call scripts span several)."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        while True:
            start = reader.line_num + 1
            if household in next(reader):
                return start


def _outcome_launches(world) -> list[tuple[int | None, str, str]]:
    with Session(world.engine) as session:
        rows = session.execute(select(Outcome.launch_id, Outcome.id_foyer, Outcome.resultat))
        return sorted(tuple(row) for row in rows)


def test_call_lists_of_two_launches_merged_by_hand_go_back_each_outcome_to_its_own_launch(
    make_world, tmp_path: Path
) -> None:
    world, (first, second) = _two_launches_of_one_campaign(make_world)
    assert first["lancement"].unique().to_list() == ["1"] and second["lancement"].unique().to_list() == ["2"]
    assert first["campagne"].unique().to_list() == [campaign_71().id]
    # The same household refused on the same day on both lists: one outcome for each launch.
    merged = pl.concat(
        [
            _filled(first, {pseudonym(1): "refus", pseudonym(2): "injoignable"}),
            _filled(second, {pseudonym(1): "refus"}),
        ]
    ).rename(WORKLIST_HEADERS, strict=False)
    path = tmp_path / "listes-fusionnees.csv"
    merged.write_csv(path, separator=";")

    report = _import_after_both(world, path)

    assert report.recorded == 3
    assert _outcome_launches(world) == [
        (1, pseudonym(1), "refus"),
        (1, pseudonym(2), "injoignable"),
        (2, pseudonym(1), "refus"),
    ]
    assert _import_after_both(world, path).already_recorded == 3


def test_a_call_list_written_before_the_launch_column_attaches_to_the_latest_launch_as_before(
    make_world, tmp_path: Path
) -> None:
    world, (first, second) = _two_launches_of_one_campaign(make_world)
    old = [sheet.drop("campagne", "lancement") for sheet in (first, second)]
    single, merged = tmp_path / "ancienne.csv", tmp_path / "anciennes-fusionnees.csv"
    _filled(old[0], {pseudonym(1): "refus"}).write_csv(single, separator=";")
    both = pl.concat([_filled(sheet, {pseudonym(2): "refus"}) for sheet in old])
    both.write_csv(merged, separator=";")

    assert _import_after_both(world, single).recorded == 1
    assert _outcome_launches(world) == [(2, pseudonym(1), "refus")]
    with pytest.raises(OutcomeImportInvalid) as refused:
        _import_after_both(world, merged)
    # Both lines go to the latest launch: the same outcome twice, as before the column.
    assert "1 problème(s)" in str(refused.value) and "même résultat qu'à la ligne" in str(refused.value)


@pytest.mark.parametrize(
    ("campaign", "launch", "household", "said"),
    [
        (
            None,
            "99",
            1,
            "aucun lancement n'a le n°99 (voir `uptake campaigns list`) : reprenez-le de la liste",
        ),
        (None, "douze", 1, "numéro de lancement illisible : écrivez le numéro seul (par exemple 12)"),
        (
            None,
            "3",
            1,
            "le lancement n°3 est un lancement de action-2-2-non-recours, pas de action-7-1-logement : la "
            "ligne a été recopiée d'une autre liste",
        ),
        (
            "action-2-2-non-recours",
            "3",
            1,
            "ce foyer n'est pas dans le lancement n°3 (action-2-2-non-recours) : la ligne a sans doute été "
            "recopiée sous un autre numéro ; reprenez-le de la liste d'appels d'où vient la ligne",
        ),
    ],
    ids=["unknown-launch", "unreadable-number", "launch-of-another-campaign", "household-not-in-launch"],
)
def test_a_line_naming_a_launch_it_cannot_be_attached_to_is_told_by_its_row_and_nothing_is_imported(
    make_world, tmp_path: Path, campaign: str | None, launch: str, household: int, said: str
) -> None:
    world, (first, _) = _two_launches_of_one_campaign(make_world)
    sheet = _filled(first, {pseudonym(1): "refus", pseudonym(2): "injoignable"})
    wrong = pl.col("id_foyer") == pseudonym(household)
    sheet = sheet.with_columns(
        lancement=pl.when(wrong).then(pl.lit(launch)).otherwise(pl.col("lancement")),
        campagne=pl.when(wrong).then(pl.lit(campaign or campaign_71().id)).otherwise(pl.col("campagne")),
    )
    path = tmp_path / "liste.csv"
    sheet.write_csv(path, separator=";")

    with pytest.raises(OutcomeImportInvalid) as refused:
        _import_after_both(world, path)

    told = " ".join(str(refused.value).split())
    assert (
        "1 problème(s)" in told
        and f"ligne {_line_of(path, pseudonym(household))}, colonne `lancement` : {said}" in told
    )
    assert _outcomes(world) == []


def test_an_outcome_file_may_name_the_launch_and_a_reference_of_another_launch_is_refused(
    make_world, tmp_path: Path
) -> None:
    world, _ = _two_launches_of_one_campaign(make_world)
    with Session(world.engine) as session:
        rank = session.scalar(
            select(Assignment.rang).where(Assignment.launch_id == 1, Assignment.id_foyer == pseudonym(1))
        )
    named, crossed = tmp_path / "resultats.csv", tmp_path / "croise.csv"
    named.write_text(
        f"id_foyer;resultat;date;lancement\n{pseudonym(1)};refus;29/07/2026;1\n", encoding="utf-8"
    )
    crossed.write_text(
        f"reference;resultat;date;lancement\nQ-1-{rank};joint;29/07/2026;n°2\n", encoding="utf-8"
    )

    assert _import_after_both(world, named).recorded == 1
    with pytest.raises(OutcomeImportInvalid) as refused:
        _import_after_both(world, crossed)

    assert _outcome_launches(world) == [(1, pseudonym(1), "refus")]
    assert "ligne 2, colonne `lancement` : la référence est celle du lancement n°1, pas du n°2" in " ".join(
        str(refused.value).split()
    )
