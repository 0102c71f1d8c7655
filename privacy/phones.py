"""French telephone numbers, metropolitan and overseas, in the form the vault keeps them (E.164)."""

from __future__ import annotations

import re

import phonenumbers

# The regions that share France's national numbering (a 0 then nine digits): metropolitan France,
# then the overseas departments. `0692 12 34 56` is a mobile of La Réunion (+262), not of France
# (+33): read as metropolitan it is no valid number at all, and an overseas Caf would reach nobody.
FRENCH_REGIONS = ("FR", "RE", "YT", "GP", "MQ", "GF")
_OVERSEAS_REGIONS = FRENCH_REGIONS[1:]
# The overseas departments' own landline and mobile ranges (from phonenumbers' metadata): a number
# written nationally is parsed again as an overseas one only when it falls in them, so that a
# metropolitan number, most of them, is read once (five more parses quadrupled its cost).
_OVERSEAS_RANGES = re.compile(
    "|".join(
        f"(?:{desc.national_number_pattern})"
        for region in _OVERSEAS_REGIONS
        if (metadata := phonenumbers.PhoneMetadata.metadata_for_region(region)) is not None
        for desc in (metadata.fixed_line, metadata.mobile)
        if desc is not None and desc.national_number_pattern
    )
)


def french_e164(text: str) -> str | None:
    """`text` as E.164 when it is a valid number, written internationally (`+262 692 12 34 56`) or
    in the national form of metropolitan France or an overseas department (`0692 12 34 56`); None
    when it is no valid number. `phonenumbers.NumberParseException` when it cannot be read as one.

    A number in the national form within an overseas department's ranges is read as an overseas
    one: the numbering plan gives the overseas departments their own prefixes (0262, 0269, 0590,
    0639, 0692…), and some of them (Mayotte's landlines, 0269) also pass the looser metropolitan
    ranges, which would file them under +33. One written with +33 or 0033 stays as written."""
    number = phonenumbers.parse(text, FRENCH_REGIONS[0], keep_raw_input=True)
    national = number.country_code_source == phonenumbers.CountryCodeSource.FROM_DEFAULT_COUNTRY
    if national and _OVERSEAS_RANGES.fullmatch(phonenumbers.national_significant_number(number)):
        for region in _OVERSEAS_REGIONS:
            overseas = phonenumbers.parse(text, region)
            if phonenumbers.is_valid_number(overseas):
                return phonenumbers.format_number(overseas, phonenumbers.PhoneNumberFormat.E164)
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def displayed(e164: str) -> str:
    """A number as a worker in France dials it: `07 51 21 58 15`, overseas ones too (`06 92 12 34 56`:
    France and its overseas departments share the national numbering); another country's in the
    international form; as given when it cannot be read."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    national = phonenumbers.region_code_for_number(number) in FRENCH_REGIONS
    form = (
        phonenumbers.PhoneNumberFormat.NATIONAL if national else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, form)
