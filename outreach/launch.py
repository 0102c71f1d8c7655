"""Launching a campaign on a detection run, and producing its follow-up attempts when they fall due.

A launch is one transaction: the processing-register entry and the approved exchange are checked
first (refused → nothing is recorded and nothing is written), then every flagged household gets its
arm or its exclusion reason, then the first attempt is produced for the contacted arm. Follow-ups
(`run_followups`) produce, for each contacted household, the next attempt of the sequence once its
delay has passed and its condition holds, within the caps. Given a relay, their e-mails are handed
to it once the transaction is committed (`outreach.sending`: each result kept as it comes).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session

from detection.geography import Geography
from detection.records import SUCCEEDED, get_run, load_flags
from outreach import oppositions
from outreach.attempts import AttemptJob, AttemptReport, produce_attempt
from outreach.campaigns import Campaign
from outreach.channels import CHANNEL_FIELDS, SmtpSettings
from outreach.errors import (
    AlreadyLaunched,
    LaunchNotFound,
    LaunchOfAnotherCampaign,
    NobodyReachable,
    OutreachError,
    RunFlagsPurged,
    RunNotFound,
)
from outreach.history import load_history
from outreach.holdout import CONTACTED, HOLDOUT
from outreach.models import IN_FLIGHT, RESERVED, SENT, Assignment, Contact, Launch, Outcome
from outreach.outcomes import CONCLUSIVE, STOPPING, UNDELIVERABLE
from outreach.selection import NO_CHANNEL, naive_utc, select_households
from outreach.sending import send_pending_emails
from outreach.templates import Renderer
from outreach.windows import check_delivery_window
from privacy import audit, exchanges, vault
from privacy.errors import ExchangeRefused, PrivacyError
from privacy.exchanges import Authorisation
from privacy.keys import Keyring
from privacy.models import Exchange, RegisterEntry


class RegisterEntryMissing(OutreachError):
    """The campaign points to no entry of the processing register."""

    def __init__(self, campaign: str, code: str) -> None:
        super().__init__(
            f"campagne `{campaign}` : l'entrée « {code} » n'existe pas dans le registre des traitements. "
            "Pas d'entrée, pas de campagne : chargez-la dans le registre ou corrigez `campagne.registre`."
        )


@dataclass(frozen=True)
class OutreachEnv:
    """What producing outputs needs: the database, the keys, the geography, the texts, who acts."""

    engine: Engine
    keyring: Keyring
    geography: Geography
    templates_dir: Path
    actor: str = "uptake"


@dataclass(frozen=True)
class LaunchReport:
    """What a launch decided and produced."""

    launch_id: int
    campaign: str
    run_id: int
    signales: int
    contactes: int
    temoins: int
    exclusions: dict[str, int]
    attempts: tuple[AttemptReport, ...]
    out_dir: Path


def campaign_fields(renderer: Renderer) -> list[str]:
    """Every exchange field the outputs of `renderer`'s campaign hold (what its exchange must approve):
    the contact fields of its channels, and what its lists and messages tell of the detection."""
    return sorted(
        {
            field
            for attempt in renderer.campaign.tentatives
            for field in (*CHANNEL_FIELDS[attempt.canal], *renderer.disclosed(attempt))
        }
    )


def authorise_campaign(
    session: Session, keyring: Keyring, renderer: Renderer, now: dt.datetime, exchange_id: int | None = None
) -> Authorisation:
    """The approved exchange covering the fields of `renderer`'s campaign: the one named, or the newest
    that fits when those that fit share one recipient and purpose (`ExchangeRefused` otherwise)."""
    campaign = renderer.campaign
    if session.get(RegisterEntry, campaign.campagne.registre) is None:
        raise RegisterEntryMissing(campaign.id, campaign.campagne.registre)
    fields = campaign_fields(renderer)
    wanted = exchange_id or campaign.campagne.echange
    if wanted is not None:
        authorisation = exchanges.authorise(session, keyring, wanted, fields, now=now)
        if authorisation.register_code != campaign.campagne.registre:
            raise ExchangeRefused(
                wanted, [f"cet échange relève de l'entrée « {authorisation.register_code} » du registre"]
            )
        return authorisation
    candidates = [
        e
        for e in exchanges.list_exchanges(session, exchanges.APPROVED)
        if e.register_code == campaign.campagne.registre
    ]
    reasons: list[str] = []
    fitting: list[tuple[Exchange, Authorisation]] = []
    for exchange in sorted(candidates, key=lambda e: e.id, reverse=True):
        try:
            fitting.append((exchange, exchanges.authorise(session, keyring, exchange.id, fields, now=now)))
        except ExchangeRefused as refused:
            reasons.extend(f"n°{exchange.id} : {r}" for r in refused.reasons)
    if fitting:
        ambiguous = exchanges.several_scopes([e for e, _ in fitting], f"la campagne « {campaign.id} »")
        if ambiguous is not None:
            raise ExchangeRefused(None, [ambiguous])
        return fitting[0][1]
    # A request the DPO has not decided yet is the likeliest cause: say so rather than let the data
    # team file a second request.
    reasons.extend(
        f"l'échange n°{e.id} attend la décision du DPO (uptake exchanges approve {e.id})"
        for e in sorted(exchanges.list_exchanges(session, exchanges.REQUESTED), key=lambda e: e.id)
        if e.register_code == campaign.campagne.registre
    )
    raise ExchangeRefused(
        None,
        [
            f"aucun échange approuvé par le DPO pour l'entrée « {campaign.campagne.registre} » du registre "
            f"ne couvre les champs {', '.join(fields)}",
            *reasons,
        ],
    )


def with_known_contacts(flags: pl.DataFrame, usable: pl.DataFrame) -> pl.DataFrame:
    """A channel is usable only if the extract says so AND the vault holds a valid value for it.

    Contacts known invalid (rejected at the vault import) or absent from the vault are thus never
    planned; `usable` is `privacy.vault.usable_channels` (one row per household of the vault).
    """
    columns = [c for c in usable.columns if c.startswith("canal_") and c in flags.columns]
    known = usable.select("id_foyer", *(pl.col(c).alias(f"_vault_{c}") for c in columns))
    return (
        flags.join(known, on="id_foyer", how="left")
        .with_columns(
            (pl.col(c).fill_null(False) & pl.col(f"_vault_{c}").fill_null(False)).alias(c) for c in columns
        )
        .drop(f"_vault_{c}" for c in columns)
    )


def _commune_names(geography: Geography) -> dict[str, str]:
    return dict(geography.communes.select("code_commune", "nom").iter_rows())


def _utc(moment: dt.datetime) -> dt.datetime:
    return moment.replace(tzinfo=dt.UTC) if moment.tzinfo is None else moment.astimezone(dt.UTC)


def launch_campaign(
    env: OutreachEnv,
    campaign: Campaign,
    run_id: int,
    *,
    out_dir: Path,
    now: dt.datetime | None = None,
    exchange_id: int | None = None,
    smtp: SmtpSettings | None = None,
) -> LaunchReport:
    """Select, randomise, record and produce the first attempt of `campaign` on run `run_id`."""
    moment = _utc(now or dt.datetime.now(dt.UTC))
    check_delivery_window(campaign, smtp, moment)
    renderer = Renderer(env.templates_dir, campaign)
    with Session(env.engine, expire_on_commit=False) as session, session.begin():
        run = get_run(session, run_id)
        if run is None or run.status != SUCCEEDED:
            raise RunNotFound(str(run_id))
        if run.flags_purged_at is not None:
            purged = run.flags_purged_at.astimezone(ZoneInfo(campaign.fenetres.fuseau))
            raise RunFlagsPurged(run_id, purged.strftime("%d/%m/%Y"))
        earlier = session.scalars(
            select(Launch).where(Launch.campagne == campaign.id, Launch.run_id == run_id).limit(1)
        ).first()
        if earlier is not None:
            launched_on = _utc(earlier.lance_le).astimezone(ZoneInfo(campaign.fenetres.fuseau))
            raise AlreadyLaunched(campaign.id, run_id, earlier.id, launched_on.strftime("%d/%m/%Y"))
        authorisation = authorise_campaign(session, env.keyring, renderer, moment, exchange_id)
        flags = with_known_contacts(
            load_flags(env.engine, run_id, rules=campaign.campagne.regles), vault.usable_channels(session)
        )
        opposed = oppositions.opposed(session, flags["id_foyer"].to_list(), now=moment)
        history = load_history(session, campaign, moment)
        selection = select_households(
            flags, campaign, env.geography, opposed=opposed, history=history, now=moment
        )
        contacted = selection.filter(pl.col("bras") == CONTACTED)
        exclusions = dict(Counter(selection["motif_exclusion"].drop_nulls().to_list()))
        unreachable = exclusions.get(NO_CHANNEL, 0)
        if unreachable and selection.filter(pl.col("bras").is_not_null()).is_empty():
            # Typically the month's contacts not imported yet: a launch now would use up the run.
            channels = sorted({attempt.canal for attempt in campaign.tentatives})
            raise NobodyReachable(campaign.id, run_id, unreachable, channels)
        launch = Launch(
            campagne=campaign.id,
            action=campaign.campagne.action,
            run_id=run_id,
            graine=campaign.temoin.graine,
            part_temoin=campaign.temoin.part,
            config_sha256=campaign.sha256,
            acteur=env.actor,
            lance_le=moment,
            nb_signales=selection.height,
            nb_contactes=contacted.height,
            nb_temoins=selection.filter(pl.col("bras") == HOLDOUT).height,
            nb_exclus=sum(exclusions.values()),
            dossier_sorties=str(out_dir.resolve()),
            echange_id=authorisation.exchange_id,
        )
        session.add(launch)
        session.flush()
        if selection.height:
            session.execute(
                insert(Assignment),
                [{"launch_id": launch.id, **row} for row in selection.iter_rows(named=True)],
            )
        audit.append(
            session,
            actor=env.actor,
            action="campagne.lancement",
            object_ref=f"campagne:{launch.id}",
            counts={
                "signales": launch.nb_signales,
                "contactes": launch.nb_contactes,
                "temoins": launch.nb_temoins,
                "exclus": exclusions,
            },
            details={
                "campagne": campaign.id,
                "execution": run_id,
                "graine": campaign.temoin.graine,
                "part_temoin": campaign.temoin.part,
                "configuration_sha256": campaign.sha256,
                "echange": authorisation.exchange_id,
            },
        )
        job = AttemptJob(
            session,
            env.keyring,
            authorisation,
            renderer,
            campaign,
            launch.id,
            out_dir,
            env.actor,
            moment,
            _commune_names(env.geography),
        )
        reports: list[AttemptReport] = []
        first = _first_attempt_index(campaign, contacted)
        for index in sorted(first.unique().to_list()):
            group = contacted.filter(first == index)
            reports.append(produce_attempt(job, index, group, first_contact=True))
        launched = LaunchReport(
            launch.id,
            campaign.id,
            run_id,
            launch.nb_signales,
            launch.nb_contactes,
            launch.nb_temoins,
            exclusions,
            tuple(reports),
            out_dir,
        )
    # Handed to the server once the launch is recorded: each e-mail's result is kept as it comes.
    return replace(launched, attempts=tuple(_sent(env, campaign, launched.launch_id, reports, smtp, moment)))


def _first_attempt_index(campaign: Campaign, households: pl.DataFrame) -> pl.Series:
    """For each household, the first attempt of the sequence on a channel it can be reached by."""
    values = []
    for channels in households["canaux"].to_list():
        usable = set(str(channels).split(","))
        values.append(next(i for i, a in enumerate(campaign.tentatives) if a.canal in usable))
    return pl.Series("tentative", values, dtype=pl.Int32)


@dataclass(frozen=True)
class _Latest:
    """A household's latest attempt in a launch: which, since when its delay counts, and whether it is
    an e-mail that has not left yet (the next attempt waits for it)."""

    tentative: int
    since: dt.datetime
    email_unsent: bool


def _latest_contacts(session: Session, launch_id: int) -> dict[str, _Latest]:
    rows = session.execute(
        select(
            Contact.id_foyer,
            Contact.tentative,
            Contact.prevu_le,
            Contact.canal,
            Contact.envoi,
            Contact.envoye_le,
        )
        .where(Contact.launch_id == launch_id)
        .order_by(Contact.id_foyer, Contact.tentative)
    ).all()
    latest = {}
    for pseudonym, attempt, planned, channel, state, sent_at in rows:
        # A follow-up's delay counts from when the e-mail left when that is known (sent late, after a
        # refusal for now or a launch prepared without a server), else from the planned time.
        since = sent_at if state == SENT and sent_at is not None else planned
        unsent = channel == "email" and state in (None, RESERVED, IN_FLIGHT)
        latest[pseudonym] = _Latest(int(attempt), naive_utc(since), unsent)
    return latest


def followups_awaiting_email(engine: Engine, launch_id: int) -> int:
    """How many households of the launch have their next attempt held back because their last e-mail
    has not been handed to the SMTP server yet (`uptake campaigns send`, or marked sent elsewhere)."""
    with Session(engine) as session:
        return sum(1 for latest in _latest_contacts(session, launch_id).values() if latest.email_unsent)


def _outcomes_since(session: Session, ids: list[str], since: dt.datetime) -> Mapping[str, set[str]]:
    found: dict[str, set[str]] = {}
    rows = session.execute(
        select(Outcome.id_foyer, Outcome.resultat).where(
            Outcome.survenu_le >= since, Outcome.id_foyer.in_(ids)
        )
    ).all()
    for pseudonym, result in rows:
        found.setdefault(pseudonym, set()).add(result)
    return found


def _busy(session: Session, ids: list[str], now: dt.datetime, limit: int) -> set[str]:
    since = now - dt.timedelta(days=30)
    rows = session.execute(
        select(Contact.id_foyer, func.count())
        .where(
            Contact.id_foyer.in_(ids),
            Contact.prevu_le > since,
            Contact.prevu_le <= now + dt.timedelta(days=1),
        )
        .group_by(Contact.id_foyer)
    ).all()
    return {f for f, n in rows if n >= limit}


def run_followups(
    env: OutreachEnv,
    campaign: Campaign,
    launch_id: int,
    *,
    out_dir: Path,
    now: dt.datetime | None = None,
    exchange_id: int | None = None,
    smtp: SmtpSettings | None = None,
) -> list[AttemptReport]:
    """Produce every follow-up attempt of launch `launch_id` that is due at `now`."""
    moment = _utc(now or dt.datetime.now(dt.UTC))
    check_delivery_window(campaign, smtp, moment)
    renderer = Renderer(env.templates_dir, campaign)
    with Session(env.engine, expire_on_commit=False) as session, session.begin():
        launch = session.get(Launch, launch_id)
        if launch is None:
            raise LaunchNotFound(launch_id)
        if launch.campagne != campaign.id:
            raise LaunchOfAnotherCampaign(launch_id, campaign.id, launch.campagne)
        # The launch's own approval: another approved since, for other recipients, changes nothing here.
        authorisation = authorise_campaign(
            session, env.keyring, renderer, moment, exchange_id or launch.echange_id
        )
        assigned = session.execute(
            select(Assignment).where(Assignment.launch_id == launch_id, Assignment.bras == CONTACTED)
        ).scalars()
        households = pl.DataFrame(
            [
                {
                    "id_foyer": a.id_foyer,
                    "regle": a.regle,
                    "regles": a.regles,
                    "code_commune": a.code_commune,
                    "priorite": a.priorite,
                    "montant_estime": a.montant_estime,
                    "distance_services_km": a.distance_services_km,
                    "canaux": a.canaux,
                    "rang": a.rang,
                    "explication": a.explication,
                }
                for a in assigned
            ],
            schema_overrides={
                "explication": pl.String,
                "montant_estime": pl.Float64,
                "distance_services_km": pl.Float64,
            },
        )
        if households.is_empty():
            return []
        ids = households["id_foyer"].to_list()
        latest = _latest_contacts(session, launch_id)
        outcomes = _outcomes_since(session, ids, naive_utc(launch.lance_le))
        stopped = oppositions.opposed(session, ids, now=moment)
        busy = _busy(session, ids, naive_utc(moment), campaign.plafonds.tentatives_max_30_jours)
        # Keyed by (attempt, first contact?): a household never reached yet gets the rights notice.
        due: dict[tuple[int, bool], list[str]] = {}
        first = dict(zip(ids, _first_attempt_index(campaign, households).to_list(), strict=True))
        launched_at = naive_utc(launch.lance_le)
        for pseudonym, channels in households.select("id_foyer", "canaux").iter_rows():
            if pseudonym in stopped or pseudonym in busy:
                continue
            results = outcomes.get(pseudonym, set())
            if results & STOPPING:
                continue
            previous = latest.get(pseudonym)
            if previous is not None and previous.email_unsent:
                continue  # a follow-up to an e-mail that never left would make no sense
            # Never reached (no valid contact for its first attempt): the sequence goes on from there.
            last_index, last_time = (
                (previous.tentative, previous.since) if previous else (first[pseudonym] + 1, launched_at)
            )
            usable = set(str(channels).split(","))
            usable -= {UNDELIVERABLE[code][0] for code in results & UNDELIVERABLE.keys()}
            upcoming = next(
                (
                    i
                    for i in range(last_index, len(campaign.tentatives))
                    if campaign.tentatives[i].canal in usable
                ),
                None,
            )
            if upcoming is None:
                continue
            attempt = campaign.tentatives[upcoming]
            if naive_utc(moment) < last_time + dt.timedelta(days=attempt.delai_jours):
                continue
            if attempt.condition == "sans_resultat" and results & CONCLUSIVE:
                continue
            due.setdefault((upcoming, pseudonym not in latest), []).append(pseudonym)
        job = AttemptJob(
            session,
            env.keyring,
            authorisation,
            renderer,
            campaign,
            launch_id,
            out_dir,
            env.actor,
            moment,
            _commune_names(env.geography),
        )
        produced = [
            produce_attempt(
                job,
                index,
                households.filter(pl.col("id_foyer").is_in(due[index, never])),
                first_contact=never,
            )
            for index, never in sorted(due)
        ]
    return _sent(env, campaign, launch_id, produced, smtp, moment)


def _sent(
    env: OutreachEnv,
    campaign: Campaign,
    launch_id: int,
    attempts: list[AttemptReport],
    smtp: SmtpSettings | None,
    now: dt.datetime,
) -> list[AttemptReport]:
    """`attempts` once the launch's e-mails still to send are handed to `smtp` (when given): how many
    the server took, and why not the others (a refusal of the exchange included: the launch is
    recorded, its e-mails wait for `uptake campaigns send`)."""
    if smtp is None or not any(a.canal == "email" and a.foyers for a in attempts):
        return attempts
    try:
        report = send_pending_emails(env, campaign, launch_id, smtp, now=now)
    except (OutreachError, PrivacyError) as exc:
        return [
            replace(a, courriels_envoyes=0, echec_envoi=str(exc)) if a.canal == "email" else a
            for a in attempts
        ]
    done = []
    for attempt in attempts:
        sending = report.attempts.get(attempt.tentative)
        if attempt.canal == "email" and attempt.foyers:
            sent = sending.sent if sending else 0
            problem = sending.problem if sending else None
            if problem is None and sent < attempt.foyers:
                withdrawn = attempt.foyers - sent
                problem = (
                    f"{withdrawn} courriel(s) retiré(s) avant l'envoi (opposition, contact clos, adresse)"
                )
            attempt = replace(attempt, courriels_envoyes=sent, echec_envoi=problem)
        done.append(attempt)
    return done
