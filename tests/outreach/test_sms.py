"""SMS encoding and segment counts (GSM-7 with its extension table, UCS-2 with surrogate pairs)."""

from __future__ import annotations

import pytest

from outreach.sms import measure, non_gsm_characters


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("é" * 160, "GSM-7", 160, 1),  # é is in the GSM 03.38 basic table
        ("€" * 80, "GSM-7", 160, 1),  # € is an extension character: 2 septets each
        ("€" * 81, "GSM-7", 162, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("ê" * 70, "UCS-2", 70, 1),  # ê is not GSM-7
        ("ê" * 71, "UCS-2", 71, 2),
        ("ê" * 134, "UCS-2", 134, 2),
        ("ê" * 135, "UCS-2", 135, 3),
        ("😀" * 35, "UCS-2", 70, 1),  # emoji outside the BMP: a surrogate pair
        ("😀" * 36, "UCS-2", 72, 2),
    ],
)
def test_segment_count_matches_the_encoding_rules(
    text: str, encoding: str, units: int, segments: int
) -> None:
    size = measure(text)
    assert (size.encoding, size.units, size.segments) == (encoding, units, segments)


def test_an_extension_character_is_never_split_across_two_segments() -> None:
    # 152 plain septets then € (2 septets): the escape pair does not fit in the first 153, it moves.
    text = "a" * 152 + "€" + "a" * 152
    assert measure(text).units == 306
    assert measure(text).segments == 3


def test_a_surrogate_pair_is_never_split_across_two_segments() -> None:
    text = "ê" * 66 + "😀" + "ê" * 66
    assert measure(text).units == 134
    assert measure(text).segments == 3


def test_one_emoji_turns_a_french_gsm_text_into_ucs2() -> None:
    text = "Caf : vous pourriez avoir droit à la prime d'activité. Répondez STOP 🙂"
    assert measure(text.replace(" 🙂", "")).encoding == "GSM-7"
    assert measure(text).encoding == "UCS-2"
    assert non_gsm_characters(text) == ["🙂"]
