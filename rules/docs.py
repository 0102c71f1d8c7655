"""One French HTML page per rule (like Publicodes' rule pages) and an index, from jinja2 templates."""

from __future__ import annotations

import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from rules.catalogue import Catalogue
from rules.compiler import compile_catalogue
from rules.geography import Geography
from rules.language import unparse
from rules.parameters import Parameters

TEMPLATES = Path(__file__).resolve().parent / "templates"


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
        page = out / f"{rule.id}.html"
        page.write_text(
            environment.get_template("regle.html.j2").render(
                rule=rule, month=month, values=values, parameters=used, columns=sorted(rule.columns_read)
            ),
            encoding="utf-8",
        )
        written.append(page)
    return written
