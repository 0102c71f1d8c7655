"""The indicators report: one French HTML page with inline SVG charts, and one CSV per table.

Only aggregates after disclosure control are written (no pseudonym, no personal data); the report's
hash is recorded in the audit log so that a published figure can be traced to its computation.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

import polars as pl
from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from outreach.charts import HIDDEN_LABEL, bar_chart, french_number, interval_chart, percent
from outreach.indicators import Indicators22, Indicators71, indicators_22, indicators_71, load_tables
from outreach.templates import RIGHT_LABELS
from privacy import audit
from privacy.canonical import caf_time_zone
from privacy.disclosure import DEFAULT_THRESHOLD
from privacy.spreadsheet import inert_frame

CHANNEL_LABELS = {"sms": "SMS", "email": "Courriel", "appel": "Appel", "courrier": "Courrier"}
HEADERS: dict[str, str] = {
    "indicateur": "Indicateur",
    "valeur": "Valeur",
    "canal": "Canal",
    "tentative": "Tentative",
    "regle": "Règle",
    "code_commune": "Commune",
    "bras": "Groupe",
    "foyers": "Foyers",
    "foyers_signales": "Foyers signalés",
    "foyers_contactes": "Foyers contactés",
    "foyers_temoins": "Foyers témoins",
    "droits_ouverts": "Droits ouverts",
    "droits_ouverts_apres": "Droits ouverts après cette tentative",
    "droits_ouverts_contactes": "Droits ouverts (contactés)",
    "droits_ouverts_temoins": "Droits ouverts (témoins)",
    "montant_moyen": "Montant mensuel moyen (€)",
    "taux_ouverture": "Taux d'ouverture",
    "ic95_bas": "IC 95 % bas",
    "ic95_haut": "IC 95 % haut",
    "impayes": "Impayés de loyer",
    "non_decents": "Logements non décents",
    "questionnaire": "Questionnaire",
    "question": "Question",
    "reponses": "Réponses",
    "oui": "Oui",
    "non": "Non",
    "mediane": "Médiane",
}
_RATES = {"taux_ouverture", "ic95_bas", "ic95_haut"}
_MONEY = {"montant_moyen"}


@dataclass(frozen=True)
class ReportFiles:
    """Where the report went."""

    html: Path
    csv: tuple[Path, ...]


def _cell(column: str, value: object, communes: Mapping[str, str]) -> str:
    if value is None:
        return HIDDEN_LABEL
    if column in _RATES:
        return percent(float(value))  # type: ignore[arg-type]
    if column in _MONEY or (column == "valeur" and isinstance(value, float)):
        return french_number(float(value), 2)  # type: ignore[arg-type]
    if column == "mediane":
        return french_number(float(value), 1)  # type: ignore[arg-type]
    if column == "canal":
        return CHANNEL_LABELS.get(str(value), str(value))
    if column == "regle":
        return f"{value} ({RIGHT_LABELS.get(str(value), '')})".replace(" ()", "")
    if column == "code_commune":
        return f"{communes.get(str(value), '')} ({value})".strip()
    if isinstance(value, float):
        return french_number(value, 2)
    return french_number(value) if isinstance(value, int) else str(value)


def _table(frame: pl.DataFrame, communes: Mapping[str, str]) -> dict[str, object]:
    return {
        "headers": [HEADERS.get(c, c) for c in frame.columns],
        "rows": [
            [_cell(c, v, communes) for c, v in zip(frame.columns, row, strict=True)]
            for row in frame.iter_rows()
        ],
    }


def _charts22(ind: Indicators22, communes: Mapping[str, str]) -> dict[str, object]:
    charts: dict[str, object] = {
        "canaux": bar_chart(
            [
                (CHANNEL_LABELS.get(c, c), v)
                for c, v in ind.by_channel.select("canal", "foyers_contactes").iter_rows()
            ],
            title="Foyers contactés par canal",
        ),
        "communes": bar_chart(
            [
                (communes.get(code, code), v)
                for code, v in ind.by_commune.select("code_commune", "droits_ouverts_contactes").iter_rows()
            ],
            title="Droits ouverts parmi les foyers contactés, par commune",
        ),
    }
    if ind.uplift_published:
        raw = ind.raw_uplift
        charts["taux"] = bar_chart(
            [("Foyers contactés", raw.rate_contacted * 100), ("Groupe témoin", raw.rate_holdout * 100)],
            title="Taux d'ouverture de droits",
            decimals=1,
            suffix="\u202f%",
        )
        low, high = raw.interval
        charts["ecart"] = interval_chart(
            raw.difference, low, high, title="Effet de la démarche : écart de taux (points) et IC à 95 %"
        )
    return charts


def write_report(
    engine: Engine,
    out_dir: Path,
    *,
    communes: Mapping[str, str],
    territory: str,
    actor: str,
    threshold: int = DEFAULT_THRESHOLD,
    now: dt.datetime | None = None,
) -> ReportFiles:
    """Compute the indicators, write `indicateurs.html` and the CSV tables in `out_dir` (the page names
    `territory`, the one configured: the report goes to its convention's committee); audited."""
    moment = now or dt.datetime.now(dt.UTC)
    tables = load_tables(engine)
    ind22 = indicators_22(tables, threshold)
    ind71 = indicators_71(tables, threshold)
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_tables: dict[str, pl.DataFrame] = {
        "action-2-2-synthese": ind22.summary,
        "action-2-2-montant-moyen": ind22.amount,
        "action-2-2-effet-temoin": ind22.uplift,
        "action-2-2-par-canal": ind22.by_channel,
        "action-2-2-par-tentative": ind22.by_attempt,
        "action-2-2-par-regle": ind22.by_rule,
        "action-2-2-par-commune": ind22.by_commune,
        "action-7-1-synthese": ind71.summary,
        "action-7-1-par-commune": ind71.by_commune,
        "action-7-1-questionnaires-oui-non": ind71.questionnaires.yes_no,
        "action-7-1-questionnaires-nombres": ind71.questionnaires.numbers,
    }
    written = []
    for name, frame in csv_tables.items():
        path = out_dir / f"{name}.csv"
        inert_frame(frame).write_csv(path, separator=";")
        written.append(path)
    html = _render(ind22, ind71, communes, territory, threshold, moment)
    html_path = out_dir / "indicateurs.html"
    html_path.write_text(html, encoding="utf-8")
    with Session(engine) as session, session.begin():
        audit.append(
            session,
            actor=actor,
            action="rapport.indicateurs",
            object_ref="rapport:indicateurs",
            output_sha256=hashlib.sha256(html.encode("utf-8")).hexdigest(),
            details={"seuil_secret": threshold, "fichiers": [p.name for p in written]},
        )
    return ReportFiles(html_path, tuple(written))


def report_message(
    files: ReportFiles, *, recipients: Sequence[str], sender: str, territory: str, moment: dt.datetime
) -> EmailMessage:
    """The report as an e-mail to `recipients`: a short French text, the HTML page and its CSV tables
    attached. Only what the report holds: counts under statistical secrecy, no household data."""
    message = EmailMessage()
    day = moment.astimezone(caf_time_zone())
    message["Subject"] = f"uptake : indicateurs des actions 2.2 et 7.1 — {territory} ({day:%d/%m/%Y})"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(moment.timestamp(), localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1])
    message.set_content(
        f"Bonjour,\n\nVoici le rapport des indicateurs des actions 2.2 (accès aux droits) et 7.1 "
        f"(logement) de la Convention territoriale globale, calculé le {day:%d/%m/%Y} : la page "
        "indicateurs.html (à ouvrir dans un navigateur) et ses tableaux au format CSV (séparateur « ; »).\n\n"
        "Les effectifs trop petits sont masqués (secret statistique) ; le rapport ne contient aucune "
        "donnée personnelle.\n\nMessage envoyé automatiquement par uptake.\n"
    )
    for attached, subtype in ((files.html, "html"), *((table, "csv") for table in files.csv)):
        message.add_attachment(
            attached.read_text(encoding="utf-8"), subtype=subtype, charset="utf-8", filename=attached.name
        )
    return message


def _render(
    ind22: Indicators22,
    ind71: Indicators71,
    communes: Mapping[str, str],
    territory: str,
    threshold: int,
    moment: dt.datetime,
) -> str:
    env = Environment(
        loader=PackageLoader("outreach", "report_templates"), autoescape=select_autoescape(["j2"])
    )
    raw = ind22.raw_uplift
    low, high = raw.interval
    return env.get_template("indicateurs.html.j2").render(
        genere_le=moment.astimezone(caf_time_zone()).strftime("%d/%m/%Y à %H:%M"),
        territoire=territory,
        seuil=threshold,
        synthese22=_table(ind22.summary, communes),
        montant22=_table(ind22.amount, communes),
        effet=_table(ind22.uplift, communes),
        effet_publie=ind22.uplift_published,
        ecart=percent(raw.difference) if ind22.uplift_published else HIDDEN_LABEL,
        ic=(percent(low), percent(high)) if ind22.uplift_published else (HIDDEN_LABEL, HIDDEN_LABEL),
        significatif=ind22.uplift_published and (low > 0 or high < 0),
        canaux=_table(ind22.by_channel, communes),
        tentatives=_table(ind22.by_attempt, communes),
        regles=_table(ind22.by_rule, communes),
        communes22=_table(ind22.by_commune, communes),
        synthese71=_table(ind71.summary, communes),
        communes71=_table(ind71.by_commune, communes),
        questionnaires_oui_non=_table(ind71.questionnaires.yes_no.drop("questionnaire"), communes),
        questionnaires_nombres=_table(ind71.questionnaires.numbers.drop("questionnaire"), communes),
        graphiques=_charts22(ind22, communes),
    )
