"""Rendering the data team's message texts (jinja2, sandboxed) and checking them before use.

The texts live in `config/templates/`. They are rendered in a `SandboxedEnvironment` with strict
undefined variables, so a typo or a variable the channel does not provide (an amount in an SMS)
is a refusal naming the template, never a silent blank. Checks:

- every first contact carries the notice of the rights of access, rectification and objection
  (CRPA L.114-8 II) and how to object;
- an SMS carries the STOP wording, no amount, and fits in the configured number of segments.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import (
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
    meta,
    select_autoescape,
)
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import escape

from outreach.campaigns import Attempt, Campaign
from outreach.errors import TemplateRefused
from outreach.sms import SmsSize, measure, non_gsm_characters
from privacy.exchanges import DETECTION_FIELDS, PRESUMED_RIGHTS

RIGHTS_NOTICE = "mention-droits"
RIGHTS_NOTICE_SMS = "mention-droits-sms"

# How each rule's right is named in a message (French); an SMS gets the short form.
RIGHT_LABELS: dict[str, str] = {
    "ppa_non_recours": "la prime d'activité",
    "rsa_non_recours": "le RSA",
    "al_non_recours": "une aide au logement",
    "evenement_vie": "un accompagnement par un travailleur social",
    "impaye_locatif": "un accompagnement pour vos difficultés de loyer",
    "logement_non_decent": "une aide pour améliorer votre logement",
    "rdv_droits_eloignes": "un rendez-vous pour faire le point sur vos droits",
}

NARROW_NBSP = "\u202f"

# The variables through which a text tells its addressee's detection reasons (exchange field `motifs`).
_REASON_VARIABLES = frozenset({"montant_estime", "motifs"})
# The template files of each channel's message (the call script's text is not sent: see `disclosed`).
_CHANNEL_FILES = {"sms": ("txt",), "email": ("html", "txt"), "courrier": ("html",)}

_AMOUNT = re.compile(r"\d[\d\s.,]*\s*(€|euros?\b|EUR\b)", re.IGNORECASE)


@dataclass(frozen=True)
class RenderedMessage:
    """One household's message: plain text (always), HTML (e-mails, letters), subject (e-mails)."""

    text: str
    html: str | None = None
    subject: str | None = None
    sms: SmsSize | None = None


def rights_text(rules: list[str]) -> str:
    """The rights a household may claim, in French (`la prime d'activité et le RSA`)."""
    labels = list(dict.fromkeys(RIGHT_LABELS.get(r, r) for r in rules))
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " et " + labels[-1]


def _with_a(label: str) -> str:
    if label.startswith("le "):
        return "au " + label[3:]
    if label.startswith("les "):
        return "aux " + label[4:]
    return "à " + label


def rights_text_a(rules: list[str]) -> str:
    """The same preceded by `à` with French contractions (`à la prime d'activité et au RSA`)."""
    labels = [_with_a(label) for label in dict.fromkeys(RIGHT_LABELS.get(r, r) for r in rules)]
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " et " + labels[-1]


def format_euros(amount: float | None) -> str | None:
    """`1234.5` → `1 234,50 €` (French typography); None stays None."""
    if amount is None:
        return None
    whole, cents = f"{amount:,.2f}".split(".")
    return whole.replace(",", NARROW_NBSP) + "," + cents + " €"


# jinja2's syntax errors, in French: its message's pattern, then the problem (`{0}`: what it quoted).
_SYNTAX_PROBLEMS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"innermost block that needs to be closed is '(\w+)'"),
        "le bloc {{% {0} %}} n'est jamais fermé, il manque {{% end{0} %}}",
    ),
    (
        re.compile(r"end of template.*'end of print statement'", re.I),
        "une expression {{{{ … }}}} n'est pas fermée, il manque }}}}",
    ),
    (
        re.compile(r"end of template.*'end of statement block'", re.I),
        "une balise {{% … %}} n'est pas fermée, il manque %}}",
    ),
    (re.compile(r"unexpected end of template", re.I), "le modèle s'arrête au milieu d'une balise"),
    (re.compile(r"unknown tag '(\w+)'"), "balise {{% {0} %}} inconnue ou mal placée"),
    (re.compile(r"No filter named '([^']+)'"), "filtre « {0} » inconnu"),
    (re.compile(r"No test named '([^']+)'"), "test « {0} » inconnu"),
    (re.compile(r"expected token '[^']+', got '([^']+)'"), "« {0} » inattendu à cet endroit"),
    (re.compile(r"unexpected '([^']+)'"), "« {0} » inattendu (une accolade en trop ou en moins ?)"),
)
_FIX_SYNTAX = "corrigez la syntaxe (jinja2 : {{ variable }}, {% if … %}…{% endif %})"
_UNDEFINED = re.compile(r"^'([^']+)' is undefined$")
_NO_ATTRIBUTE = re.compile(r"has no attribute '([^']+)'$")


def _syntax_problem(message: str) -> str:
    for pattern, problem in _SYNTAX_PROBLEMS:
        found = pattern.search(message)
        if found:
            return problem.format(*found.groups())
    return "syntaxe incorrecte"


def _runtime_line(env: Environment, templates_dir: Path, exc: Exception) -> tuple[str, int] | None:
    """The template and line a rendering error arose at: the innermost frame of a template's code,
    whose Python line jinja2 maps back to the template's."""
    folder = templates_dir.resolve()
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        path = Path(frame.filename).resolve()  # a template's code runs under its file's name
        if frame.lineno is not None and path.is_relative_to(folder) and path.is_file():
            name = path.relative_to(folder).as_posix()
            return name, env.get_template(name).get_corresponding_lineno(frame.lineno)
    return None


def _written(templates_dir: Path, name: str, line: int | None) -> str:
    """The template's line as written (the data team's text, never a household's), shortened."""
    if line is None:
        return ""
    try:
        text = (templates_dir / name).read_text(encoding="utf-8").splitlines()[line - 1].strip()
    except (OSError, UnicodeDecodeError, IndexError):
        return ""
    return f"{text[:60]}…" if len(text) > 60 else text


def template_refused(
    env: Environment, templates_dir: Path, name: str, exc: Exception, variables: list[str]
) -> TemplateRefused:
    """The French refusal of template `name` that failed with `exc`: its file, its line, what is wrong
    and how to fix it (for an unknown variable, the `variables` it may use)."""
    line: int | None
    if isinstance(exc, TemplateSyntaxError):
        where, line = exc.name or name, exc.lineno
        problem, fix = _syntax_problem(exc.message or ""), _FIX_SYNTAX
    else:
        where, line = _runtime_line(env, templates_dir, exc) or (name, None)
        problem, fix = _runtime_problem(exc, name, templates_dir, variables)
    written = _written(templates_dir, where, line)
    return TemplateRefused(str(templates_dir / where), problem, fix, line=line, written=written)


def _runtime_problem(exc: Exception, name: str, templates_dir: Path, variables: list[str]) -> tuple[str, str]:
    """What went wrong while rendering, and the fix (never the exception's text, which may quote a value)."""
    message = str(getattr(exc, "message", None) or "")
    if isinstance(exc, UndefinedError) and (unknown := _UNDEFINED.match(message)):
        return (
            f"variable « {unknown.group(1)} » inconnue ici",
            f"utilisez une des variables de ce canal : {', '.join(variables)} (voir "
            "config/campaigns/LISEZMOI.md)",
        )
    if isinstance(exc, UndefinedError) and (attribute := _NO_ATTRIBUTE.search(message)):
        return (
            f"attribut « {attribute.group(1)} » inconnu",
            "vérifiez son nom (questionnaire : titre, questions ; chaque question : id, texte, type)",
        )
    if isinstance(exc, TemplateNotFound):
        included = "" if exc.name == name else "inclus "
        return (
            f"le modèle {included}« {exc.name} » est introuvable",
            f"créez-le dans {templates_dir} ou corrigez son nom",
        )
    if isinstance(exc, SecurityError):
        return (
            "accès interdit par le bac à sable (attribut ou fonction interne)",
            "un modèle ne lit que ses variables",
        )
    return (
        "opération impossible à l'exécution du modèle (calcul entre un texte et un nombre, filtre sur "
        "une valeur absente…)",
        "vérifiez les expressions de cette ligne",
    )


class Renderer:
    """Renders one campaign's templates, with the checks of its channel."""

    def __init__(self, templates_dir: Path, campaign: Campaign) -> None:
        self.templates_dir = templates_dir
        self.campaign = campaign
        self.env = SandboxedEnvironment(
            loader=FileSystemLoader(str(templates_dir)),
            undefined=StrictUndefined,
            autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
            keep_trailing_newline=False,
        )
        base = {"lien": campaign.campagne.lien_court, "expediteur": campaign.campagne.expediteur}
        self.notice = self._module(f"{RIGHTS_NOTICE}.txt.j2", base)[0].strip()
        self.notice_sms = self._module(f"{RIGHTS_NOTICE_SMS}.txt.j2", base)[0].strip()

    def _module(self, name: str, context: Mapping[str, Any]) -> tuple[str, str | None]:
        try:
            module = self.env.get_template(name).make_module(dict(context))
        # A template is the data team's code: whatever it raises (a jinja2 error, or a calculation
        # on a text) is a fault of the template, told in French with its file and line.
        except Exception as exc:
            raise template_refused(self.env, self.templates_dir, name, exc, sorted(context)) from None
        return str(module), getattr(module, "sujet", None)

    def _variables(self, name: str, seen: set[str]) -> set[str]:
        """The variables template `name` (and what it includes or extends) reads from its context."""
        try:
            source = self.env.loader.get_source(self.env, name)[0] if self.env.loader else ""
            tree = self.env.parse(source, name)
        except Exception as exc:
            raise template_refused(self.env, self.templates_dir, name, exc, []) from None
        found = set(meta.find_undeclared_variables(tree))
        for other in meta.find_referenced_templates(tree):
            if other is not None and other not in seen:
                seen.add(other)
                found |= self._variables(other, seen)
        return found

    def disclosed(self, attempt: Attempt) -> tuple[str, ...]:
        """What `attempt`'s outputs tell of the detection about the person (`DETECTION_FIELDS`).

        Every message and list of a campaign names the rights presumed. A call list and the household
        card always show the detection's reasons and estimate; a message shows them when its template
        reads `montant_estime` or `motifs`.
        """
        if attempt.canal == "appel":
            return DETECTION_FIELDS
        used: set[str] = set()
        for kind in _CHANNEL_FILES[attempt.canal]:
            name = f"{attempt.modele}.{kind}.j2"
            used |= self._variables(name, {name})
        return DETECTION_FIELDS if used & _REASON_VARIABLES else (PRESUMED_RIGHTS,)

    def base_context(self, rules: list[str], *, first_contact: bool) -> dict[str, Any]:
        """What every template may use, whatever the channel."""
        return {
            "lien": self.campaign.campagne.lien_court,
            "expediteur": self.campaign.campagne.expediteur,
            "campagne": self.campaign.campagne.titre,
            "prestations_texte": rights_text(rules),
            "prestations_a": rights_text_a(rules),
            "premier_contact": first_contact,
            "mention_droits": self.notice,
            "mention_droits_courte": self.notice_sms,
        }

    def render(self, attempt: Attempt, context: Mapping[str, Any], *, first_contact: bool) -> RenderedMessage:
        """Render `attempt`'s template for one household and check it; `TemplateRefused` otherwise."""
        if attempt.canal == "sms":
            return self._render_sms(attempt, context, first_contact=first_contact)
        if attempt.canal == "email":
            html, subject = self._module(f"{attempt.modele}.html.j2", context)
            text, _ = self._module(f"{attempt.modele}.txt.j2", context)
            self._check_notice(f"{attempt.modele}.txt.j2", text, first_contact)
            self._check_notice(f"{attempt.modele}.html.j2", html, first_contact, html=True)
            return RenderedMessage(text=text.strip() + "\n", html=html.strip() + "\n", subject=subject)
        if attempt.canal == "courrier":
            questionnaire = self.campaign.questionnaires.get(attempt.questionnaire or "")
            context = {**context, "questionnaire": questionnaire}
            html, _ = self._module(f"{attempt.modele}.html.j2", context)
            self._check_notice(f"{attempt.modele}.html.j2", html, first_contact, html=True)
            return RenderedMessage(text="", html=html.strip() + "\n")
        text, _ = self._module(f"{attempt.modele}.txt.j2", context)
        self._check_notice(f"{attempt.modele}.txt.j2", text, first_contact)
        return RenderedMessage(text=text.strip())

    def _check_notice(self, name: str, rendered: str, first_contact: bool, *, html: bool = False) -> None:
        notice = str(escape(self.notice)) if html else self.notice
        if first_contact and notice not in rendered:
            raise TemplateRefused(
                name,
                "le premier contact doit mentionner les droits d'accès, de rectification et "
                "d'opposition (CRPA L.114-8 II) et la façon de s'opposer",
                "ajoutez {{ mention_droits }} au modèle",
            )

    def _render_sms(
        self, attempt: Attempt, context: Mapping[str, Any], *, first_contact: bool
    ) -> RenderedMessage:
        name = f"{attempt.modele}.txt.j2"
        text, _ = self._module(name, context)
        text = " ".join(text.split())
        if _AMOUNT.search(text):
            raise TemplateRefused(
                name, "un SMS ne doit contenir aucun montant", "retirez le montant du texte"
            )
        if "STOP" not in text:
            raise TemplateRefused(
                name, "un SMS doit indiquer comment refuser ces messages (STOP)", "ajoutez la mention STOP"
            )
        if first_contact and self.notice_sms not in text:
            raise TemplateRefused(
                name,
                "le premier SMS doit mentionner les droits d'accès, de rectification et "
                "d'opposition (CRPA L.114-8 II)",
                "ajoutez {{ mention_droits_courte }} au modèle",
            )
        size = measure(text)
        if size.segments > self.campaign.sms.max_segments:
            hint = ""
            if size.encoding == "UCS-2":
                hint = f" ; ces caractères imposent l'UCS-2 : {' '.join(non_gsm_characters(text))}"
            raise TemplateRefused(
                name,
                f"{size.segments} segments {size.encoding} ({size.units} unités) pour un maximum de "
                f"{self.campaign.sms.max_segments}{hint}",
                "raccourcissez le texte ou remplacez les caractères accentués hors GSM-7",
            )
        return RenderedMessage(text=text, sms=size)


def sms_context(renderer: Renderer, rules: list[str], *, first_contact: bool) -> dict[str, Any]:
    """An SMS knows no name, no amount and no reason: only the rights in short form and the link."""
    return renderer.base_context(rules, first_contact=first_contact)


# Sample contact details, so that `uptake campaigns check` renders every template as it will be sent.
_SAMPLE = {
    "civilite": "Mme",
    "nom": "Exemple",
    "prenom": "Camille",
    "telephone": "+33600000000",
    "email": "camille@example.org",
    "adresse": "1 place de l'Exemple",
    "code_postal": "04300",
    "ville": "Forcalquier",
    "motifs": "revenus d'activité déclarés sans prime d'activité versée",
    "commune": "Forcalquier",
    "date": "10 mars 2026",
    "reference": "Q-0-1",
}
CHANNEL_NAMES = {"sms": "SMS", "email": "courriel", "appel": "appel", "courrier": "courrier"}


def check_campaign(campaign: Campaign, templates_dir: Path) -> list[str]:
    """Render every attempt on sample values; the lines to show (`TemplateRefused` if a text is wrong)."""
    renderer = Renderer(templates_dir, campaign)
    lines = []
    for i, attempt in enumerate(campaign.tentatives, start=1):
        for first in (True, False):
            context = renderer.base_context(campaign.campagne.regles, first_contact=first)
            if attempt.canal != "sms":
                context.update(_SAMPLE, montant_estime=format_euros(187.25))
            message = renderer.render(attempt, context, first_contact=first)
            if first and message.sms is not None:
                lines.append(
                    f"  tentative {i} (SMS) : {message.sms.encoding}, {message.sms.units} unités, "
                    f"{message.sms.segments} segment(s) sur {campaign.sms.max_segments} permis"
                )
            elif first:
                questionnaire = campaign.questionnaires.get(attempt.questionnaire or "")
                joined = (
                    f", avec le questionnaire `{questionnaire.id}` ({len(questionnaire.questions)} questions)"
                    if questionnaire
                    else ""
                )
                name = CHANNEL_NAMES[attempt.canal]
                lines.append(f"  tentative {i} ({name}) : modèle `{attempt.modele}` correct{joined}")
    return lines
