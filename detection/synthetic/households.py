"""Draw one chunk of synthetic Caf households (contract v1), their contacts and the ground truth.

Orders of magnitude aimed at (Caf and DREES publications): among allocataires, ~57 % tenants, ~28 %
couples, about half with children, earned income with many zeros; about a third of the households
entitled to RSA or PPA do not claim it, ~15 % for the aide au logement. The amounts of family benefits
are rounded 2025 values of the allocations familiales, the ASF and the PAJE allocation de base; they
only feed the resources of the oracle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl

from detection.contract import HOUSEHOLD_SCHEMA, RAW_IDENTIFIER, STATUTS_LOGEMENT
from detection.synthetic.communes import CommuneTable
from detection.synthetic.contacts import ContactPools, draw_channels, draw_contacts
from detection.synthetic.entitlement import BoolArray, FloatArray, Household, IntArray, entitlements

NON_TAKE_UP = {"ppa": 1 / 3, "rsa": 1 / 3, "al": 0.15}
TRUTH_COLUMNS = ("ppa_droit", "rsa_droit", "al_droit", "non_recours_ppa", "non_recours_rsa", "non_recours_al")

_ID_ALPHABET = np.frombuffer(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", dtype=np.uint8)
_ID_LENGTH = 22  # letters only, 125 random bits: no run of digits that could pass for a phone number
_EVENTS = ("naissance", "separation", "deces_conjoint", "perte_emploi")
_AF_TWO, _AF_THREE, _AF_FURTHER = 151.05, 344.61, 193.56
_ASF_PER_CHILD, _PAJE_BASE = 199.19, 184.81


@dataclass(frozen=True)
class SyntheticChunk:
    """One chunk: the extract rows, the contact rows (when asked for) and the ground truth, in order."""

    extract: pl.DataFrame
    contacts: pl.DataFrame | None
    truth: pl.DataFrame


def opaque_ids(rng: np.random.Generator, n: int) -> pl.Series:
    """Pseudonym-like tokens: 22 random letters each (contract: 16–128 chars of [A-Za-z0-9_-])."""
    letters = _ID_ALPHABET[rng.integers(0, len(_ID_ALPHABET), size=(n, _ID_LENGTH))]
    as_bytes = pl.Series("id_foyer", np.ascontiguousarray(letters).view(f"S{_ID_LENGTH}").ravel())
    return as_bytes.cast(pl.String)


def matricules(seed: int, start: int, n: int, total: int) -> pl.Series:
    """Caf-like household numbers, unique over the whole file: an affine bijection of the row index.

    7 digits while the file has at most 10 million households, 8 digits beyond.
    """
    modulus = 10_000_000 if total <= 10_000_000 else 100_000_000
    mix = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2**31,)))
    multiplier = int(mix.integers(1, modulus // 10)) * 10 + 3  # ends in 3: coprime with 10
    offset = int(mix.integers(0, modulus))
    index = np.arange(start, start + n, dtype=np.int64)
    values = (index * multiplier + offset) % modulus
    width = len(str(modulus)) - 1
    return pl.Series(RAW_IDENTIFIER, values).cast(pl.String).str.zfill(width)


def _children(rng: np.random.Generator, couple: np.ndarray, age: np.ndarray) -> IntArray:
    n = len(age)
    couple_p = [0.22, 0.24, 0.32, 0.15, 0.05, 0.02]
    single_p = [0.58, 0.21, 0.13, 0.05, 0.02, 0.01]
    kids = np.where(couple, rng.choice(6, n, p=couple_p), rng.choice(6, n, p=single_p))
    kids = np.where((age >= 58) & (rng.random(n) < 0.85), 0, kids)
    return np.where(age < 21, np.minimum(kids, 1), kids).astype(np.int64)


def _earnings(rng: np.random.Generator, works: np.ndarray) -> np.ndarray:
    amount = np.clip(rng.lognormal(np.log(1150.0), 0.55, len(works)), 80.0, 6000.0)
    return np.where(works, np.round(amount, 2), 0.0)


def _take_up(
    rng: np.random.Generator, entitled: FloatArray, share_not_claiming: float
) -> tuple[BoolArray, FloatArray, BoolArray]:
    """Who receives the benefit, what they receive (entitlement ± 1 %), who does not claim."""
    n = len(entitled)
    non_claimant = (entitled > 0) & (rng.random(n) < share_not_claiming)
    paid = (entitled > 0) & ~non_claimant
    noise = 1.0 + np.clip(rng.normal(0.0, 0.01, n), -0.03, 0.03)
    amount = np.where(paid, np.maximum(np.round(entitled * noise, 2), 0.01), 0.0)
    return paid, amount, non_claimant


def draw_chunk(
    rng: np.random.Generator,
    n: int,
    communes: CommuneTable,
    month: date,
    pools: ContactPools,
    keys: pl.Series,
    *,
    with_contacts: bool = True,
) -> SyntheticChunk:
    """`n` households with the given keys (`id_foyer` or `matricule`), drawn from `rng`."""
    where = rng.choice(len(communes), n, p=communes.weights)
    zone = communes.zones[where]

    age = np.where(
        rng.random(n) < 0.08, rng.integers(65, 91, n), np.clip(rng.normal(41, 12, n), 18, 95)
    ).astype(np.int64)
    couple_share = np.where(age < 25, 0.15, np.where(age >= 65, 0.2, 0.3))
    couple = rng.random(n) < couple_share
    children = _children(rng, couple, age)
    under3_p = np.where(age < 32, 0.35, np.where(age < 42, 0.15, 0.03))
    under3 = rng.binomial(children, under3_p).astype(np.int64)

    working_age = age < 65
    earned_claimant = _earnings(rng, working_age & (rng.random(n) < 0.6))
    earned_partner = _earnings(rng, couple & working_age & (rng.random(n) < 0.65))
    pension = rng.random(n) < 0.95
    other_p = np.where(earned_claimant > 0, 0.2, 0.55)
    other = np.where(
        working_age,
        np.where(rng.random(n) < other_p, np.round(rng.lognormal(np.log(750.0), 0.5, n), 2), 0.0),
        np.where(pension, np.round(rng.lognormal(np.log(1050.0), 0.4, n), 2), 0.0),
    )

    status = rng.choice(len(STATUTS_LOGEMENT), n, p=[0.57, 0.14, 0.15, 0.14])
    tenant = status == STATUTS_LOGEMENT.index("locataire")
    persons = 1 + couple + children
    rent_base = np.select([zone == 1, zone == 2], [620.0, 480.0], 420.0)
    rent = np.where(
        tenant, np.round(rent_base * (1 + 0.12 * (persons - 1)) * rng.lognormal(0.0, 0.25, n), 2), 0.0
    )

    # Life events: candidates drawn, then kept only where they make sense for the household.
    event_idx = rng.choice(len(_EVENTS), n, p=[0.3, 0.3, 0.05, 0.35])
    event_idx = np.where((under3 > 0) & (rng.random(n) < 0.5), 0, event_idx)  # births among young families
    fits = np.select(
        [event_idx == 0, event_idx == 1, event_idx == 2],
        [under3 > 0, ~couple, ~couple & (age >= 25)],
        working_age,
    )
    has_event = fits & (rng.random(n) < 0.18)
    recent = rng.random(n) < 0.85
    days_back = np.where(recent, rng.integers(0, 181, n), rng.integers(181, 541, n))
    isolated_parent = (
        ~couple
        & (children > 0)
        & ((under3 > 0) | (has_event & np.isin(event_idx, (1, 2)) & (days_back <= 365)))
    )

    single_parent = ~couple & (children > 0)
    family_benefits = (
        np.select([children == 2, children >= 3], [_AF_TWO, _AF_THREE + _AF_FURTHER * (children - 3)], 0.0)
        + np.where(single_parent & (rng.random(n) < 0.4), _ASF_PER_CHILD * children, 0.0)
        + np.where((under3 > 0) & (rng.random(n) < 0.7), _PAJE_BASE, 0.0)
    )
    family_benefits = np.round(family_benefits, 2)

    household = Household(
        age=age,
        couple=couple,
        children=children,
        isolated_parent=isolated_parent,
        earned_claimant=earned_claimant,
        earned_partner=earned_partner,
        other_resources=other,
        family_benefits=family_benefits,
        tenant=tenant,
        forfait_logement_status=~tenant,
        rent=rent,
        zone=zone,
    )
    rights = entitlements(household, month)
    ppa_paid, ppa_amount, ppa_nr = _take_up(rng, rights.ppa, NON_TAKE_UP["ppa"])
    rsa_paid, rsa_amount, rsa_nr = _take_up(rng, rights.rsa, NON_TAKE_UP["rsa"])
    al_paid, al_amount, al_nr = _take_up(rng, rights.al, NON_TAKE_UP["al"])

    arrears = tenant & (rng.random(n) < 0.05)
    arrears_months = np.where(arrears, np.minimum(rng.geometric(0.45, n), 12), 0)
    debt = np.where(arrears, np.round(arrears_months * rent * rng.uniform(0.6, 1.0, n), 2), 0.0)
    non_decent_p = np.select([tenant, status == STATUTS_LOGEMENT.index("heberge")], [0.04, 0.02], 0.005)
    followed_p = np.where(arrears, 0.08, 0.03)
    channels = draw_channels(rng, n)

    codes = communes.codes.gather(where)
    event = pl.Series(_EVENTS).gather(event_idx).set(pl.Series(~has_event), None)
    event_date = pl.Series(
        np.where(has_event, (np.datetime64(month) - days_back.astype("timedelta64[D]")), np.datetime64("NaT"))
    ).cast(pl.Date)

    extract = pl.DataFrame(
        {
            keys.name: keys,
            "mois_reference": pl.repeat(month, n, eager=True, dtype=pl.Date),
            "code_commune": codes,
            "age_allocataire": age,
            "en_couple": couple,
            "nb_enfants": children,
            "nb_enfants_moins_3_ans": under3,
            "revenus_activite_allocataire": earned_claimant,
            "revenus_activite_conjoint": earned_partner,
            "autres_ressources": other,
            "statut_logement": pl.Series(STATUTS_LOGEMENT).gather(status),
            "loyer": rent,
            "zone_logement": zone,
            "logement_non_decent": rng.random(n) < non_decent_p,
            "impaye_loyer_mois": arrears_months,
            "dette_locative": debt,
            "percoit_ppa": ppa_paid,
            "percoit_rsa": rsa_paid,
            "percoit_al": al_paid,
            "montant_ppa": ppa_amount,
            "montant_rsa": rsa_amount,
            "montant_al": al_amount,
            "montant_prestations_familiales": family_benefits,
            "accompagnement_social": rng.random(n) < followed_p,
            "evenement_vie": event,
            "date_evenement": event_date,
            "canal_sms": channels.mobile,
            "canal_email": channels.email,
            "canal_telephone": channels.telephone,
            "canal_courrier": channels.postal,
            "opposition_contact": rng.random(n) < 0.015,
        }
    ).cast({name: dtype for name, dtype in HOUSEHOLD_SCHEMA.items() if name != "id_foyer"})

    # Contacts come last from the stream: leaving them out does not change the extract.
    contacts = (
        draw_contacts(
            rng, pools, channels, communes.postal_codes.gather(where), communes.names.gather(where)
        ).insert_column(0, keys)
        if with_contacts
        else None
    )
    truth = pl.DataFrame(
        {
            keys.name: keys,
            "ppa_droit": rights.ppa,
            "rsa_droit": rights.rsa,
            "al_droit": rights.al,
            "non_recours_ppa": ppa_nr,
            "non_recours_rsa": rsa_nr,
            "non_recours_al": al_nr,
        }
    )
    return SyntheticChunk(extract=extract, contacts=contacts, truth=truth)
