"""Amounts written the French way stay on one line wherever a page or a letter breaks its lines."""

from __future__ import annotations

import pytest

from rules.french import unbreakable_numbers


@pytest.mark.parametrize(
    ("written", "shown"),
    [
        ("Loyer de 1 048 € par mois.", "Loyer de 1\u202f048\u00a0€ par mois."),
        ("12 345 678,50 €", "12\u202f345\u202f678,50\u00a0€"),
        ("Revenus 2024 500 €", "Revenus 2024 500\u00a0€"),  # a year, then an amount: two numbers
        ("3 enfants, 45 ans", "3 enfants, 45 ans"),
        (None, ""),
    ],
)
def test_a_number_and_its_euro_sign_are_kept_on_one_line(written: str | None, shown: str) -> None:
    assert unbreakable_numbers(written) == shown
