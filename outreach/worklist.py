"""Call worklists for social workers: take the next household, release it, or record the call's outcome.

The web application calls these. `claim_next` gives one worker the most urgent household not yet
handled and not held by someone else (a claim older than `stale_after` is considered abandoned; the
holder renews it with `renew_claim` whenever they open the card); on PostgreSQL the row is locked
with `FOR UPDATE SKIP LOCKED` so two workers never get the same one. A household given back with
`release` goes to a colleague: the line, waiting again, keeps in `remis_par` who gave it back, and
that worker is not handed it again until someone else has taken it. Only pseudonyms are stored here:
the name and number are revealed by the web application, for the worker, through the approved
exchange.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, or_, select, update
from sqlalchemy.orm import Session

from outreach.campaigns import WindowSection
from outreach.errors import OutcomeInvalid, OutreachError
from outreach.models import WorklistItem
from outreach.outcomes import (
    CALL_AGAIN,
    CALL_RESULTS,
    DONE,
    IN_PROGRESS,
    OUTCOMES,
    TO_CALL,
    OutcomeRecord,
    record_outcome,
)
from outreach.windows import is_allowed, next_allowed
from privacy import audit

STATUS_LABELS = {TO_CALL: "à appeler", IN_PROGRESS: "en cours", DONE: "traité"}
RETRY_AFTER = dt.timedelta(days=1)
# Long enough for a call, its notes and a call back from the household while the card stays open.
STALE_AFTER = dt.timedelta(hours=2)
# Lower `priorite` is more urgent (1 is the highest, see rules/LISEZMOI.md); households without one
# come after; then the launch's own ranking.
HANDOUT_ORDER = (WorklistItem.priorite.asc().nulls_last(), WorklistItem.rang, WorklistItem.id)


class WorklistItemUnavailable(OutreachError):
    """The household is not (or no longer) held by this worker."""

    def __init__(self, item_id: int, message: str | None = None) -> None:
        super().__init__(
            message
            or f"la ligne n°{item_id} de la liste d'appels n'est pas attribuée à votre nom "
            "(déjà traitée, ou reprise par un collègue) : prenez le foyer suivant."
        )


class WorklistItemOutsideSectors(WorklistItemUnavailable):
    """The household the worker held is no longer in their sectors: given back to the list."""

    def __init__(self, item_id: int) -> None:
        super().__init__(
            item_id,
            f"le foyer de la ligne n°{item_id} n'est plus dans vos secteurs (ils ont changé depuis que "
            "vous l'avez pris) : il est remis dans la liste, pour les collègues de sa commune ; prenez le "
            "foyer suivant.",
        )


class WorklistItemHeldByColleague(WorklistItemUnavailable):
    """The household that calls back is on a colleague's screen right now."""

    def __init__(self, item_id: int, holder: str) -> None:
        super().__init__(
            item_id,
            f"ce foyer est en cours chez votre collègue {holder} : transmettez-lui l'appel, ou demandez-lui "
            "de le remettre dans la liste.",
        )


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


# How many rows a claim tries when colleagues keep taking them first.
CLAIM_ATTEMPTS = 20


def waiting_for(worker: str) -> ColumnElement[bool]:
    """Lines waiting for a call that `worker` may be given: not those they gave back themselves."""
    return and_(
        WorklistItem.statut == TO_CALL,
        or_(WorklistItem.remis_par.is_(None), WorklistItem.remis_par != worker),
    )


def claim_next(
    session: Session,
    *,
    worker: str,
    now: dt.datetime,
    launch_id: int | None = None,
    communes: list[str] | None = None,
    closed_campaigns: Collection[str] = (),
    stale_after: dt.timedelta = STALE_AFTER,
) -> WorklistItem | None:
    """The next household for `worker` (their current one first), claimed in the session's transaction.

    Only items whose call window has opened (`appel_a_partir_de <= now`) are given, most urgent first
    (`HANDOUT_ORDER`); `communes` limits the list to a worker's sector; none of `closed_campaigns`
    (those whose calling hours are closed at `now`: see `calls_reopen`) is handed out.
    """
    moment = _utc(now)
    held_query = select(WorklistItem).where(
        WorklistItem.statut == IN_PROGRESS, WorklistItem.attribue_a == worker
    )
    if communes is not None:
        # Held from before the worker's sectors changed: not theirs to call any more.
        _give_back(session, held_query.where(WorklistItem.code_commune.not_in(communes)))
        held_query = held_query.where(WorklistItem.code_commune.in_(communes))
    held = session.scalars(held_query.limit(1)).first()
    if held is not None:
        return held
    claimable = or_(
        waiting_for(worker),
        (WorklistItem.statut == IN_PROGRESS) & (WorklistItem.attribue_le < moment - stale_after),
    )
    query = select(WorklistItem).where(WorklistItem.appel_a_partir_de <= moment, claimable)
    if launch_id is not None:
        query = query.where(WorklistItem.launch_id == launch_id)
    if communes is not None:  # an empty sector hands out nothing, never every commune
        query = query.where(WorklistItem.code_commune.in_(communes))
    if closed_campaigns:
        query = query.where(WorklistItem.campagne.not_in(list(closed_campaigns)))
    query = query.order_by(*HANDOUT_ORDER).limit(1)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    for _ in range(CLAIM_ATTEMPTS):
        item = session.scalars(query).first()
        if item is None:
            return None
        # A conditional update keeps the claim safe where row locks do not exist (SQLite): if another
        # worker took the row since it was read, nothing is updated and the next row is tried.
        taken = session.execute(
            update(WorklistItem)
            .where(WorklistItem.id == item.id, claimable)
            .values(statut=IN_PROGRESS, attribue_a=worker, attribue_le=moment, remis_par=None)
            .execution_options(synchronize_session=False)
        )
        session.refresh(item)
        if taken.rowcount == 1:  # type: ignore[attr-defined]
            return item
    return None


def claim_callback(
    session: Session,
    item_id: int,
    *,
    worker: str,
    now: dt.datetime,
    communes: Collection[str],
    stale_after: dt.timedelta = STALE_AFTER,
) -> WorklistItem:
    """The household of line `item_id`, which calls back, claimed for `worker` in their sectors
    `communes`: whatever its calling time (after « message laissé » it waits for the next calling
    day, but it is on the line now) and even if `worker` gave it back earlier. A colleague's fresh
    claim is kept (`WorklistItemHeldByColleague`); a line done or outside the sectors is
    `WorklistItemUnavailable`."""
    moment = _utc(now)
    item = session.get(WorklistItem, item_id)
    if item is None or item.code_commune not in communes:
        raise WorklistItemUnavailable(item_id)
    if item.statut == IN_PROGRESS and item.attribue_a == worker:
        item.attribue_le = moment
        session.flush()
        return item
    claimable = or_(
        WorklistItem.statut == TO_CALL,
        (WorklistItem.statut == IN_PROGRESS) & (WorklistItem.attribue_le < moment - stale_after),
    )
    taken = session.execute(
        update(WorklistItem)
        .where(WorklistItem.id == item_id, claimable)
        .values(statut=IN_PROGRESS, attribue_a=worker, attribue_le=moment, remis_par=None)
        .execution_options(synchronize_session=False)
    )
    session.refresh(item)
    if taken.rowcount == 1:  # type: ignore[attr-defined]
        return item
    if item.statut == IN_PROGRESS and item.attribue_a is not None:
        raise WorklistItemHeldByColleague(item_id, item.attribue_a)
    raise WorklistItemUnavailable(item_id)


def next_calling_day(window: WindowSection, now: dt.datetime) -> dt.datetime:
    """The opening of the calling day after `now`'s (in the window's time zone)."""
    zone = ZoneInfo(window.fuseau)
    tomorrow = _utc(now).astimezone(zone).date() + dt.timedelta(days=1)
    return next_allowed(window, "appel", dt.datetime.combine(tomorrow, dt.time(), tzinfo=zone))


def calls_reopen(window: WindowSection, now: dt.datetime) -> dt.datetime | None:
    """When calls may be made again under `window`, if its hours are closed at `now` (nobody is asked
    to call at 8 pm, on a Sunday or a public holiday); None when they are open."""
    return None if is_allowed(window, "appel", now) else next_allowed(window, "appel", now)


def _held(session: Session, item_id: int, worker: str) -> WorklistItem:
    item = session.get(WorklistItem, item_id)
    if item is None or item.statut != IN_PROGRESS or item.attribue_a != worker:
        raise WorklistItemUnavailable(item_id)
    return item


def _give_back(session: Session, held: Select[WorklistItem]) -> None:
    """Put the lines `held` selects back on the list, for whoever has their commune (not marked as
    given back by their holder: the sectors changed, not the worker's judgement)."""
    for item in session.scalars(held):
        item.statut, item.attribue_a, item.attribue_le, item.remis_par = TO_CALL, None, None, None
    session.flush()


def give_back_held(session: Session, worker: str, *, keep: Collection[str] = ()) -> None:
    """Put back on the list, at once, the households `worker` holds outside the communes `keep`: their
    account was disabled (nothing kept) or their sectors changed, and colleagues should not wait
    `STALE_AFTER` to call them, nor the worker record a result for a household no longer theirs."""
    _give_back(
        session,
        select(WorklistItem).where(
            WorklistItem.statut == IN_PROGRESS,
            WorklistItem.attribue_a == worker,
            WorklistItem.code_commune.not_in(keep),
        ),
    )


def renew_claim(
    session: Session,
    item_id: int,
    *,
    worker: str,
    now: dt.datetime,
    communes: Collection[str] | None = None,
) -> WorklistItem:
    """The household `worker` holds, its claim renewed from `now`: they are at work on it, so it is
    not taken for abandoned and handed to a colleague while they are still on the phone.

    With `communes` (the worker's sectors), a household outside them is given back to the list and
    `WorklistItemOutsideSectors` raised: the sectors changed since it was taken."""
    item = _held(session, item_id, worker)
    if communes is not None and item.code_commune not in communes:
        _give_back(session, select(WorklistItem).where(WorklistItem.id == item.id))
        raise WorklistItemOutsideSectors(item_id)
    item.attribue_le = _utc(now)
    session.flush()
    return item


def release(session: Session, item_id: int, *, worker: str) -> None:
    """Give the household back to the list without an outcome, for a colleague: `worker` is not
    handed it again until someone else has taken it."""
    item = _held(session, item_id, worker)
    item.statut, item.attribue_a, item.attribue_le, item.remis_par = TO_CALL, None, None, worker
    session.flush()


def complete(
    session: Session,
    item_id: int,
    *,
    worker: str,
    resultat: str,
    now: dt.datetime,
    montant: float | None = None,
    commentaire: str | None = None,
    window: WindowSection | None = None,
) -> OutcomeRecord:
    """Record the call's outcome, one of `CALL_RESULTS` (audited); after `injoignable` or
    `message_laisse` the household comes back on the campaign's next calling day, from the opening of
    its calling `window` (a no-answer on Tuesday at 6.05 pm is called back on Wednesday morning, one on
    Friday evening on Monday morning); without a window, `RETRY_AFTER` later."""
    # Taken by a conditional update first, which holds the row until the commit: the same result sent
    # twice at once (a double press on Enter) is recorded once, the second finding the row no longer
    # held (`WorklistItemUnavailable`, which the caller tells as « déjà enregistré »).
    taken = session.execute(
        update(WorklistItem)
        .where(
            WorklistItem.id == item_id, WorklistItem.statut == IN_PROGRESS, WorklistItem.attribue_a == worker
        )
        .values(attribue_le=_utc(now))
    )
    if getattr(taken, "rowcount", 0) != 1:
        raise WorklistItemUnavailable(item_id)
    item = _held(session, item_id, worker)
    if resultat not in CALL_RESULTS:
        raise OutcomeInvalid(
            f"« {OUTCOMES.get(resultat, resultat)} » n'est pas un résultat d'appel",
            "choisissez un résultat de la liste proposée",
        )
    outcome = record_outcome(
        session,
        id_foyer=item.id_foyer,
        resultat=resultat,
        acteur=worker,
        montant=montant,
        launch_id=item.launch_id,
        regle=item.regle,
        canal="appel",
        tentative=item.tentative,
        source="saisie",
        commentaire=commentaire,
        now=now,
    )
    item.statut = TO_CALL if resultat in CALL_AGAIN else DONE
    if resultat in CALL_AGAIN:
        # Stored in UTC: SQLite keeps no time zone.
        item.appel_a_partir_de = (
            _utc(now) + RETRY_AFTER if window is None else _utc(next_calling_day(window, now))
        )
    item.attribue_a, item.attribue_le = None, None
    session.flush()
    # Who recorded what about whom, as for the card's consultation (the note's text stays out).
    audit.append(
        session,
        actor=worker,
        action="appel.resultat",
        object_ref=item.id_foyer,
        details={
            "campagne": item.campagne,
            "tentative": item.tentative,
            "resultat": resultat,
            "note": commentaire is not None,
        },
    )
    return outcome
