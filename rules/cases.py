"""Running the test cases written in the rule files (`cas`): one small frame per rule and month."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl

from rules.catalogue import Catalogue, Rule, case_month
from rules.compiler import CompiledCatalogue, _walk, compile_catalogue
from rules.errors import RulesError
from rules.french import french_euros
from rules.functions import FUNCTIONS
from rules.geography import Geography
from rules.language import Call, Name, Node
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
    where: str = ""  # `file:line` of the case
    # Written for another territory: the case's household lives outside the configured one, or the
    # conditions it failed read the configured territory's geography (remoteness, distances…).
    elsewhere: bool = False


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
        selected = catalogue.select([rule.id])
        compile_for = _compiled_by_month(selected, parameters, geography)
        for index, case in enumerate(rule.cases):
            results.append(
                run_case(selected, rule, index, case, parameters, geography, defaults, dtypes, compile_for)
            )
    return results


def _compiled_by_month(
    catalogue: Catalogue, parameters: Parameters, geography: Geography
) -> Callable[[dt.date], CompiledCatalogue]:
    """`catalogue` compiled for a month, once per month: a rule's cases mostly share one, and compiling
    is half the time of a case."""
    compiled: dict[dt.date, CompiledCatalogue] = {}

    def compile_for(month: dt.date) -> CompiledCatalogue:
        if month not in compiled:
            compiled[month] = compile_catalogue(catalogue, parameters, month, geography)
        return compiled[month]

    return compile_for


def run_case(
    catalogue: Catalogue,
    rule: Rule,
    index: int,
    case: Mapping[str, object],
    parameters: Parameters,
    geography: Geography,
    defaults: Mapping[str, object],
    dtypes: Mapping[str, pl.DataType],
    compile_for: Callable[[dt.date], CompiledCatalogue] | None = None,
) -> CaseResult:
    """Run one case of `rule` and compare with its `attendu`; a malformed case is a failed case.

    `compile_for` gives `catalogue` compiled for a month (by default, compiled for this case)."""
    name = str(case.get("nom", f"cas {index + 1}"))
    where = f"{rule.path}:{getattr(case, 'line', 1)}"
    household = case.get("foyer") or {}
    expected = case.get("attendu")
    month = case_month(case)
    problems = []
    if month is None:
        problems.append(f"mois invalide `{case.get('mois')}` : écrivez AAAA-MM")
    if not isinstance(expected, Mapping) or "signale" not in expected:
        problems.append("`attendu` doit dire au moins `signale: true` ou `signale: false`")
    if not isinstance(household, Mapping):
        problems.append("`foyer` doit être une table colonne → valeur")
        household = {}
    row: dict[str, object] = {"id_foyer": f"cas_{rule.id}_{index:04d}"}
    for column in sorted(catalogue.columns_read - {"id_foyer"}):
        if column in household:
            row[column] = household[column]
        elif defaults.get(column) is not None:
            row[column] = defaults[column]
        else:
            problems.append(f"colonne `{column}` sans valeur : précisez-la dans `foyer` (null permis)")
    problems += [
        f"colonne `{c}` non lue par la règle" for c in sorted(set(household) - catalogue.columns_read)
    ]
    if problems or month is None or not isinstance(expected, Mapping):
        return CaseResult(rule.id, name, False, tuple(problems), where=where)
    frame, wrong = _frame(row, dtypes)
    if frame is None:
        return CaseResult(rule.id, name, False, tuple(wrong), where=where)
    try:
        compiled = (
            compile_for(month)
            if compile_for is not None
            else compile_catalogue(catalogue, parameters, month, geography)
        )
        flags = compiled.flags(frame.lazy()).collect()
        # Which conditions held tells why the verdict is not the one expected: evaluated only then
        # (half the time of a case that passes).
        missed = (expected.get("signale") is True) != (flags.height > 0)
        conditions = compiled.condition_values(frame.lazy(), rule.id).collect() if missed else pl.DataFrame()
    except RulesError as exc:
        return CaseResult(rule.id, name, False, (str(exc),), where=where)
    except pl.exceptions.PolarsError as exc:
        # The values are of the contract's types (checked above): the rule's computation failed.
        message = f"erreur de calcul de la règle sur ce foyer : {exc}"
        return CaseResult(rule.id, name, False, (message,), where=where)
    differences = _compare(expected, flags, conditions)
    outside = bool(differences) and _outside(frame, geography)
    if outside:
        differences.append(
            f"la commune du cas ({household.get('code_commune')}) n'est pas dans le territoire configuré : "
            "ce cas a été écrit pour un autre territoire ; adaptez-le dans une copie du catalogue désignée "
            "par UPTAKE_REGLES"
        )
    territorial = bool(differences) and not outside and flags.height == 0 and expected.get("signale") is True
    territorial = territorial and _territorial(catalogue, rule, conditions)
    if territorial:
        differences.append(
            "les conditions non remplies dépendent de la géographie du territoire configuré (éloignement, "
            "distances aux services, périmètres) : ce cas a sans doute été écrit pour un autre territoire ; "
            "adaptez-le dans une copie du catalogue désignée par UPTAKE_REGLES"
        )
    elsewhere = outside or territorial
    return CaseResult(
        rule.id, name, not differences, tuple(differences), str(case.get("calcul", "")), where, elsewhere
    )


def _outside(frame: pl.DataFrame, geography: Geography) -> bool:
    """Whether the case's household (one row) names a commune outside the configured territory."""
    if "code_commune" not in frame.columns or frame["code_commune"].is_null().all():
        return False
    return not bool(frame.select(geography.in_territory_expr()).item())


def _territorial(catalogue: Catalogue, rule: Rule, conditions: pl.DataFrame) -> bool:
    """Whether the rule's conditions that were false for the case's household (one row) all read the
    configured territory's geography: then the case may have been written for another territory."""
    false = [int(c.split(" ", 1)[0]) for c in conditions.columns if conditions[c][0] is not True]
    if not false or any(index >= len(rule.conditions) for index in false):
        return False  # the amount's minimum or the rule's areas: not the territory's configuration
    formulas = {name: e.node for name, e in (*catalogue.shared.values, *rule.values)}
    return all(
        _reads_territory(alternative.expression.node, formulas)
        for index in false
        for alternative in (rule.conditions[index].alternatives or (rule.conditions[index],))
    )


def _reads_territory(node: Node, formulas: Mapping[str, Node]) -> bool:
    """Whether `node` calls a function of the territory's geography, directly or through the values
    and shared formulas it names."""
    pending, seen = [node], set()
    while pending:
        for part in _walk(pending.pop()):
            if isinstance(part, Call) and FUNCTIONS[part.function].reads_commune:
                return True
            name = part.parts[0] if isinstance(part, Name) and len(part.parts) == 1 else ""
            if name in formulas and name not in seen:
                seen.add(name)
                pending.append(formulas[name])
    return False


def _frame(
    row: Mapping[str, object], dtypes: Mapping[str, pl.DataType]
) -> tuple[pl.DataFrame | None, list[str]]:
    """The one-row frame of the case, or the columns whose value does not fit the contract type."""
    try:
        return pl.DataFrame([row], schema={c: dtypes[c] for c in row}), []
    except (TypeError, ValueError, pl.exceptions.PolarsError):
        pass
    wrong = []
    for column, value in row.items():
        try:
            pl.Series(column, [value], dtype=dtypes[column])
        except (TypeError, ValueError, pl.exceptions.PolarsError):
            wrong.append(f"`{column}: {value}` ne correspond pas au type de la colonne `{column}` du contrat")
    return None, wrong or ["valeurs de `foyer` incompatibles avec les types du contrat"]


def _compare(expected: Mapping[str, object], flags: pl.DataFrame, conditions: pl.DataFrame) -> list[str]:
    flagged = flags.height > 0
    differences = []
    wanted = expected.get("signale") is True  # `rules check` refuses anything but a YAML boolean
    if wanted != flagged:
        differences.append(f"signalé : attendu {_yes(wanted)}, obtenu {_yes(flagged)}")
        differences.extend(_why(conditions, flagged))
        return differences
    if not flagged:
        return differences
    if "montant" in expected:
        got = flags["montant_estime"][0]
        want = expected["montant"]
        if want is None or got is None:
            if want != got:
                differences.append(f"montant : attendu {_amount(want)}, obtenu {_amount(got)}")
        else:
            gap = float(got) - float(str(want))
            if abs(gap) > AMOUNT_TOLERANCE:
                differences.append(
                    f"montant : attendu {_amount(want)}, obtenu {_amount(got)} "
                    f"(écart {'+' if gap > 0 else '-'}{_amount(abs(gap))})"
                )
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


def _why(conditions: pl.DataFrame, flagged: bool) -> list[str]:
    """The conditions that were false (or empty) when the household was not flagged."""
    if flagged or conditions.height == 0:
        return ["toutes les conditions sont remplies"] if flagged else []
    lines = []
    for column in conditions.columns:
        value = conditions[column][0]
        if value is not True:
            label = column.split(" ", 1)[1]
            state = "valeur vide (donnée manquante ou calcul impossible)" if value is None else "fausse"
            lines.append(f"condition non remplie : {label} ({state})")
    return lines


def _amount(value: object) -> str:
    """An amount of a case in French (`201,56 €`), or what an empty one is written as (`null`)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{french_euros(value)} €"
    return "aucun (null)" if value is None else str(value)


def _yes(value: bool) -> str:
    return "oui" if value else "non"
