"""The contact directory contract v1: the only place where names, numbers and addresses live."""

from __future__ import annotations

PSEUDONYM_COLUMN = "id_foyer"
RAW_IDENTIFIER = "matricule"

# Personal fields, in the contract's order; an exchange approves a subset of them.
PERSONAL_FIELDS: tuple[str, ...] = (
    "civilite",
    "nom",
    "prenom",
    "telephone",
    "email",
    "adresse",
    "code_postal",
    "ville",
)
CONTACT_COLUMNS: tuple[str, ...] = (PSEUDONYM_COLUMN, *PERSONAL_FIELDS)
REQUIRED_FIELDS: tuple[str, ...] = ("nom", "prenom")
CIVILITES: tuple[str, ...] = ("M.", "Mme")

# What each contact channel needs to be usable.
CHANNEL_FIELDS: dict[str, tuple[str, ...]] = {
    "sms": ("telephone",),
    "email": ("email",),
    "telephone": ("telephone",),
    "courrier": ("adresse", "code_postal", "ville"),
}

# A pseudonym of the extract contract: 16 to 128 characters of [A-Za-z0-9_-].
PSEUDONYM_PATTERN = r"^[A-Za-z0-9_-]{16,128}$"
