"""Pre-diagnostic questionnaires of action 7.1: their questions as data (`config/questionnaires/`).

A campaign's letter attempt names its questionnaire (`questionnaire = "…"`); the letter's template
prints `questionnaire.questions` and the questionnaire's reference (`Q-<lancement>-<rang>`), so that
what is printed, what is typed back (`outreach.questionnaire_answers`) and what is counted are the
same questions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from outreach.errors import CampaignInvalid, campaign_said
from privacy.config_errors import ConfigProblem, parse_config

QUESTIONNAIRES_DIR = "questionnaires"
FIXED_COLUMNS = ("reference", "date")
YES, NO = "oui", "non"
# Typed back by hand: read whatever the case (`q-12-345`).
_REFERENCE = re.compile(r"^Q-(?P<launch>\d{1,9})-(?P<rank>\d{1,9})$", re.IGNORECASE)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Question(_Strict):
    """One question: its column in the import (`id`), its printed text, its label in the report."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{0,39}$")
    texte: str = Field(min_length=1)
    libelle: str = Field(min_length=1, max_length=200)
    type: Literal["oui_non", "nombre"]
    a_rappeler_si: Literal["oui", "non"] | None = None

    @model_validator(mode="after")
    def _call_back_on_yes_no_only(self) -> Question:
        if self.a_rappeler_si is not None and self.type != "oui_non":
            raise ValueError("a_rappeler_si ne vaut que pour une question oui_non")
        return self


class _QuestionnaireFile(_Strict):
    titre: str = Field(min_length=1)
    questions: list[Question] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> _QuestionnaireFile:
        ids = [q.id for q in self.questions]
        doubles = sorted({i for i in ids if ids.count(i) > 1} | {i for i in ids if i in FIXED_COLUMNS})
        if doubles:
            raise ValueError(f"identifiants en double ou réservés : {', '.join(doubles)}")
        return self


@dataclass(frozen=True)
class Questionnaire:
    """A validated questionnaire; its identifier is its file name without `.toml`."""

    id: str
    titre: str
    questions: tuple[Question, ...]


_FIXES = {
    "missing": "ajoutez cette clé",
    "extra_forbidden": "supprimez cette clé ou corrigez son orthographe",
    "literal_error": "choisissez une des valeurs indiquées",
    "string_pattern_mismatch": "un identifiant s'écrit en minuscules sans accent (lettres, chiffres, _)",
    "too_short": "donnez au moins une question",
    "value_error": "corrigez les questions",
}


def questionnaire_path(config_dir: Path, name: str) -> Path:
    """Where the questionnaire `name` is read from."""
    return config_dir / QUESTIONNAIRES_DIR / f"{name}.toml"


def load_questionnaire(config_dir: Path, name: str) -> Questionnaire:
    """The questionnaire `name` of the configuration; `CampaignInvalid` names the file and the fix."""
    path = questionnaire_path(config_dir, name)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CampaignInvalid(
            str(path), None, "questionnaire introuvable", f"créez le fichier ou corrigez le nom « {name} »"
        ) from None
    try:
        parsed = parse_config(data, _QuestionnaireFile, _FIXES)
    except ConfigProblem as problem:
        others = [campaign_said(o.key, o.problem, o.fix, line=o.line) for o in problem.problems[1:]]
        raise CampaignInvalid(
            str(path), problem.key, problem.problem, problem.fix, line=problem.line, others=others
        ) from None
    return Questionnaire(name, parsed.titre, tuple(parsed.questions))


def questionnaire_names(config_dir: Path) -> list[str]:
    """Every questionnaire of the configuration, by name (its file name without `.toml`)."""
    folder = config_dir / QUESTIONNAIRES_DIR
    return sorted(path.stem for path in folder.glob("*.toml")) if folder.is_dir() else []


def reference(launch_id: int, rank: int) -> str:
    """The reference printed on a household's letter and questionnaire, typed back with its answers."""
    return f"Q-{launch_id}-{rank}"


def parse_reference(text: str) -> tuple[int, int] | None:
    """The launch and rank a reference names (`Q-12-345`, ` q-12-345 ` → (12, 345)); None when it is
    not one."""
    match = _REFERENCE.match(text.strip())
    return (int(match["launch"]), int(match["rank"])) if match else None
