"""Contact details written in a free-text note, where they must not be.

A call note is read by the colleagues who take the household next and kept 12 months outside the
encrypted contact vault: a telephone number or an e-mail address typed into it would escape the
vault's encryption, its purge and the exchanges the DPO approved.
"""

from __future__ import annotations

import re

import phonenumbers

from privacy.phones import FRENCH_REGIONS

_EMAIL = re.compile(r"[^\s@<>()]+@[^\s@<>()]+\.[a-zA-Z]{2,}")


def contact_details_in(text: str) -> list[str]:
    """The kinds of contact details `text` holds, in words (« un numéro de téléphone »…); none: []."""
    found = []
    if any(
        True
        for region in FRENCH_REGIONS
        for _ in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
    ):
        found.append("un numéro de téléphone")
    if _EMAIL.search(text):
        found.append("une adresse électronique")
    return found
