"""One French HTML page per rule (like Publicodes' rule pages) and an index, from jinja2 templates."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from rules.catalogue import Catalogue
from rules.compiler import compile_catalogue
from rules.geography import Geography
from rules.language import unparse
from rules.parameters import Parameters

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


def write_docs(
    catalogue: Catalogue, parameters: Parameters, month: datetime.date, geography: Geography, out: Path
) -> list[Path]:
    """Write `index.html` and `<rule id>.html` into `out`; the paths written."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "j2"]),
        keep_trailing_newline=True,
    )
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
            (name, parameters.get(name), compiled.parameters_used[name])
            for name in sorted(rule.parameters_used)
        ]
        value_names = {name for name, _ in values}
        parameter_names = set(rule.parameters_used)
        environment.filters["liens"] = lambda text, v=value_names, p=parameter_names: linked(text, v, p)
        page = out / f"{rule.id}.html"
        page.write_text(
            environment.get_template("regle.html.j2").render(
                rule=rule, month=month, values=values, parameters=used, columns=sorted(rule.columns_read)
            ),
            encoding="utf-8",
        )
        written.append(page)
    return written
