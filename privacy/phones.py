"""French telephone numbers, metropolitan and overseas, in the form the vault keeps them (E.164)."""

from __future__ import annotations

import phonenumbers

# The regions that share France's national numbering (a 0 then nine digits): metropolitan France,
# then the overseas departments. `0692 12 34 56` is a mobile of La Réunion (+262), not of France
# (+33): read as metropolitan it is no valid number at all, and an overseas Caf would reach nobody.
FRENCH_REGIONS = ("FR", "RE", "YT", "GP", "MQ", "GF")


def french_e164(text: str) -> str | None:
    """`text` as E.164 when it is a valid number, written internationally (`+262 692 12 34 56`) or
    in the national form of metropolitan France or an overseas department (`0692 12 34 56`); None
    when it is no valid number. `phonenumbers.NumberParseException` when it cannot be read as one."""
    number = phonenumbers.parse(text, FRENCH_REGIONS[0])
    # Another country's number is written internationally: read the same from every region.
    if number.country_code == 33:
        for region in FRENCH_REGIONS[1:]:
            if phonenumbers.is_valid_number(number):
                break
            number = phonenumbers.parse(text, region)
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
