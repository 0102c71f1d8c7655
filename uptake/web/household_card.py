"""What a social worker sees on a household card: the flag's reasons and estimate, the contact
details the approved exchange allows (decrypted from the vault), the call script, the history (one
list in date order: attempts made or planned, outcomes with their notes).

Only the fields an approved, unexpired exchange of the campaign's register entry covers are
revealed; without one the card shows the pseudonym and says why the details are missing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.campaigns import TEMPLATES_DIR, Campaign, find_campaign
from outreach.channels import CHANNEL_FIELDS
from outreach.errors import OutreachError
from outreach.models import Contact, Launch, QuestionnaireAnswer, WorklistItem
from outreach.outcomes import OutcomeRecord, outcome_history
from outreach.questionnaires import reference
from outreach.templates import Renderer, format_euros
from outreach.worklist import calls_reopen
from privacy import exchanges, vault
from privacy.canonical import caf_day
from privacy.errors import ExchangeRefused, PrivacyError
from privacy.keys import Keyring
from uptake import french
from uptake.context import AppContext
from uptake.subject_sections import CHANNELS

CALL_FIELDS = CHANNEL_FIELDS["appel"]


@dataclass(frozen=True)
class HistoryLine:
    """One line of the card's history: an attempt (made or planned) or an outcome."""

    when: dt.datetime
    what: str
    canal: str
    by: str
    note: str | None = None


@dataclass
class HouseholdCard:
    """Everything the card page shows (contact values only when an exchange allows them)."""

    item: WorklistItem
    commune: str
    campaign_title: str
    rule_title: str = ""
    contact: dict[str, str | None] = field(default_factory=dict)
    exchange_id: int | None = None
    contact_problem: str | None = None
    script: str | None = None
    script_problem: str | None = None
    outcomes: list[OutcomeRecord] = field(default_factory=list)
    attempts: list[Contact] = field(default_factory=list)
    answers: list[QuestionnaireAnswer] = field(default_factory=list)
    history: list[HistoryLine] = field(default_factory=list)
    # When the campaign's calling hours open again, if they are closed now.
    calls_reopen: dt.datetime | None = None

    @property
    def estimate(self) -> str | None:
        """The monthly estimate, in French format."""
        return format_euros(self.item.montant_estime)


def call_authorisation(
    session: Session, keyring: Keyring, campaign: Campaign, now: dt.datetime, launch_id: int | None = None
) -> tuple[exchanges.Authorisation | None, str | None]:
    """The approved exchange covering the most call fields (and the detection's reasons, shown beside
    them): the one the launch `launch_id` was made under, else one of the campaign's register entry;
    else None and why, in French."""
    launch = session.get(Launch, launch_id) if launch_id is not None else None
    named = launch.echange_id if launch is not None and launch.echange_id else campaign.campagne.echange
    candidates = [
        e
        for e in exchanges.list_exchanges(session, exchanges.APPROVED)
        if e.register_code == campaign.campagne.registre and (named is None or e.id == named)
    ]
    best: exchanges.Authorisation | None = None
    reasons: list[str] = []
    fitting = []
    for exchange in candidates:
        wanted = [f for f in CALL_FIELDS if f in exchange.fields]
        if not wanted:
            continue
        try:
            # The card shows the detection's reasons beside the name: the approval must cover both.
            authorisation = exchanges.authorise(
                session, keyring, exchange.id, [*wanted, *exchanges.DETECTION_FIELDS], now=now
            )
        except ExchangeRefused as refused:
            reasons.extend(refused.reasons)
            continue
        fitting.append(exchange)
        if best is None or len(authorisation.fields & set(CALL_FIELDS)) > len(best.fields & set(CALL_FIELDS)):
            best = authorisation
    ambiguous = exchanges.several_scopes(fitting, "cette campagne")
    if ambiguous is not None:
        return None, f"Coordonnées non affichées : {ambiguous}."
    if best is None:
        detail = f" ({'; '.join(reasons)})" if reasons else ""
        return None, (
            "Coordonnées non affichées : aucun échange approuvé par le DPO ne couvre les appels de cette "
            f"campagne{detail}."
        )
    return best, None


def build_card(
    session: Session, context: AppContext, keyring: Keyring, item: WorklistItem, *, actor: str
) -> HouseholdCard:
    """Assemble the card of a claimed household (decrypting only what an exchange allows; audited)."""
    now = context.now()
    names = dict(context.geography.communes.select("code_commune", "nom").iter_rows())
    card = HouseholdCard(
        item=item,
        commune=str(names.get(item.code_commune, item.code_commune)),
        campaign_title=item.campagne,
        rule_title=context.rule_titles.get(item.regle, item.regle),
    )
    card.outcomes = outcome_history(session, item.id_foyer)
    card.attempts = list(
        session.scalars(select(Contact).where(Contact.id_foyer == item.id_foyer).order_by(Contact.prevu_le))
    )
    card.answers = list(
        session.scalars(
            select(QuestionnaireAnswer)
            .where(
                QuestionnaireAnswer.launch_id == item.launch_id, QuestionnaireAnswer.id_foyer == item.id_foyer
            )
            .order_by(QuestionnaireAnswer.ordre)
        )
    )
    try:
        campaign = find_campaign(context.settings.config_dir, item.campagne)
    except OutreachError as exc:
        card.contact_problem = card.script_problem = str(exc)
        card.history = _history(context, card, now)
        return card
    card.campaign_title = campaign.campagne.titre
    card.calls_reopen = calls_reopen(campaign.fenetres, now)
    card.history = _history(context, card, now)
    try:
        authorisation, card.contact_problem = call_authorisation(
            session, keyring, campaign, now, item.launch_id
        )
        if authorisation is not None:
            fields = [f for f in CALL_FIELDS if f in authorisation.fields]
            revealed = vault.reveal(
                session, keyring, authorisation, [item.id_foyer], fields, actor=actor, now=now
            )
            card.exchange_id = authorisation.exchange_id
            card.contact = revealed.get(item.id_foyer, {})
            if not card.contact:
                card.contact_problem = "Ce foyer n'a pas de coordonnées dans l'annuaire chiffré."
    except PrivacyError as exc:
        card.contact_problem = f"Coordonnées non affichées : {exc}"
    card.script, card.script_problem = _script(context, campaign, item, card)
    return card


def _campaign_titles(context: AppContext, card: HouseholdCard) -> dict[str, str]:
    """The title of each campaign of the household's attempts; its code when its file cannot be read."""
    titles = {card.item.campagne: card.campaign_title}
    for code in {a.campagne for a in card.attempts} - set(titles):
        try:
            titles[code] = find_campaign(context.settings.config_dir, code).campagne.titre
        except OutreachError:
            titles[code] = code
    return titles


def _history(context: AppContext, card: HouseholdCard, now: dt.datetime) -> list[HistoryLine]:
    """Attempts and outcomes in one list, oldest first; an attempt still to come is said planned."""
    titles = _campaign_titles(context, card)
    lines = [
        HistoryLine(
            french.utc(a.prevu_le),
            f"Tentative n°{a.tentative}{' prévue' if french.utc(a.prevu_le) > now else ''} "
            f"({titles[a.campagne]})",
            CHANNELS.get(a.canal, a.canal),
            "—",
        )
        for a in card.attempts
    ]
    lines += [
        HistoryLine(
            french.utc(o.survenu_le),
            o.label if o.montant is None else f"{o.label} : {format_euros(o.montant)}",
            CHANNELS.get(o.canal or "", o.canal or "—"),
            o.acteur,
            note=o.commentaire,
        )
        for o in card.outcomes
    ]
    return sorted(lines, key=lambda line: line.when)


def _script(
    context: AppContext, campaign: Campaign, item: WorklistItem, card: HouseholdCard
) -> tuple[str | None, str | None]:
    calls = [a for a in campaign.tentatives if a.canal == "appel"]
    index = item.tentative - 1
    # The row's own attempt when it is a call; else the campaign's call (the list was made for calls).
    attempt = campaign.tentatives[index] if 0 <= index < len(campaign.tentatives) else None
    if attempt is None or attempt.canal != "appel":
        attempt = calls[0] if calls else None
    if attempt is None:
        return None, "Cette campagne ne prévoit pas d'appel : pas de script."
    try:
        renderer = Renderer(context.settings.config_dir / TEMPLATES_DIR, campaign)
        values = renderer.base_context(item.regle.split(","), first_contact=item.tentative == 1)
        values.update({f: card.contact.get(f) or "" for f in CALL_FIELDS})
        values.update(
            {
                "montant_estime": card.estimate,
                "motifs": item.motifs,
                "commune": card.commune,
                "date": caf_day(context.now()).isoformat(),
                "reference": reference(item.launch_id, item.rang),
            }
        )
        return renderer.render(attempt, values, first_contact=item.tentative == 1).text, None
    except OutreachError as exc:
        return None, f"Script indisponible : {exc}"
