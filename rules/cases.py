"""Running the test cases written in the rule files (`cas`): one small frame per rule and month."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from rules.catalogue import Catalogue, Rule
from rules.compiler import compile_catalogue
from rules.geography import Geography
from rules.parameters import Parameters

AMOUNT_TOLERANCE = 0.01


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one case: what was expected, what the rule gave, and the differences."""

    rule_id: str
    name: str
    passed: bool
    differences: tuple[str, ...]
    calcul: str = ""


def case_month(case: Mapping[str, object]) -> datetime.date:
    """The reference month of a case (`mois: 2024-06` or a date)."""
    raw = case.get("mois")
    if isinstance(raw, datetime.date):
        return raw.replace(day=1)
    year, month = str(raw).split("-")[:2]
    return datetime.date(int(year), int(month), 1)


def run_cases(
    catalogue: Catalogue,
    parameters: Parameters,
    geography: Geography,
    defaults: Mapping[str, object],
    dtypes: Mapping[str, pl.DataType],
) -> list[CaseResult]:
    """Run every case of every rule; `defaults` fill the columns a case does not give."""
    results: list[CaseResult] = []
    for rule in catalogue.rules:
        for index, case in enumerate(rule.cases):
            results.append(
                run_case(
                    catalogue.select([rule.id]), rule, index, case, parameters, geography, defaults, dtypes
                )
            )
    return results


def run_case(
    catalogue: Catalogue,
    rule: Rule,
    index: int,
    case: Mapping[str, object],
    parameters: Parameters,
    geography: Geography,
    defaults: Mapping[str, object],
    dtypes: Mapping[str, pl.DataType],
) -> CaseResult:
    """Run one case of `rule` and compare with its `attendu`."""
    name = str(case.get("nom", f"cas {index + 1}"))
    household = dict(case.get("foyer") or {})  # type: ignore[call-overload]
    row: dict[str, object] = {"id_foyer": f"cas_{rule.id}_{index:04d}"}
    missing = []
    for column in sorted(catalogue.columns_read - {"id_foyer"}):
        if column in household:
            row[column] = household[column]
        elif defaults.get(column) is not None:
            row[column] = defaults[column]
        else:
            missing.append(column)
    unknown = sorted(set(household) - set(catalogue.columns_read))
    if missing or unknown:
        problems = [f"colonne `{c}` sans valeur : précisez-la dans `foyer`" for c in missing]
        problems += [f"colonne `{c}` non lue par la règle" for c in unknown]
        return CaseResult(rule.id, name, False, tuple(problems))
    frame = pl.DataFrame([row], schema={c: dtypes[c] for c in row})
    compiled = compile_catalogue(catalogue, parameters, case_month(case), geography)
    flags = compiled.flags(frame.lazy()).collect()
    expected = dict(case.get("attendu") or {})  # type: ignore[call-overload]
    differences = _compare(expected, flags)
    return CaseResult(rule.id, name, not differences, tuple(differences), str(case.get("calcul", "")))


def _compare(expected: Mapping[str, object], flags: pl.DataFrame) -> list[str]:
    flagged = flags.height > 0
    differences = []
    if bool(expected.get("signale", False)) != flagged:
        differences.append(f"signalé : attendu {_yes(bool(expected.get('signale')))}, obtenu {_yes(flagged)}")
        return differences
    if not flagged:
        return differences
    if "montant" in expected:
        got = flags["montant_estime"][0]
        want = expected["montant"]
        if want is None or got is None:
            if want != got:
                differences.append(f"montant : attendu {want}, obtenu {got}")
        else:
            gap = float(got) - float(str(want))
            if abs(gap) > AMOUNT_TOLERANCE:
                differences.append(f"montant : attendu {want}, obtenu {got} (écart {gap:+.2f})")
    for key, column in (
        ("priorite", "priorite"),
        ("explication", "explication"),
        ("conditions", "conditions_remplies"),
    ):
        if key in expected and str(expected[key]) != str(flags[column][0]):
            differences.append(
                f"{key} :\n      attendu : {expected[key]}\n      obtenu  : {flags[column][0]}"
            )
    return differences


def _yes(value: bool) -> str:
    return "oui" if value else "non"
