"""The web side of social workers' call lists, over outreach's worklist API (`outreach.worklist`).

Outreach owns the states and their rules (claim, release, complete, a household called back the next
day after `injoignable`). This module adds what the web needs around them:

- the page queries (my list, how many households are waiting, when a household comes back);
- a claim that is safe on SQLite too: outreach locks the row with `FOR UPDATE SKIP LOCKED` on
  PostgreSQL; SQLite has no row locks, so the claim runs in a `BEGIN IMMEDIATE` transaction that
  takes the database write lock before choosing the row, and concurrent claimers take turns;
- households that objected (GDPR art. 21) after the list was made are set aside, never handed out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import phonenumbers
from sqlalchemy import ColumnElement, Engine, and_, case, func, or_, select
from sqlalchemy.orm import Session

from outreach import worklist as outreach_worklist
from outreach.campaigns import WEEKDAYS, WindowSection, find_campaign
from outreach.errors import OutreachError
from outreach.models import Outcome, WorklistItem
from outreach.outcomes import IN_PROGRESS, TO_CALL
from outreach.worklist import HANDOUT_ORDER, WorklistItemOutsideSectors, WorklistItemUnavailable, waiting_for
from privacy import subjects, vault
from privacy.keys import Keyring
from privacy.phones import french_e164
from uptake import french
from uptake.users import list_accounts
from uptake.web.household_card import call_authorisation

OPPOSED = "opposition"
STATUS_LABELS = {**outreach_worklist.STATUS_LABELS, OPPOSED: "opposition"}
# Each opposed household set aside costs one more try.
MAX_CLAIM_TRIES = 50
# A form sent again within this delay of its first sending is told as done, not refused.
SENT_AGAIN_WITHIN = dt.timedelta(minutes=30)


class WorklistError(Exception):
    """A worklist action that cannot be done; `str()` is a French message safe to show."""


def _as_sentence(exc: Exception) -> WorklistError:
    """The outreach message (written to follow « Refusé : ») as a sentence of its own on the page."""
    text = str(exc)
    return WorklistError(text[:1].upper() + text[1:])


@dataclass(frozen=True)
class CallHours:
    """Why a campaign's households are not handed out now, as the call list tells it (keyed by the
    campaign's name)."""

    title: str
    # When its calling hours open again; None when its file is missing or broken (none handed out
    # until the data team fixes it: the card could show neither the number nor the script).
    reopens: dt.datetime | None
    # Its calling days and hours in French, or what is wrong with its file.
    hours: str


@dataclass(frozen=True)
class WorklistRow:
    """One line of a call list, as pages show it (pseudonym only)."""

    id: int
    campagne: str
    id_foyer: str
    regle: str
    tentative: int
    priorite: int | None
    montant_estime: float | None
    code_commune: str
    distance_services_km: float | None
    motifs: str
    statut: str
    attribue_a: str | None
    remis_par: str | None
    launch_id: int
    appel_a_partir_de: dt.datetime

    @property
    def statut_label(self) -> str:
        """The status in French."""
        return STATUS_LABELS.get(self.statut, self.statut)

    def held_by(self, login: str) -> bool:
        """Whether `login` holds this household now."""
        return self.statut == IN_PROGRESS and self.attribue_a == login

    def released_by(self, login: str) -> bool:
        """Whether `login` gave this household back to the list (it waits for a colleague)."""
        return self.statut == TO_CALL and self.remis_par == login

    def callable_at(
        self, now: dt.datetime, closed: Mapping[str, CallHours] = MappingProxyType({})
    ) -> dt.datetime | None:
        """When this household may be called, if not yet at `now` (planned later, called back
        another day, or its campaign's calling hours closed: `closed`, see `closed_campaigns`);
        None when it may be called now, or when its campaign's file is unreadable."""
        start = french.utc(self.appel_a_partir_de)
        reopens = closed[self.campagne].reopens if self.campagne in closed else None
        if reopens is not None:
            start = max(start, reopens)
        return start if start > now else None


_ROW_COLUMNS = (
    WorklistItem.id,
    WorklistItem.campagne,
    WorklistItem.id_foyer,
    WorklistItem.regle,
    WorklistItem.tentative,
    WorklistItem.priorite,
    WorklistItem.montant_estime,
    WorklistItem.code_commune,
    WorklistItem.distance_services_km,
    WorklistItem.motifs,
    WorklistItem.statut,
    WorklistItem.attribue_a,
    WorklistItem.remis_par,
    WorklistItem.launch_id,
    WorklistItem.appel_a_partir_de,
)


# A call list page shows this many households; « Suivants » shows the next ones.
WORKLIST_PAGE_SIZE = 50


@dataclass(frozen=True)
class ListFilter:
    """Which households of my sectors a call list page shows: one commune, one campaign (None: all)."""

    commune: str | None = None
    campagne: str | None = None


def _held_by(login: str) -> ColumnElement[bool]:
    """The line `login` holds now."""
    return and_(WorklistItem.statut == IN_PROGRESS, WorklistItem.attribue_a == login)


def _listed(login: str, secteurs: Sequence[str], shown: ListFilter) -> list[ColumnElement[bool]]:
    """The households of my list: waiting in my sectors, or held by me; narrowed by `shown`."""
    where = [
        WorklistItem.code_commune.in_(list(secteurs)),
        or_(WorklistItem.statut == TO_CALL, _held_by(login)),
    ]
    if shown.commune is not None:
        where.append(WorklistItem.code_commune == shown.commune)
    if shown.campagne is not None:
        where.append(WorklistItem.campagne == shown.campagne)
    return where


def my_worklist(
    session: Session,
    login: str,
    secteurs: Sequence[str],
    *,
    shown: ListFilter = ListFilter(),
    offset: int = 0,
    limit: int = WORKLIST_PAGE_SIZE,
) -> list[WorklistRow]:
    """My claimed household first, then the waiting ones of my sectors, in the order they are handed
    out (most urgent first): `limit` of them from `offset`, those `shown` only."""
    # Plain columns, not ORM objects: this page is the most loaded one.
    query = (
        select(*_ROW_COLUMNS)
        .where(*_listed(login, secteurs, shown))
        # HANDOUT_ORDER ends with the id: each household keeps its place from one page to the next.
        .order_by(case((WorklistItem.statut == IN_PROGRESS, 0), else_=1), *HANDOUT_ORDER)
        .offset(offset)
        .limit(limit)
    )
    return [WorklistRow(**row._mapping) for row in session.execute(query)]


def count_worklist(
    session: Session, login: str, secteurs: Sequence[str], shown: ListFilter = ListFilter()
) -> int:
    """How many households `my_worklist` has in all, across its pages."""
    return (
        session.scalar(select(func.count()).select_from(WorklistItem).where(*_listed(login, secteurs, shown)))
        or 0
    )


def _campaigns(session: Session, *where: ColumnElement[bool]) -> list[str]:
    return list(
        session.scalars(
            select(WorklistItem.campagne).where(*where).distinct().order_by(WorklistItem.campagne)
        )
    )


def worklist_campaigns(session: Session, login: str, secteurs: Sequence[str]) -> list[str]:
    """The campaigns of the households of my list, for its filter."""
    return _campaigns(session, *_listed(login, secteurs, ListFilter()))


def sector_campaigns(session: Session, secteurs: Sequence[str]) -> list[str]:
    """The campaigns that ever had a household in these sectors, whatever its line's state: what a call
    list may be filtered by (a campaign whose last household was just handled stays one)."""
    return _campaigns(session, WorklistItem.code_commune.in_(list(secteurs)))


def holds_one(session: Session, login: str, secteurs: Sequence[str]) -> bool:
    """Whether `login` holds a household of these sectors (« Reprendre mon foyer en cours »)."""
    return (
        session.scalar(
            select(WorklistItem.id).where(*_listed(login, secteurs, ListFilter()), _held_by(login)).limit(1)
        )
        is not None
    )


def count_free(
    session: Session,
    login: str,
    secteurs: Sequence[str],
    now: dt.datetime,
    closed: Collection[str] = (),
) -> int:
    """How many households of these sectors `login` can be given now (not claimed, not given back by
    `login`, not of a campaign whose calling hours are `closed`)."""
    return (
        session.scalar(
            select(func.count())
            .select_from(WorklistItem)
            .where(
                WorklistItem.code_commune.in_(list(secteurs)),
                waiting_for(login),
                WorklistItem.appel_a_partir_de <= now,
                WorklistItem.campagne.not_in(list(closed)),
            )
        )
        or 0
    )


def closed_campaigns(
    session: Session, secteurs: Sequence[str], now: dt.datetime, config_dir: Path | None
) -> dict[str, CallHours]:
    """The campaigns of the households waiting or held in these sectors that may not be called at
    `now`: calling hours closed (read from `config_dir`; none when it is None), or file unreadable."""
    if config_dir is None:
        return {}
    names = session.scalars(
        select(WorklistItem.campagne)
        .where(
            WorklistItem.code_commune.in_(list(secteurs)),
            WorklistItem.statut.in_([TO_CALL, IN_PROGRESS]),  # a held line may be abandoned and taken over
        )
        .distinct()
    )
    closed = {}
    for name in names:
        try:
            campaign = find_campaign(config_dir, name)
        except OutreachError:
            closed[name] = CallHours(name, None, "fichier de campagne introuvable ou invalide")
            continue
        reopens = outreach_worklist.calls_reopen(campaign.fenetres, now)
        if reopens is not None:
            closed[name] = CallHours(campaign.campagne.titre, reopens, _hours(campaign.fenetres))
    return closed


def _hours(window: WindowSection) -> str:
    """`du lundi au vendredi, de 09:00 à 18:00` (`le samedi`, `les lundi et jeudi`…)."""
    days = [day for day in WEEKDAYS if day in window.jours]
    positions = [WEEKDAYS.index(day) for day in days]
    if len(days) == 1:
        named = f"le {days[0]}"
    elif len(days) > 2 and positions == list(range(positions[0], positions[-1] + 1)):
        named = f"du {days[0]} au {days[-1]}"
    else:
        named = f"les {', '.join(days[:-1])} et {days[-1]}"
    return f"{named}, de {window.heure_debut:%H:%M} à {window.heure_fin:%H:%M}, hors jours fériés"


def called_back_at(session: Session, row_id: int, secteurs: Sequence[str]) -> dt.datetime | None:
    """When the household of row `row_id` (of these sectors) will be called again, if it is waiting."""
    start = session.scalar(
        select(WorklistItem.appel_a_partir_de).where(
            WorklistItem.id == row_id,
            WorklistItem.code_commune.in_(list(secteurs)),
            WorklistItem.statut == TO_CALL,
        )
    )
    return None if start is None else french.utc(start)


def next_callable(
    session: Session,
    login: str,
    secteurs: Sequence[str],
    now: dt.datetime,
    closed: Mapping[str, CallHours] = MappingProxyType({}),
) -> dt.datetime | None:
    """When `login` may next be given a household of these sectors, if none now: households planned
    later, and those of the campaigns whose calling hours are `closed` (not those `login` gave back,
    nor those of a campaign whose file is unreadable)."""
    rows = session.execute(
        select(
            WorklistItem.campagne,
            func.min(WorklistItem.appel_a_partir_de),
            func.min(case((WorklistItem.appel_a_partir_de > now, WorklistItem.appel_a_partir_de))),
        )
        .where(WorklistItem.code_commune.in_(list(secteurs)), waiting_for(login))
        .group_by(WorklistItem.campagne)
    )
    moments = []
    for campaign, first, later in rows:
        if campaign not in closed:
            if later is not None:
                moments.append(french.utc(later))
            continue
        reopens = closed[campaign].reopens
        if reopens is not None:
            moments.append(max(french.utc(first), reopens))
    return min(moments, default=None)


def claim_next(
    engine: Engine,
    login: str,
    secteurs: Sequence[str],
    *,
    now: dt.datetime | None = None,
    config_dir: Path | None = None,
) -> int | None:
    """Claim the next household of my sectors (my unfinished one first); its row id, or None.

    With `config_dir`, no household is handed out while its campaign's calling hours are closed.
    """
    moment = now or dt.datetime.now(dt.UTC)
    # Read before the claim's transaction: on SQLite it holds the database's write lock.
    with Session(engine) as session:
        closed = closed_campaigns(session, secteurs, moment, config_dir)
    for _ in range(MAX_CLAIM_TRIES):
        # The connection's transaction is the claim's: the session joins it and `begin()` commits it.
        with engine.begin() as connection:
            if connection.dialect.name == "sqlite":
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            with Session(bind=connection) as session:
                item = outreach_worklist.claim_next(
                    session, worker=login, now=moment, communes=list(secteurs), closed_campaigns=closed
                )
                if item is None:
                    return None
                row_id, opposed = item.id, bool(subjects.opposed(session, [item.id_foyer], now=moment))
                if opposed:
                    item.statut, item.attribue_a, item.attribue_le = OPPOSED, None, None
                    session.flush()
        if not opposed:
            return row_id
    return None


# Why the vault is searched for a number (kept in the audit log, never the number).
CALLER_PURPOSE = "rappel d'un foyer par un travailleur social"


def find_caller(
    session: Session,
    keyring: Keyring,
    login: str,
    secteurs: Sequence[str],
    number: str,
    *,
    now: dt.datetime,
    config_dir: Path,
) -> int | None:
    """The line of the household of my sectors that calls back from `number` (the most urgent of its
    lines still to handle), None when no such household has it; `WorklistError` when the number
    cannot be read. The search is audited: commit the session even when nothing is found.

    Only the households of lines not done, in my sectors, whose campaign's approved exchange lets the
    card show the phone, are compared (decrypted in memory; the audit log keeps the purpose and the
    counts, never the number): the search shows nothing the card would not."""
    try:
        wanted = french_e164(number)
    except phonenumbers.NumberParseException:
        wanted = None
    if wanted is None:
        raise WorklistError(
            "Numéro illisible : écrivez-le tel que votre téléphone l'affiche, par exemple 06 12 34 56 78 "
            "ou +262 692 12 34 56."
        )
    lines = session.execute(
        select(WorklistItem.id, WorklistItem.id_foyer, WorklistItem.campagne, WorklistItem.launch_id)
        .where(
            WorklistItem.code_commune.in_(list(secteurs)),
            WorklistItem.statut.in_((TO_CALL, IN_PROGRESS)),
        )
        .order_by(*HANDOUT_ORDER)
    ).all()
    # Each launch's card shows the phone under its own approval.
    shown: dict[tuple[str, int | None], bool] = {}
    for campaign, launch_id in {(line.campagne, line.launch_id) for line in lines}:
        try:
            authorisation, _ = call_authorisation(
                session, keyring, find_campaign(config_dir, campaign), now, launch_id
            )
        except OutreachError:
            authorisation = None
        shown[campaign, launch_id] = authorisation is not None and "telephone" in authorisation.fields
    candidates = [line for line in lines if shown[line.campagne, line.launch_id]]
    found = vault.households_with(
        session,
        keyring,
        [line.id_foyer for line in candidates],
        "telephone",
        {wanted},
        purpose=CALLER_PURPOSE,
        actor=login,
    ).get(wanted, set())
    return next((int(line.id) for line in candidates if line.id_foyer in found), None)


def claim_caller(
    engine: Engine, row_id: int, login: str, secteurs: Sequence[str], *, now: dt.datetime
) -> int:
    """Claim line `row_id` for me, whose household calls back (`find_caller`): whatever its calling
    time; `WorklistError` when a colleague holds it, it was handled meanwhile, or the household
    objected since (its line is then set aside, as `claim_next` does)."""
    with engine.begin() as connection:
        if connection.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        with Session(bind=connection) as session:
            try:
                item = outreach_worklist.claim_callback(
                    session, row_id, worker=login, now=now, communes=list(secteurs)
                )
            except WorklistItemUnavailable as exc:
                raise _as_sentence(exc) from None
            if not subjects.opposed(session, [item.id_foyer], now=now):
                return row_id
            item.statut, item.attribue_a, item.attribue_le = OPPOSED, None, None
            session.flush()
    raise WorklistError(
        "Ce foyer s'est opposé à être contacté (droit d'opposition) : sa fiche n'est plus proposée. "
        "Répondez-lui sans la liste ; pour toute question sur son opposition, voyez le délégué à la "
        "protection des données."
    )


def open_claimed(
    session: Session, row_id: int, login: str, secteurs: Sequence[str], *, now: dt.datetime | None = None
) -> WorklistItem:
    """The row `row_id` if `login` holds it in their `secteurs`, its claim renewed (they are working on
    it); else `WorklistError` (a card is shown to its holder only, in their sectors)."""
    try:
        return outreach_worklist.renew_claim(
            session, row_id, worker=login, now=now or dt.datetime.now(dt.UTC), communes=secteurs
        )
    except WorklistItemOutsideSectors as exc:
        raise _as_sentence(exc) from None
    except WorklistItemUnavailable:
        raise WorklistError(
            "Ce foyer ne vous est pas attribué (déjà traité, libéré ou pris par un collègue). "
            "Revenez à votre liste et prenez le foyer suivant."
        ) from None


def release(session: Session, row_id: int, login: str) -> None:
    """Give the household back to the list, for a colleague."""
    try:
        outreach_worklist.release(session, row_id, worker=login)
    except WorklistItemUnavailable as exc:
        raise _as_sentence(exc) from None


def close_with_outcome(
    session: Session,
    row_id: int,
    login: str,
    *,
    resultat: str,
    montant: float | None = None,
    commentaire: str | None = None,
    now: dt.datetime | None = None,
    config_dir: Path | None = None,
) -> None:
    """Record the call's outcome (the call results, validated by outreach); the row is done, or comes
    back after `injoignable` / `message_laisse`: the next day, within its campaign's calling hours
    (read from `config_dir`)."""
    item = session.get(WorklistItem, row_id)
    window = call_window(config_dir, item.campagne) if item is not None and config_dir else None
    try:
        outreach_worklist.complete(
            session,
            row_id,
            worker=login,
            resultat=resultat,
            now=now or dt.datetime.now(dt.UTC),
            montant=montant,
            commentaire=commentaire,
            window=window,
        )
    except WorklistItemUnavailable as exc:
        raise _as_sentence(exc) from None


def recent_result(session: Session, row_id: int, login: str, now: dt.datetime) -> Outcome | None:
    """The call result `login` recorded for the row's household in the last `SENT_AGAIN_WITHIN`, if
    any: a result sent for a row no longer held is then the same form sent again (a double click, a
    page sent again), or another one sent from a second tab."""
    item = session.get(WorklistItem, row_id)
    if item is None:
        return None
    return session.scalars(
        select(Outcome)
        .where(
            Outcome.id_foyer == item.id_foyer,
            Outcome.launch_id == item.launch_id,
            Outcome.acteur == login,
            Outcome.enregistre_le >= now - SENT_AGAIN_WITHIN,
        )
        .order_by(Outcome.id.desc())
    ).first()


def released_by(session: Session, row_id: int, login: str) -> bool:
    """Whether the row is waiting because `login` gave it back (a release sent again is told as done)."""
    item = session.get(WorklistItem, row_id)
    return item is not None and item.remis_par == login and item.attribue_a is None


def colleagues_for(session: Session, row_id: int, login: str) -> int:
    """How many other active social workers have the row's commune in their sectors: none, and a
    household given back waits for nobody."""
    item = session.get(WorklistItem, row_id)
    if item is None:
        return 0
    return sum(
        1
        for account in list_accounts(session)
        if account.role == "travailleur_social"
        and account.active
        and account.login != login
        and item.code_commune in account.secteurs
    )


def call_window(config_dir: Path, campaign: str) -> WindowSection:
    """The campaign's calling hours; the default ones (working days, 9 am to 6 pm) when its file is
    gone or broken."""
    try:
        return find_campaign(config_dir, campaign).fenetres
    except OutreachError:
        return WindowSection()
