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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, TemplateError, select_autoescape
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import escape

from outreach.campaigns import Attempt, Campaign
from outreach.errors import TemplateRefused
from outreach.sms import SmsSize, measure, non_gsm_characters

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
        self.notice = self._render_file(f"{RIGHTS_NOTICE}.txt.j2", base).strip()
        self.notice_sms = self._render_file(f"{RIGHTS_NOTICE_SMS}.txt.j2", base).strip()

    def _render_file(self, name: str, context: Mapping[str, Any]) -> str:
        try:
            return self.env.get_template(name).render(**context)
        except TemplateError as exc:
            raise TemplateRefused(
                name, f"{type(exc).__name__} : {exc.message or exc}", "corrigez le modèle"
            ) from None

    def _module(self, name: str, context: Mapping[str, Any]) -> tuple[str, str | None]:
        try:
            module = self.env.get_template(name).make_module(dict(context))
        except TemplateError as exc:
            raise TemplateRefused(
                name,
                f"{type(exc).__name__} : {exc.message or exc}",
                "corrigez le modèle (seules les variables du canal existent ; pas de montant dans un SMS)",
            ) from None
        return str(module), getattr(module, "sujet", None)

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
