"""A run's details stay readable at national scale: the communes with most flags, the rest summed."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import replace
from pathlib import Path

from rich.console import Console

from detection.records import FAILED, SUCCEEDED, RunRecord
from detection.reference import load_reference
from rules.areas import LeftOut
from uptake.commands.runs import print_run


def _record(communes: int) -> RunRecord:
    codes = load_reference().frame["code_commune"].head(communes).to_list()
    return RunRecord(
        id=7,
        status=SUCCEEDED,
        trigger="cli",
        extract_name="national.parquet",
        extract_sha256="cd" * 32,
        mois_reference=dt.date(2025, 6, 1),
        rule_versions={"ppa_non_recours": "1.2.0"},
        parameters_fingerprint="f" * 16,
        forced=False,
        households_total=10_000,
        households_in_territory=10_000,
        households_out_of_territory=0,
        flags_count=sum(range(1, communes + 1)),
        counts_by_rule={"ppa_non_recours": sum(range(1, communes + 1))},
        counts_by_commune={code: rank + 1 for rank, code in enumerate(codes)},
        timings={},
        flags_path=None,
        error_summary=None,
        started_at=dt.datetime(2025, 7, 5, 6, 0, tzinfo=dt.UTC),
        finished_at=dt.datetime(2025, 7, 5, 6, 1, tzinfo=dt.UTC),
    )


def _shown(record: RunRecord, **kwargs: int) -> str:
    out = io.StringIO()
    print_run(record, Path("/srv/uptake"), Console(file=out, width=200), **kwargs)
    return out.getvalue()


def test_the_communes_with_most_flags_are_listed_and_the_others_summed() -> None:
    record = _record(40)
    text = _shown(record, communes_shown=30)
    busiest, quietest = (
        max(record.counts_by_commune, key=record.counts_by_commune.__getitem__),
        min(record.counts_by_commune, key=record.counts_by_commune.__getitem__),
    )
    assert busiest in text and quietest not in text
    assert "… et 10 autres communes (55 drapeaux)" in text  # flags 1 to 10
    assert "uptake runs show 7 --communes 0" in text


def test_all_communes_on_request() -> None:
    record = _record(40)
    text = _shown(record, communes_shown=0)
    assert all(code in text for code in record.counts_by_commune) and "autres communes" not in text


def test_the_runs_list_of_national_runs_fits_an_80_column_terminal_without_cutting_a_value() -> None:
    from dataclasses import replace

    from uptake import french
    from uptake.commands.runs import runs_table

    national = replace(
        _record(3),
        extract_name="extrait-national-2025-06.parquet",
        households_total=14_000_000,
        flags_count=5_052_894,
        finished_at=dt.datetime(2025, 7, 5, 6, 4, 6, tzinfo=dt.UTC),
    )
    out = io.StringIO()
    Console(file=out, width=80).print(runs_table([national]))
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 80
    text = out.getvalue()
    for value in ("14\u202f000\u202f000", "5\u202f052\u202f894", french.duration(246.0), "05/07/25 08:00"):
        assert value in text  # whole, on one line


def test_a_failed_run_shows_no_flags_file_nor_counts_it_never_published() -> None:
    record = replace(
        _record(0), status=FAILED, flags_path="/srv/uptake/runs/7/flags.parquet", counts_by_rule={}
    )
    text = _shown(record)
    assert "/srv/uptake/runs/7/flags.parquet" not in text
    assert "aucun (statut : échoué ; rien n'a été publié)" in text
    assert "Règles demandées (aucun drapeau publié)" in text and "Drapeaux par règle" not in text


def test_a_rule_that_did_not_flag_part_of_the_territory_is_pointed_out() -> None:
    left_out = LeftOut("al_non_recours", ("métropole",), 3, ("La Réunion",))
    text = " ".join(_shown(replace(_record(3), left_out=(left_out,))).split())

    assert (
        "Attention : al_non_recours ne signale pas les foyers de 3 commune(s) du territoire (La Réunion) : "
        "hors de son champ (« uptake rules explain al_non_recours »)." in text
    )
    assert "Attention" not in _shown(_record(3))


def test_a_kept_parameters_name_and_date_are_printed_whole_and_its_long_source_wraps() -> None:
    name = "foyer.majoration_isolement_par_enfant"
    record = replace(
        _record(3),
        parameters_used={
            name: {
                "valeur": 0.428,
                "depuis": "2009-06-01",
                "source": "Code de l'action sociale et des familles, art. L262-9 et R262-1 (montant majoré "
                "pour isolement)",
            }
        },
    )
    out = io.StringIO()
    print_run(record, Path("/srv/uptake"), Console(file=out, width=110))
    text = out.getvalue()
    assert name in text and "01/06/2009" in text
    assert "pour isolement" in " ".join(text.split())
