"""SMS encoding and segment count (3GPP TS 23.038).

A text made only of GSM 03.38 characters is sent in GSM-7: 160 septets in one message, 153 per
segment when concatenated; the extension-table characters (€, [, ], {, }, ~, ^, |, \\ and form feed)
take 2 septets (escape + character) and are never split across segments. Anything else forces UCS-2:
70 UTF-16 units in one message, 67 per segment; characters outside the BMP (most emoji) take a
surrogate pair of 2 units that is never split either.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

Encoding = Literal["GSM-7", "UCS-2"]


@dataclass(frozen=True)
class SmsSize:
    """How a text is sent: its encoding, its length in units of that encoding and its segments."""

    encoding: Encoding
    units: int
    segments: int


def _char_units(text: str) -> tuple[Encoding, list[int]]:
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        return "GSM-7", [2 if c in GSM7_EXTENSION else 1 for c in text]
    return "UCS-2", [2 if ord(c) > 0xFFFF else 1 for c in text]


def _segments(units: list[int], per_segment: int) -> int:
    count, used = 1, 0
    for size in units:
        if used + size > per_segment:
            count, used = count + 1, 0
        used += size
    return count


def measure(text: str) -> SmsSize:
    """Encoding, length and number of segments of an SMS text."""
    encoding, units = _char_units(text)
    total = sum(units)
    single, multi = (160, 153) if encoding == "GSM-7" else (70, 67)
    segments = 1 if total <= single else _segments(units, multi)
    return SmsSize(encoding, total, segments)


def non_gsm_characters(text: str) -> list[str]:
    """The characters that force UCS-2 (to tell the data team what to replace)."""
    return sorted({c for c in text if c not in GSM7_BASIC and c not in GSM7_EXTENSION})
