"""Tables owned by the `outreach` package (its own declarative base; migrations in `outreach/migrations`).

Only pseudonyms (`id_foyer`) are stored here: names and contacts stay in the privacy vault and are
revealed only to write an output for an approved exchange. Ids of other packages' rows (the
detection run) are plain indexed columns, never foreign keys.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Float, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base of the `outreach` tables (names prefixed `outreach_`)."""


class Launch(Base):
    """One launch of a campaign on one detection run: its seed, configuration hash and counts."""

    __tablename__ = "outreach_launch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    campagne: Mapped[str] = mapped_column(String(100), index=True)
    action: Mapped[str] = mapped_column(String(10))
    run_id: Mapped[int] = mapped_column(Integer, index=True)
    graine: Mapped[int] = mapped_column(Integer)
    part_temoin: Mapped[float] = mapped_column(Float)
    config_sha256: Mapped[str] = mapped_column(String(64))
    acteur: Mapped[str] = mapped_column(String(100))
    lance_le: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    nb_signales: Mapped[int] = mapped_column(Integer)
    nb_contactes: Mapped[int] = mapped_column(Integer)
    nb_temoins: Mapped[int] = mapped_column(Integer)
    nb_exclus: Mapped[int] = mapped_column(Integer)
    dossier_sorties: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The approval the launch was made under: its follow-ups and call cards use it, and no other
    # (None for a launch recorded before it was kept).
    echange_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Assignment(Base):
    """A flagged household's place in one launch: its arm (`contacte`/`temoin`) or why it was left out."""

    __tablename__ = "outreach_assignment"
    __table_args__ = (UniqueConstraint("launch_id", "id_foyer", name="uq_outreach_assignment_foyer"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    launch_id: Mapped[int] = mapped_column(Integer, index=True)
    id_foyer: Mapped[str] = mapped_column(String(128), index=True)
    regle: Mapped[str] = mapped_column(String(64))
    regles: Mapped[str] = mapped_column(String(400))
    code_commune: Mapped[str] = mapped_column(String(5))
    priorite: Mapped[int | None] = mapped_column(Integer, nullable=True)
    montant_estime: Mapped[float | None] = mapped_column(Float, nullable=True)
    distance_services_km: Mapped[float | None] = mapped_column(Float, nullable=True)
    explication: Mapped[str | None] = mapped_column(Text, nullable=True)
    canaux: Mapped[str] = mapped_column(String(60))
    bras: Mapped[str | None] = mapped_column(String(10), nullable=True)
    motif_exclusion: Mapped[str | None] = mapped_column(String(40), nullable=True)
    rang: Mapped[int | None] = mapped_column(Integer, nullable=True)


# `Contact.envoi`: what became of an e-mail. Empty: still to send (prepared without a server, batch
# stopped, refused for now). What the SMTP server did: taken, address refused for good (5xx to RCPT,
# recorded « courriel non distribué »), message refused for good (5xx to DATA). Not sent: the household
# objected, or its contact ended or its address became unusable, before it went; given up, or sent by
# another tool, as the campaign manager said. `en_cours`: being sent, or a sending killed before the
# server answered (uncertain: never sent again unless asked). `inconnu`: produced before this was kept.
SENT = "remis"
REFUSED = "refuse"
REJECTED = "rejete"
OBJECTED = "opposition"
CANCELLED = "annule"
ABANDONED = "abandonne"
ELSEWHERE = "externe"
IN_FLIGHT = "en_cours"
# Claimed by a sending (`Contact.reserve_par`), not handed to the server yet.
RESERVED = "reserve"
UNKNOWN = "inconnu"
# E-mails that reached nobody: not counted as contacts.
NOT_SENT = (REFUSED, REJECTED, OBJECTED, CANCELLED, ABANDONED)


class Contact(Base):
    """The contact history: every attempt made (or planned) with a household, across all campaigns."""

    __tablename__ = "outreach_contact"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    launch_id: Mapped[int] = mapped_column(Integer, index=True)
    campagne: Mapped[str] = mapped_column(String(100))
    id_foyer: Mapped[str] = mapped_column(String(128), index=True)
    regle: Mapped[str] = mapped_column(String(64))
    canal: Mapped[str] = mapped_column(String(10))
    tentative: Mapped[int] = mapped_column(Integer)
    prevu_le: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    produit_le: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    fichier: Mapped[str | None] = mapped_column(Text, nullable=True)
    fichier_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # What became of an e-mail (see `SENT` and the other states above).
    envoi: Mapped[str | None] = mapped_column(String(10), nullable=True)
    # When the SMTP server took it (`SENT`): a follow-up's delay counts from then.
    envoye_le: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The token of the sending that reserved the e-mail (`RESERVED`), None otherwise.
    reserve_par: Mapped[str | None] = mapped_column(String(32), nullable=True)


class Outcome(Base):
    """What happened with a household: append-only, from social workers, imports and reconciliation."""

    __tablename__ = "outreach_outcome"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    id_foyer: Mapped[str] = mapped_column(String(128), index=True)
    launch_id: Mapped[int | None] = mapped_column(Integer, index=True, nullable=True)
    regle: Mapped[str | None] = mapped_column(String(64), nullable=True)
    resultat: Mapped[str] = mapped_column(String(30), index=True)
    montant: Mapped[float | None] = mapped_column(Float, nullable=True)
    canal: Mapped[str | None] = mapped_column(String(10), nullable=True)
    tentative: Mapped[int | None] = mapped_column(Integer, nullable=True)
    acteur: Mapped[str] = mapped_column(String(100))
    source: Mapped[str] = mapped_column(String(20))
    survenu_le: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    enregistre_le: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    commentaire: Mapped[str | None] = mapped_column(Text, nullable=True)


class WorklistItem(Base):
    """A household on a social workers' call list; claimed by one worker at a time ("next household")."""

    __tablename__ = "outreach_worklist"
    __table_args__ = (UniqueConstraint("launch_id", "id_foyer", "tentative", name="uq_outreach_worklist"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    launch_id: Mapped[int] = mapped_column(Integer, index=True)
    campagne: Mapped[str] = mapped_column(String(100))
    id_foyer: Mapped[str] = mapped_column(String(128), index=True)
    regle: Mapped[str] = mapped_column(String(64))
    tentative: Mapped[int] = mapped_column(Integer)
    rang: Mapped[int] = mapped_column(Integer)
    priorite: Mapped[int | None] = mapped_column(Integer, nullable=True)
    montant_estime: Mapped[float | None] = mapped_column(Float, nullable=True)
    code_commune: Mapped[str] = mapped_column(String(5))
    distance_services_km: Mapped[float | None] = mapped_column(Float, nullable=True)
    motifs: Mapped[str] = mapped_column(Text)
    statut: Mapped[str] = mapped_column(String(20), index=True)
    attribue_a: Mapped[str | None] = mapped_column(String(100), nullable=True)
    attribue_le: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    appel_a_partir_de: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    cree_le: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    # Who gave the line back to the list without calling (`outreach_0003`): it goes to a colleague.
    remis_par: Mapped[str | None] = mapped_column(String(100), nullable=True)


class QuestionnaireAnswer(Base):
    """One answer of a returned pre-diagnostic questionnaire (action 7.1): append-only, pseudonymised.

    The question's label and position are kept as they were when imported, so that the report does
    not depend on later edits of the questionnaire's file.
    """

    __tablename__ = "outreach_questionnaire_answer"
    __table_args__ = (
        UniqueConstraint("launch_id", "id_foyer", "question", name="uq_outreach_questionnaire_answer"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    launch_id: Mapped[int] = mapped_column(Integer, index=True)
    id_foyer: Mapped[str] = mapped_column(String(128), index=True)
    questionnaire: Mapped[str] = mapped_column(String(100))
    question: Mapped[str] = mapped_column(String(40))
    libelle: Mapped[str] = mapped_column(String(200))
    ordre: Mapped[int] = mapped_column(Integer)
    reponse: Mapped[str] = mapped_column(String(20))
    recu_le: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    acteur: Mapped[str] = mapped_column(String(100))
    enregistre_le: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
