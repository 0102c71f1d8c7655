"""Numbers of metropolitan France and of the overseas departments, written nationally or
internationally, are kept as E.164; a number valid nowhere is told apart from unreadable text."""

from __future__ import annotations

import phonenumbers
import pytest

from privacy.phones import french_e164


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
