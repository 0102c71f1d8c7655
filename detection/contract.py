"""The household extract, contract v1, as data (the contact directory belongs to `privacy`).

This module is the single statement of the contract (see `shared/contract/extract-v1.md`): the
validator, the synthetic generator and the rule checker all read it, none repeats it.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Literal

import polars as pl

Kind = Literal["string", "date", "int", "float", "bool", "enum"]

CONTRACT_VERSION = "v1"


@dataclass(frozen=True)
class Column:
    """One column of the contract: its type, whether it is required, its default and its bounds."""

    name: str
    kind: Kind
    required: bool
    description: str
    default: object = None
    values: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    @property
    def dtype(self) -> pl.DataType:
        """The polars type of the column once loaded."""
        return _DTYPES[self.kind]


_DTYPES: dict[Kind, pl.DataType] = {
    "string": pl.String(),
    "enum": pl.String(),
    "date": pl.Date(),
    "int": pl.Int32(),
    "float": pl.Float64(),
    "bool": pl.Boolean(),
}

STATUTS_LOGEMENT = ("locataire", "accedant", "proprietaire", "heberge")
EVENEMENTS_VIE = ("naissance", "separation", "deces_conjoint", "perte_emploi")


def _money(name: str, description: str, *, required: bool = True) -> Column:
    return Column(name, "float", required, description, default=0.0, minimum=0.0)


def _flag(name: str, description: str, *, required: bool = False) -> Column:
    return Column(name, "bool", required, description, default=None if required else False)


HOUSEHOLD_COLUMNS: tuple[Column, ...] = (
    Column("id_foyer", "string", True, "pseudonyme du foyer (16 à 128 caractères [A-Za-z0-9_-])"),
    Column("mois_reference", "date", True, "premier jour du mois de référence"),
    Column("code_commune", "string", True, "code INSEE de la commune de résidence"),
    Column("age_allocataire", "int", True, "âge de l'allocataire", minimum=0, maximum=120),
    Column("en_couple", "bool", True, "l'allocataire vit en couple"),
    Column("nb_enfants", "int", True, "enfants à charge", minimum=0, maximum=20),
    Column("nb_enfants_moins_3_ans", "int", False, "enfants de moins de 3 ans", default=0, minimum=0),
    _money("revenus_activite_allocataire", "revenus d'activité mensuels nets de l'allocataire"),
    _money("revenus_activite_conjoint", "revenus d'activité mensuels nets du conjoint"),
    _money("autres_ressources", "autres ressources mensuelles du foyer"),
    Column("statut_logement", "enum", True, "statut d'occupation", values=STATUTS_LOGEMENT),
    _money("loyer", "loyer mensuel hors charges"),
    Column("zone_logement", "int", True, "zone des aides au logement", minimum=1, maximum=3),
    _flag("logement_non_decent", "logement non décent constaté"),
    Column("impaye_loyer_mois", "int", False, "mois de loyer impayés", default=0, minimum=0),
    _money("dette_locative", "dette locative signalée", required=False),
    _flag("percoit_ppa", "prime d'activité versée", required=True),
    _flag("percoit_rsa", "RSA versé", required=True),
    _flag("percoit_al", "aide au logement versée", required=True),
    _money("montant_ppa", "montant de prime d'activité versé", required=False),
    _money("montant_rsa", "montant de RSA versé", required=False),
    _money("montant_al", "montant d'aide au logement versé", required=False),
    _money(
        "montant_prestations_familiales",
        "prestations familiales comptées dans les ressources",
        required=False,
    ),
    _flag("accompagnement_social", "foyer déjà suivi par un travailleur social de la Caf"),
    Column("evenement_vie", "enum", False, "événement de vie récent", values=EVENEMENTS_VIE),
    Column("date_evenement", "date", False, "date de l'événement de vie"),
    _flag("canal_sms", "un numéro de mobile existe dans l'annuaire"),
    _flag("canal_email", "une adresse e-mail existe dans l'annuaire"),
    _flag("canal_telephone", "un numéro de téléphone existe dans l'annuaire"),
    _flag("canal_courrier", "une adresse postale existe dans l'annuaire"),
    _flag("opposition_contact", "opposition au contact proactif (RGPD art. 21)"),
)

COLUMNS_BY_NAME: dict[str, Column] = {c.name: c for c in HOUSEHOLD_COLUMNS}


def normalised_name(name: str) -> str:
    """A column name without case, accents, spaces or separators (`E-mail` and `email` are the same)."""
    plain = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in plain if ch.isalnum())


_NORMALISED_NAMES = {normalised_name(c.name): c.name for c in HOUSEHOLD_COLUMNS}


def contract_name_of(name: str) -> str | None:
    """The contract column that a file column outside the contract names otherwise (`Opposition_Contact`,
    `opposition-contact `), or None: such a column would be dropped and its default used instead."""
    if name in COLUMNS_BY_NAME:
        return None
    return _NORMALISED_NAMES.get(normalised_name(name))


# Polars schema of a loaded, validated extract (every contract column, defaults filled).
HOUSEHOLD_SCHEMA: dict[str, pl.DataType] = {c.name: c.dtype for c in HOUSEHOLD_COLUMNS}

# Column names that betray a direct identifier: an extract carrying one is rejected.
DIRECT_IDENTIFIER_NAMES = frozenset(
    {
        "nir",
        "matricule",
        "nom",
        "prenom",
        "telephone",
        "email",
        "adresse",
        "iban",
        "civilite",
        "nom_naissance",
        "date_naissance",
        "code_postal",
        "ville",
        "mobile",
        "courriel",
    }
)

# The pseudonym of a household: an opaque token of 16 to 128 characters.
ID_FOYER_PATTERN = r"^[A-Za-z0-9_-]{16,128}$"

# How a CSV extract spells booleans (compared in lower case, surrounding spaces ignored).
CSV_TRUE_VALUES = ("true", "1", "oui")
CSV_FALSE_VALUES = ("false", "0", "non")

# The raw extract carries the Caf household number in place of the pseudonym.
RAW_IDENTIFIER = "matricule"


@dataclass(frozen=True)
class ContractSummary:
    """A compact view of the contract for other domains (the rule checker reads this)."""

    column_kinds: dict[str, Kind] = field(default_factory=lambda: {c.name: c.kind for c in HOUSEHOLD_COLUMNS})
    enum_values: dict[str, tuple[str, ...]] = field(
        default_factory=lambda: {c.name: c.values for c in HOUSEHOLD_COLUMNS if c.values}
    )
    # (minimum, maximum) of the integer columns: a rule's table looked up with `zone_logement` must
    # hold the keys 1 to 3.
    int_bounds: dict[str, tuple[float | None, float | None]] = field(
        default_factory=lambda: {c.name: (c.minimum, c.maximum) for c in HOUSEHOLD_COLUMNS if c.kind == "int"}
    )
