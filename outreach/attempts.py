"""Producing one attempt of a campaign's sequence for a set of households: reveal, render, write, record.

Every file holding personal data is written by `privacy.retention.write_personal_output` under the
campaign's approved exchange (which checks the fields, records the retention and appends the audit
entry with the file's hash). The contact history records each household reached, with the moment
the message is planned for: the next moment the channel's sending window allows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
import polars as pl
from sqlalchemy import insert
from sqlalchemy.orm import Session

from outreach.campaigns import Campaign
from outreach.channels import (
    CHANNEL_FIELDS,
    CHANNEL_KEY_FIELDS,
    build_email,
    worklist_xlsx,
    zip_files,
)
from outreach.letters import LEFT_OUT_NAME, PDF_NAME, amounts_kept_whole, print_letters
from outreach.models import Contact, WorklistItem
from outreach.outcomes import record_outcome
from outreach.questionnaires import reference as questionnaire_reference
from outreach.templates import Renderer, format_estimate
from outreach.windows import next_allowed
from privacy import vault
from privacy.exchanges import Authorisation
from privacy.keys import Keyring
from privacy.retention import write_personal_output
from rules.french import french_date


def is_mobile(number: str) -> bool:
    """An SMS can only reach a mobile number (E.164 as stored by the vault)."""
    try:
        parsed = phonenumbers.parse(number, "FR")
    except phonenumbers.NumberParseException:
        return False
    return phonenumbers.number_type(parsed) in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    )


@dataclass(frozen=True)
class OutputFile:
    """One written output: what it is, where, its hash and how many households it holds."""

    label: str
    path: Path
    sha256: str
    households: int


@dataclass(frozen=True)
class AttemptReport:
    """What one attempt produced."""

    tentative: int
    canal: str
    foyers: int
    sans_contact_valide: int
    prevu_le: dt.datetime
    outputs: tuple[OutputFile, ...]
    # Filled in when the e-mails were handed to an SMTP server (`outreach.sending`): how many it took,
    # and why some were not (no address in it), None if all were.
    courriels_envoyes: int | None = None
    echec_envoi: str | None = None


@dataclass(frozen=True)
class AttemptJob:
    """Everything needed to produce attempts of one launch."""

    session: Session
    keyring: Keyring
    authorisation: Authorisation
    renderer: Renderer
    campaign: Campaign
    launch_id: int
    out_dir: Path
    actor: str
    now: dt.datetime
    commune_names: Mapping[str, str]


def _context(
    job: AttemptJob, household: dict[str, Any], contact: Mapping[str, str | None], planned: dt.datetime
) -> dict[str, Any]:
    rules = str(household["regles"] or household["regle"]).split(",")
    context = job.renderer.base_context(rules, first_contact=bool(household["_first"]))
    context.update({field: contact.get(field) or "" for field in CHANNEL_FIELDS[str(household["_canal"])]})
    context.update(
        {
            "montant_estime": format_estimate(household.get("montant_estime")),
            "motifs": household.get("explication") or "",
            "commune": job.commune_names.get(str(household["code_commune"]), household["code_commune"]),
            "date": french_date(planned.date()),
            "reference": questionnaire_reference(job.launch_id, int(household["rang"])),
        }
    )
    return context


def produce_attempt(
    job: AttemptJob, index: int, households: pl.DataFrame, *, first_contact: bool
) -> AttemptReport:
    """Produce attempt `index` (0-based) of the sequence for `households` (selection rows)."""
    attempt = job.campaign.tentatives[index]
    channel = attempt.canal
    zone = ZoneInfo(job.campaign.fenetres.fuseau)
    planned = next_allowed(job.campaign.fenetres, channel, job.now).astimezone(zone)
    planned_utc = planned.astimezone(dt.UTC)
    ids = households["id_foyer"].to_list()
    contacts = vault.reveal(
        job.session,
        job.keyring,
        job.authorisation,
        ids,
        CHANNEL_FIELDS[channel],
        actor=job.actor,
        now=job.now,
    )
    rows: list[tuple[dict[str, Any], dict[str, Any], Any]] = []
    missing = 0
    for household in households.sort("rang").iter_rows(named=True):
        contact = contacts.get(household["id_foyer"], {})
        if not all(contact.get(f) for f in CHANNEL_KEY_FIELDS[channel]) or (
            channel == "sms" and not is_mobile(str(contact.get("telephone")))
        ):
            missing += 1
            continue
        household = {**household, "_first": first_contact, "_canal": channel}
        message = job.renderer.render(
            attempt, _context(job, household, contact, planned), first_contact=first_contact
        )
        rows.append((household, dict(contact), message))

    # One file per production: a follow-up never overwrites an earlier batch of the same attempt.
    # Named at the Caf's hour (the campaign's zone), as every time it shows: not UTC.
    local = job.now.astimezone(ZoneInfo(job.campaign.fenetres.fuseau))
    stem = f"{job.campaign.id}-lancement{job.launch_id}-t{index + 1}-{channel}-{local:%Y%m%dT%H%M%S}"
    outputs: list[OutputFile] = []
    # What the files hold: the contact fields, and what they tell of the detection (checked against the
    # exchange's approval when written).
    fields = [*CHANNEL_FIELDS[channel], *job.renderer.disclosed(attempt)]

    def write(label: str, name: str, content: pl.DataFrame | bytes | str) -> OutputFile:
        written = write_personal_output(
            job.session,
            job.keyring,
            job.authorisation,
            job.out_dir / name,
            content,
            actor=job.actor,
            label=label,
            fields=fields,
            # Recorded for each household, so that its access report names every list it was on.
            households=[household["id_foyer"] for household, _, _ in rows],
            now=job.now,
        )
        output = OutputFile(label, written.path, written.sha256, len(rows))
        outputs.append(output)
        return output

    if rows and channel == "sms":
        frame = pl.DataFrame(
            {
                "telephone": [c["telephone"] for _, c, _ in rows],
                "message": [m.text for _, _, m in rows],
                "envoi_prevu_le": [planned.isoformat(timespec="minutes")] * len(rows),
                "encodage": [m.sms.encoding if m.sms else "" for _, _, m in rows],
                "segments": [m.sms.segments if m.sms else 0 for _, _, m in rows],
            }
        )
        write(f"SMS {job.campaign.id} tentative {index + 1}", f"{stem}.csv", frame)
    elif rows and channel == "email":
        # Each message is built, serialised and archived before the next: held as message objects
        # until the archive was written, they made half of a launch's peak memory.
        emails = (
            (
                f"{household['rang']:05d}-{household['id_foyer']}.eml",
                build_email(
                    sender_name=job.campaign.campagne.expediteur,
                    sender_address=job.campaign.campagne.courriel_expediteur,
                    to=str(contact["email"]),
                    subject=message.subject or job.campaign.campagne.titre,
                    text=message.text,
                    html=message.html or "",
                ).as_bytes(),
            )
            for household, contact, message in rows
        )
        # Handed to the SMTP server once the launch is recorded (`outreach.sending`).
        write(f"Courriels {job.campaign.id} tentative {index + 1}", f"{stem}.zip", zip_files(emails))
    elif rows and channel == "appel":
        frame = pl.DataFrame(
            {
                "rang": [h["rang"] for h, _, _ in rows],
                "priorite": [h["priorite"] for h, _, _ in rows],
                "civilite": [c.get("civilite") or "" for _, c, _ in rows],
                "nom": [c.get("nom") or "" for _, c, _ in rows],
                "prenom": [c.get("prenom") or "" for _, c, _ in rows],
                "telephone": [c["telephone"] for _, c, _ in rows],
                "commune": [job.commune_names.get(h["code_commune"], h["code_commune"]) for h, _, _ in rows],
                "distance_services_km": [h["distance_services_km"] for h, _, _ in rows],
                "droits": [h["regles"] for h, _, _ in rows],
                "montant_estime": [h["montant_estime"] for h, _, _ in rows],
                "motifs": [h.get("explication") or "" for h, _, _ in rows],
                "script": [m.text for _, _, m in rows],
                "appeler_a_partir_de": [planned.isoformat(timespec="minutes")] * len(rows),
                "resultat": [""] * len(rows),
                # Filled in by whoever calls, so that the sheet goes back as is to `uptake outcomes import`.
                "date": [""] * len(rows),
                "montant": [""] * len(rows),
                "campagne": [job.campaign.id] * len(rows),
                "lancement": [job.launch_id] * len(rows),
                "id_foyer": [h["id_foyer"] for h, _, _ in rows],
            },
            strict=False,
        )
        write(
            f"Liste d'appels {job.campaign.id} tentative {index + 1}",
            f"{stem}.xlsx",
            worklist_xlsx(frame, stem),
        )
        write(f"Liste d'appels {job.campaign.id} tentative {index + 1} (CSV)", f"{stem}.csv", frame)
        job.session.execute(
            insert(WorklistItem),
            [
                {
                    "launch_id": job.launch_id,
                    "campagne": job.campaign.id,
                    "id_foyer": h["id_foyer"],
                    "regle": h["regle"],
                    "tentative": index + 1,
                    "rang": h["rang"],
                    "priorite": h["priorite"],
                    "montant_estime": h["montant_estime"],
                    "code_commune": h["code_commune"],
                    "distance_services_km": h["distance_services_km"],
                    "motifs": h.get("explication") or "",
                    "statut": "a_appeler",
                    "appel_a_partir_de": planned_utc,
                    "cree_le": job.now,
                }
                for h, _, _ in rows
            ],
        )
    elif rows and channel == "courrier":
        letters = [(f"{h['rang']:05d}-{h['id_foyer']}.html", m.html) for h, _, m in rows if m.html]
        printed = print_letters(
            letters, assets=job.renderer.templates_dir, duplex=job.campaign.courrier.recto_verso
        )
        # Printed from a browser when the font cannot draw them: amounts kept whole there too.
        files = [(name, amounts_kept_whole(page).encode("utf-8")) for name, page in letters]
        if printed.left_out:
            files.insert(0, (LEFT_OUT_NAME, printed.left_out_notice().encode("utf-8")))
        if printed.pdf is not None:
            files.insert(0, (PDF_NAME, printed.pdf))
        write(f"Courriers {job.campaign.id} tentative {index + 1}", f"{stem}.zip", zip_files(files))

    output_path = str(outputs[0].path) if outputs else None
    output_hash = outputs[0].sha256 if outputs else None
    if rows:
        job.session.execute(
            insert(Contact),
            [
                {
                    "launch_id": job.launch_id,
                    "campagne": job.campaign.id,
                    "id_foyer": h["id_foyer"],
                    "regle": h["regle"],
                    "canal": channel,
                    "tentative": index + 1,
                    "prevu_le": planned_utc,
                    "produit_le": job.now,
                    "fichier": output_path,
                    "fichier_sha256": output_hash,
                }
                for h, _, _ in rows
            ],
        )
    if attempt.resultat_auto:
        for household, _, _ in rows:
            record_outcome(
                job.session,
                id_foyer=household["id_foyer"],
                resultat=attempt.resultat_auto,
                acteur=job.actor,
                survenu_le=planned_utc,
                launch_id=job.launch_id,
                regle=household["regle"],
                canal=channel,
                tentative=index + 1,
                source="saisie",
                now=job.now,
            )
    return AttemptReport(index + 1, channel, len(rows), missing, planned, tuple(outputs))
