"""One French HTML page per rule (like Publicodes' rule pages) and an index, from jinja2 templates."""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from rules.areas import EVERYWHERE, areas_text
from rules.catalogue import Catalogue, case_month
from rules.compiler import compile_catalogue
from rules.french import french_decimal, french_euros
from rules.geography import Geography
from rules.language import unparse
from rules.parameters import Parameter, Parameters, Value, Version

TEMPLATES = Path(__file__).resolve().parent / "templates"
_NAME = re.compile(r'"[^"]*"|[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*')


def linked(formula: str, values: set[str], parameters: set[str]) -> Markup:
    """The formula as HTML, each value and parameter name a link to its row on the page."""
    parts: list[str] = []
    position = 0
    for match in _NAME.finditer(formula):
        parts.append(str(escape(formula[position : match.start()])))
        word = match.group(0)
        if word in values:
            parts.append(f'<a href="#valeur-{word}">{escape(word)}</a>')
        elif word in parameters:
            parts.append(f'<a href="#parametre-{word.replace(".", "-")}">{escape(word)}</a>')
        else:
            parts.append(str(escape(word)))
        position = match.end()
    parts.append(str(escape(formula[position:])))
    return Markup("".join(parts))  # noqa: S704 - every piece above is escaped


def with_code(text: str) -> Markup:
    """`text` as HTML, each name written between backquotes (`champ`) shown as code."""
    parts = re.split(r"`([^`]*)`", text)
    return Markup(  # noqa: S704 - every piece is escaped
        "".join(str(escape(p)) if i % 2 == 0 else f"<code>{escape(p)}</code>" for i, p in enumerate(parts))
    )


@dataclass(frozen=True)
class CaseRow:
    """One test case as its row on the page: name, month, what is expected, the worked computation."""

    name: str
    month: str
    expected: str
    calcul: str


def case_rows(cases: Sequence[Mapping[str, object]]) -> list[CaseRow]:
    """The rows of the cases in French: `06/2024`, `signalé, 440,90 €`."""
    rows = []
    for case in cases:
        expected = case.get("attendu")
        expected = expected if isinstance(expected, Mapping) else {}
        said = "signalé" if expected.get("signale") is True else "non signalé"
        amount = expected.get("montant")
        if said == "signalé" and isinstance(amount, int | float) and not isinstance(amount, bool):
            said += f", {french_euros(amount)} €"
        month = case_month(case)
        shown = f"{month:%m/%Y}" if month else str(case.get("mois", ""))
        rows.append(CaseRow(str(case.get("nom", "")), shown, said, str(case.get("calcul", ""))))
    return rows


def french_quantity(number: float, unit: str) -> str:
    """A parameter value with its unit as a reader expects it: `622,63 €/mois`, `10 %`, `18 ans`.

    A `fraction` is shown as a percentage (0.1 → 10 %; 0.5 of the montant forfaitaire → 50 % du
    montant forfaitaire).
    """
    if unit.startswith("fraction"):
        rest = unit.removeprefix("fraction").strip()
        return f"{french_decimal(number * 100, 4)} %" + (f" {rest}" if rest else "")
    if unit.startswith("€"):  # cents written in full: 454,10 €, not 454,1 €
        return f"{french_euros(number)} {unit}"
    return f"{french_decimal(number)} {unit}".rstrip()


def french_value(value: Value, unit: str) -> str:
    """A number or a table of a parameter in French on one line (`1 : 329,71 € ; 2 : …` for a table)."""
    if isinstance(value, dict):
        return " ; ".join(f"{key} : {french_quantity(item, unit)}" for key, item in sorted(value.items()))
    return french_quantity(value, unit)


@dataclass(frozen=True)
class DatedValue:
    """One dated value of a parameter as shown on a page: its rows (one per key of a table)."""

    version: Version
    rows: tuple[tuple[str, str], ...]  # (key, value) ; the key is "" for a plain number
    state: str  # "en vigueur", "à venir" or "ancienne"


def dated_values(parameter: Parameter, month: datetime.date) -> list[DatedValue]:
    """Every dated value of `parameter`, oldest first, each with its state in `month`."""
    current = parameter.at(month) if parameter.versions[0].since <= month else None
    found = []
    for version in parameter.versions:
        if isinstance(version.value, dict):
            rows = tuple(
                (str(key), french_quantity(item, parameter.unit))
                for key, item in sorted(version.value.items())
            )
        else:
            rows = (("", french_quantity(version.value, parameter.unit)),)
        state = "en vigueur" if version is current else ("à venir" if version.since > month else "ancienne")
        found.append(DatedValue(version, rows, state))
    return found


def write_docs(
    catalogue: Catalogue, parameters: Parameters, month: datetime.date, geography: Geography, out: Path
) -> list[Path]:
    """Write `index.html` and `<rule id>.html` into `out`; the paths written."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        keep_trailing_newline=True,
    )
    environment.filters["territoires"] = areas_text
    environment.filters["code"] = with_code
    environment.globals["everywhere"] = EVERYWHERE
    compiled = compile_catalogue(catalogue, parameters, month, geography)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    index = out / "index.html"
    index.write_text(
        environment.get_template("index.html.j2").render(
            rules=catalogue.rules, month=month, fingerprint=compiled.fingerprint
        ),
        encoding="utf-8",
    )
    written.append(index)
    for rule in catalogue.rules:
        values = [(name, unparse(e.node)) for name, e in catalogue.shared.values if name in rule.shared_used]
        values += [(name, unparse(e.node)) for name, e in rule.values]
        used = [
            (name, parameters.get(name), dated_values(parameters.get(name), month))
            for name in sorted(rule.parameters_used)
        ]
        value_names = {name for name, _ in values}
        parameter_names = set(rule.parameters_used)
        environment.filters["liens"] = lambda text, v=value_names, p=parameter_names: linked(text, v, p)
        page = out / f"{rule.id}.html"
        settings = [(name, setting_text(value)) for name, value in rule.settings.items()]
        page.write_text(
            environment.get_template("regle.html.j2").render(
                rule=rule,
                month=month,
                values=values,
                parameters=used,
                settings=settings,
                columns=sorted(rule.columns_read),
                cases=case_rows(rule.cases),
                digest=compiled.rule_digests[rule.id],
            ),
            encoding="utf-8",
        )
        written.append(page)
    return written


def setting_text(value: object) -> str:
    """A rule's setting in French: `oui`, `0,5`, `1 200`, or the text written."""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int | float):
        return french_decimal(value, 4)
    return str(value)
