"""Numbers of metropolitan France and of the overseas departments, written nationally or
internationally, are kept as E.164; a number valid nowhere is told apart from unreadable text."""

from __future__ import annotations

import phonenumbers
import pytest

from privacy.freetext import contact_details_in
from privacy.phones import displayed, french_e164


@pytest.mark.parametrize(
    ("written", "e164"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("01 44 55 66 77", "+33144556677"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("0692 12 34 56", "+262692123456"),  # La Réunion
        ("0262 21 22 23", "+262262212223"),
        ("0639 69 12 34", "+262639691234"),  # Mayotte
        ("0269 67 92 90", "+262269679290"),  # a landline of Mayotte, also within metropolitan ranges
        ("+33 2 69 67 92 90", "+33269679290"),  # written with +33: kept so
        ("0690 12 34 56", "+590690123456"),  # Guadeloupe
        ("0696 12 34 56", "+596696123456"),  # Martinique
        ("0694 20 12 34", "+594694201234"),  # Guyane
        ("+262 692 12 34 56", "+262692123456"),
        ("+32 470 12 34 56", "+32470123456"),  # a foreign number stays as written
    ],
)
def test_a_french_number_is_kept_in_its_international_form(written: str, e164: str) -> None:
    assert french_e164(written) == e164


@pytest.mark.parametrize("written", ["01 23", "+33 6 92 12 34 56", "0899 99 99 99 99"])
def test_a_number_valid_in_no_french_region_is_none(written: str) -> None:
    assert french_e164(written) is None


def test_text_that_is_no_number_cannot_be_read() -> None:
    with pytest.raises(phonenumbers.NumberParseException):
        french_e164("pas un numéro")


@pytest.mark.parametrize(
    ("e164", "shown"),
    [
        ("+33751215815", "07 51 21 58 15"),
        ("+262692123456", "0692 12 34 56"),  # dialled so from metropolitan France too
        ("+441632960961", "+44 1632 960961"),
        ("illisible", "illisible"),
    ],
)
def test_a_number_is_shown_as_a_worker_in_france_dials_it(e164: str, shown: str) -> None:
    assert displayed(e164) == shown


@pytest.mark.parametrize(
    ("note", "found"),
    [
        ("Rappeler sur le portable de sa fille 07 98 76 54 32", ["un numéro de téléphone"]),
        ("Joindre au 0692 12 34 56 le matin", ["un numéro de téléphone"]),
        ("Écrire à camille.fictif@example.org", ["une adresse électronique"]),
        ("Droit ouvert 182,50 € le 12/05/2026 à 10h30, dossier 1234567", []),
        ("Rappeler lundi, pièces à fournir", []),
    ],
)
def test_contact_details_in_a_note_are_found_and_amounts_or_dates_are_not(
    note: str, found: list[str]
) -> None:
    assert contact_details_in(note) == found
