"""The contact history across all campaigns, read for the caps of a new selection."""

from __future__ import annotations

import datetime as dt

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.campaigns import Campaign
from outreach.models import Contact, Outcome
from outreach.selection import History, naive_utc


def load_history(session: Session, campaign: Campaign, now: dt.datetime) -> History:
    """Contacts and refusals/oppositions recent enough to matter for `campaign`'s caps."""
    moment = naive_utc(now)
    caps = campaign.plafonds
    horizon = moment - dt.timedelta(days=max(caps.meme_droit_jours, caps.pause_apres_refus_jours, 30))
    contacts = session.execute(
        select(Contact.id_foyer, Contact.regle, Contact.prevu_le).where(Contact.prevu_le > horizon)
    ).all()
    outcomes = session.execute(
        select(Outcome.id_foyer, Outcome.resultat, Outcome.survenu_le).where(
            Outcome.resultat.in_(["refus", "opposition"])
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
    )
