"""The synthetic generator's own legislation oracle: PPA, RSA and aide au logement (tenant), vectorised.

This is deliberately independent from the `rules` catalogue: the ground truth it produces is what the
catalogue is measured against, so it must not share code with it. Sources are the legislation notes
(`shared/reference/legislation.md`) and the OpenFisca-France parameter tree (repository
openfisca/openfisca-france, `openfisca_france/parameters/…`), whose files cite the décrets and arrêtés.

Simplifications (written down so that a difference with the catalogue can be explained):

- One month, no quarterly averaging: the extract's incomes are already 3-month averages.
- Household scale of the montant forfaitaire: 1 person ×1, second person +50 %, each further person
  +30 %, +40 % per child from the third child on. Isolated parent (not in a couple, with a child under 3,
  or with children in the 12 months after a separation or a partner's death): the *majoré* amount,
  128.412 % of the base + 42.804 % per child, for both RSA and PPA.
- Forfait logement: 12 / 16 / 16.5 % of the montant forfaitaire for 1 / 2 / 3+ people (the 3-person
  amount for larger households), applied to owners and first-time buyers (`proprietaire`, `accedant`),
  people housed free (`heberge`) and tenants entitled to an aide au logement (full take-up convention).
- PPA = forfaitaire + Σ bonification + rate × earned income − max(forfaitaire, resources + forfait
  logement); resources = earned + other resources + family benefits; bonification per worker: 0 below
  59 × SMIC horaire brut, linear up to 29.101 % of the PPA base at 120 × SMIC. Paid if ≥ 15 €.
  Students, the self-employed and the 18-24 special cases are ignored.
- RSA = forfaitaire − resources (earned income counted in full) − forfait logement; eligible from 25, or
  younger with a child; not from 65 (ASPA first). Paid if ≥ 6 €. The PPA is not counted as a resource.
- Aide au logement (tenant, metropolitan general case, no colocation): max(0, min(rent, ceiling L) +
  forfait charges C − Pp) − 5 € (monthly deduction), less CRDS 0.5 %, paid if ≥ 10 €.
  Pp = P0 + Tp × (R − R0), P0 = max(P0 forfait, 8.5 % × (L + C)), Tp = TF + TL, TL from the ratio of L
  to the zone 2 ceiling (the loyer de référence). R = 12 × (90 % of earned income + other resources):
  the 10 % professional-expenses allowance stands for the tax rules; family benefits are not taxable.
  The AL barème is the one of 2024-10 (R0 of 2025-01) for every reference month: only the PPA and RSA
  values are dated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import numpy.typing as npt

from detection.synthetic.errors import SynthesisError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


# (effective date, value): the latest date not after the reference month applies.
_PPA_BASE = ((date(2023, 4, 1), 595.25), (date(2024, 4, 1), 622.63), (date(2025, 4, 1), 633.21))
_RSA_BASE = ((date(2023, 4, 1), 607.75), (date(2024, 4, 1), 635.71), (date(2025, 4, 1), 646.52))
_PPA_EARNED_RATE = ((date(2018, 8, 1), 0.61), (date(2025, 4, 1), 0.5985))
_SMIC_HORAIRE = (
    (date(2023, 1, 1), 11.27),
    (date(2023, 5, 1), 11.52),
    (date(2024, 1, 1), 11.65),
    (date(2024, 11, 1), 11.88),
)

PPA_MINIMUM = 15.0  # MS/ppa/pa_m/montant_minimum_verse.yaml
RSA_MINIMUM = 6.0
AL_MINIMUM = 10.0
BONIFICATION_MAX = 0.29101  # MS/ppa/pa_m/bonification/taux_bonification_max.yaml
BONIFICATION_START, BONIFICATION_FULL = 59.0, 120.0  # × SMIC horaire brut
MAJORATION_ISOLEMENT_BASE, MAJORATION_ISOLEMENT_CHILD = 1.28412, 0.42804
FORFAIT_LOGEMENT = {1: 0.12, 2: 0.16, 3: 0.165}

# Aide au logement, tenant, metropolitan general case. Source: OpenFisca-France
# `prestations_sociales/aides_logement/allocations_logement/locatif/formule/…`.
# Rent ceilings L, 2024-10-01 (arrêté du 27/09/2024, art. 1): `l_plafonds_loyers/par_zone/zone_N/
# {personnes_seules, couples, un_enfant, majoration_par_enf_supp}.yaml`.
AL_CEILINGS = {  # zone: (single, couple, one dependant, each further dependant)
    1: (329.71, 397.64, 449.43, 65.21),
    2: (287.35, 351.72, 395.77, 57.61),
    3: (269.32, 326.48, 366.07, 52.47),
}
# Forfait charges C, 2024-10-01: `c_forfait_charges/cas_general/{cas_general, majoration_par_enfant}.yaml`.
AL_CHARGES_BASE, AL_CHARGES_PER_CHILD = 59.97, 13.60
# P0 = max(forfait, taux × (L + C)): `pp_particip_perso/p0_particip_min/{p0_forfait (2024-10), p0_taux}`.
AL_P0_FORFAIT, AL_P0_RATE = 39.15, 0.085
# R0, 2025-01-01 (arrêté du 30/12/2024, art. 1): `pp_particip_perso/r0_abattement/cas_general/…`.
AL_R0_SINGLE, AL_R0_COUPLE = 5235.0, 7501.0
AL_R0_DEPENDANTS = (8947.0, 9148.0, 9498.0, 9851.0, 10202.0, 10554.0)  # 1 … 6+ dependants
AL_R0_PER_FURTHER = 346.0
# TF (arrêté du 27/09/2019 art. 14, values of 2007-07): `tp_taux/tf_taille_famille/metropole/…`.
AL_TF_SINGLE, AL_TF_COUPLE = 0.0283, 0.0315
AL_TF_DEPENDANTS = (0.0270, 0.0238, 0.0201, 0.0185)  # 1 … 4 dependants
AL_TF_PER_FURTHER = -0.0006
# TL by ratio RL = L / zone 2 ceiling: 0 below 45 %, 0.45 % per point to 75 %, 0.68 % beyond:
# `tp_taux/tl_loyer/{seuils, taux}/…`.
AL_TL_THRESHOLDS, AL_TL_RATES = (0.45, 0.75), (0.0045, 0.0068)
AL_MONTHLY_DEDUCTION, AL_CRDS = 5.0, 0.005


@dataclass(frozen=True)
class LegislationValues:
    """The dated values (PPA and RSA) in force for one reference month."""

    month: date
    ppa_base: float
    rsa_base: float
    ppa_earned_rate: float
    smic_horaire: float


def _in_force(series: tuple[tuple[date, float], ...], month: date, name: str) -> float:
    applicable = [value for start, value in series if start <= month]
    if not applicable:
        raise SynthesisError(
            f"aucune valeur de « {name} » en vigueur en {month:%Y-%m}",
            f"choisissez un mois à partir de {series[0][0]:%Y-%m}",
        )
    return applicable[-1]


def values_for(month: date) -> LegislationValues:
    """The PPA and RSA values in force in `month` (first day of the month)."""
    return LegislationValues(
        month=month,
        ppa_base=_in_force(_PPA_BASE, month, "montant forfaitaire PPA"),
        rsa_base=_in_force(_RSA_BASE, month, "montant forfaitaire RSA"),
        ppa_earned_rate=_in_force(_PPA_EARNED_RATE, month, "taux des revenus d'activité PPA"),
        smic_horaire=_in_force(_SMIC_HORAIRE, month, "SMIC horaire brut"),
    )


@dataclass(frozen=True)
class Household:
    """The columns the oracle reads, as arrays of equal length."""

    age: IntArray
    couple: BoolArray
    children: IntArray
    isolated_parent: BoolArray
    earned_claimant: FloatArray
    earned_partner: FloatArray
    other_resources: FloatArray
    family_benefits: FloatArray
    tenant: BoolArray
    forfait_logement_status: BoolArray  # owner, first-time buyer or housed free
    rent: FloatArray
    zone: IntArray


@dataclass(frozen=True)
class Entitlements:
    """Monthly amounts the household is entitled to (0 when under the minimum paid)."""

    ppa: FloatArray
    rsa: FloatArray
    al: FloatArray


def scale(base: float, h: Household) -> FloatArray:
    """The montant forfaitaire for the household's composition (majoré for isolated parents)."""
    persons = 1 + h.couple.astype(np.int64) + h.children
    extra = np.maximum(persons - 2, 0)
    from_third_child = np.minimum(extra, np.maximum(h.children - 2, 0))
    factor = 1.0 + 0.5 * (persons >= 2) + 0.3 * (extra - from_third_child) + 0.4 * from_third_child
    majore = MAJORATION_ISOLEMENT_BASE + MAJORATION_ISOLEMENT_CHILD * h.children
    return base * np.where(h.isolated_parent, majore, factor)


def forfait_logement(base: float, h: Household, al: FloatArray) -> FloatArray:
    """The housing lump sum deducted from RSA and PPA when housing costs are covered."""
    persons = 1 + h.couple.astype(np.int64) + h.children
    amount = np.select(
        [persons == 1, persons == 2],
        [base * FORFAIT_LOGEMENT[1], base * 1.5 * FORFAIT_LOGEMENT[2]],
        base * 1.8 * FORFAIT_LOGEMENT[3],
    )
    # A tenant entitled to an aide au logement: the forfait, within the limit of that aide.
    housed_by_al = h.tenant & (al > 0)
    return np.where(h.forfait_logement_status, amount, np.where(housed_by_al, np.minimum(amount, al), 0.0))


def _bonification(earned: FloatArray, v: LegislationValues) -> FloatArray:
    start, full = BONIFICATION_START * v.smic_horaire, BONIFICATION_FULL * v.smic_horaire
    share = np.clip((earned - start) / (full - start), 0.0, 1.0)
    return np.where(earned >= start, share * BONIFICATION_MAX * v.ppa_base, 0.0)


def prime_activite(h: Household, v: LegislationValues, al: FloatArray) -> FloatArray:
    """PPA entitlement, 0 when under the minimum paid."""
    forfaitaire = scale(v.ppa_base, h)
    earned = h.earned_claimant + h.earned_partner
    resources = earned + h.other_resources + h.family_benefits
    bonification = _bonification(h.earned_claimant, v) + _bonification(h.earned_partner, v)
    fl = forfait_logement(v.ppa_base, h, al)
    amount = forfaitaire + bonification + v.ppa_earned_rate * earned - np.maximum(forfaitaire, resources + fl)
    return _paid(amount, PPA_MINIMUM)


def rsa(h: Household, v: LegislationValues, al: FloatArray) -> FloatArray:
    """RSA entitlement, 0 when not eligible or under the minimum paid."""
    resources = h.earned_claimant + h.earned_partner + h.other_resources + h.family_benefits
    amount = scale(v.rsa_base, h) - resources - forfait_logement(v.rsa_base, h, al)
    eligible = ((h.age >= 25) | (h.children > 0)) & (h.age < 65)
    return _paid(np.where(eligible, amount, 0.0), RSA_MINIMUM)


def _by_dependants(
    h: Household, single: float, couple: float, table: tuple[float, ...], further: float
) -> FloatArray:
    n = h.children
    capped = np.clip(n, 1, len(table)) - 1
    with_dependants = np.asarray(table)[capped] + further * np.maximum(n - len(table), 0)
    return np.where(n > 0, with_dependants, np.where(h.couple, couple, single))


def aide_logement(h: Household) -> FloatArray:
    """Aide au logement for tenants (0 for everyone else), 0 when under the minimum paid."""
    zone = np.clip(h.zone, 1, 3)
    ceilings = np.array([AL_CEILINGS[z] for z in (1, 2, 3)])  # rows: zone 1..3
    single, couple, one, further = (ceilings[zone - 1, k] for k in range(4))
    ceiling = np.where(
        h.children > 0,
        one + further * np.maximum(h.children - 1, 0),
        np.where(h.couple, couple, single),
    )
    z2 = AL_CEILINGS[2]
    reference_rent = np.where(
        h.children > 0, z2[2] + z2[3] * np.maximum(h.children - 1, 0), np.where(h.couple, z2[1], z2[0])
    )
    rent = np.minimum(h.rent, ceiling)
    charges = AL_CHARGES_BASE + AL_CHARGES_PER_CHILD * h.children
    p0 = np.maximum(AL_P0_FORFAIT, AL_P0_RATE * (rent + charges))
    ratio = rent / reference_rent
    (s1, s2), (t1, t2) = AL_TL_THRESHOLDS, AL_TL_RATES
    tl = t1 * np.clip(ratio - s1, 0.0, s2 - s1) + t2 * np.maximum(ratio - s2, 0.0)
    tf = _by_dependants(h, AL_TF_SINGLE, AL_TF_COUPLE, AL_TF_DEPENDANTS, AL_TF_PER_FURTHER)
    r0 = _by_dependants(h, AL_R0_SINGLE, AL_R0_COUPLE, AL_R0_DEPENDANTS, AL_R0_PER_FURTHER)
    annual = 12.0 * (0.9 * (h.earned_claimant + h.earned_partner) + h.other_resources)
    participation = p0 + (tf + tl) * np.maximum(annual - r0, 0.0)
    amount = (rent + charges - participation - AL_MONTHLY_DEDUCTION) * (1.0 - AL_CRDS)
    return _paid(np.where(h.tenant, amount, 0.0), AL_MINIMUM)


def _paid(amount: FloatArray, minimum: float) -> FloatArray:
    rounded = np.round(amount, 2)
    return np.where(rounded >= minimum, rounded, 0.0)


def entitlements(h: Household, month: date) -> Entitlements:
    """Every entitlement of every household for the reference month."""
    v = values_for(month)
    al = aide_logement(h)
    return Entitlements(ppa=prime_activite(h, v, al), rsa=rsa(h, v, al), al=al)
