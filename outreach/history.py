"""The contact history across all campaigns, read for the caps of a new selection."""

from __future__ import annotations

import datetime as dt

import polars as pl
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from outreach.campaigns import Campaign
from outreach.holdout import HOLDOUT
from outreach.models import Assignment, Contact, Launch, Outcome
from outreach.selection import History, naive_utc


def load_history(session: Session, campaign: Campaign, now: dt.datetime) -> History:
    """Contacts, refusals and oppositions recent enough for `campaign`'s caps; its recent holdout."""
    moment = naive_utc(now)
    caps = campaign.plafonds
    horizon = moment - dt.timedelta(days=max(caps.meme_droit_jours, caps.pause_apres_refus_jours, 30))
    # A contact is about every right the household was flagged for in that launch, not only the main one.
    rows = session.execute(
        select(Contact.id_foyer, func.coalesce(Assignment.regles, Contact.regle), Contact.prevu_le)
        .outerjoin(
            Assignment,
            (Assignment.launch_id == Contact.launch_id) & (Assignment.id_foyer == Contact.id_foyer),
        )
        .where(Contact.prevu_le > horizon)
    ).all()
    contacts = [(f, rule, m) for f, rules, m in rows for rule in str(rules).split(",")]
    outcomes = session.execute(
        select(Outcome.id_foyer, Outcome.resultat, Outcome.survenu_le).where(
            Outcome.resultat.in_(["refus", "opposition"])
        )
    ).all()
    holdout = session.scalars(
        select(Assignment.id_foyer)
        .join(Launch, Launch.id == Assignment.launch_id)
        .where(
            Launch.campagne == campaign.id,
            Launch.lance_le > moment - dt.timedelta(days=caps.meme_droit_jours),
            Assignment.bras == HOLDOUT,
        )
    ).all()
    return History(
        contacts=pl.DataFrame(
            [(f, r, naive_utc(m)) for f, r, m in contacts],
            schema={"id_foyer": pl.String, "regle": pl.String, "moment": pl.Datetime("us")},
            orient="row",
        ),
        outcomes=pl.DataFrame(
            [(f, r, naive_utc(m)) for f, r, m in outcomes],
            schema={"id_foyer": pl.String, "resultat": pl.String, "moment": pl.Datetime("us")},
            orient="row",
        ),
        holdout=frozenset(holdout),
    )
