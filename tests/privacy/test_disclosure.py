from __future__ import annotations

import re

import polars as pl
import pytest

from privacy.disclosure import (
    DEFAULT_THRESHOLD,
    ThresholdInvalid,
    configured_threshold,
    suppress_small_counts,
    suppression_mask,
)
from privacy.errors import PrivacyError


def test_small_counts_are_hidden_and_large_ones_kept() -> None:
    frame = pl.DataFrame({"commune": ["A", "B", "C"], "contactes": [120, 4, 37]})
    out = suppress_small_counts(frame, ["contactes"], threshold=11)
    # 4 is hidden, and 37 too: with the published total, the single hidden cell would be 161 - 120 - 37.
    assert out["contactes"].to_list() == [120, None, None]
    assert out["commune"].to_list() == ["A", "B", "C"]


def test_secondary_suppression_leaves_no_row_or_column_with_a_single_hidden_cell() -> None:
    frame = pl.DataFrame(
        {
            "commune": ["A", "B", "C", "D"],
            "sms": [50, 3, 40, 60],
            "courriel": [30, 25, 35, 45],
            "appel": [20, 15, 12, 70],
        }
    )
    mask = suppression_mask(frame, ["sms", "courriel", "appel"], threshold=11)
    assert (1, "sms") in mask
    for i in range(frame.height):
        assert sum((i, c) in mask for c in ["sms", "courriel", "appel"]) != 1
    for c in ["sms", "courriel", "appel"]:
        assert sum((i, c) in mask for i in range(frame.height)) != 1
    # The complementary cells are the smallest available ones: B's calls (15), C's SMS (40), C's calls (12).
    assert mask == {(1, "sms"), (1, "appel"), (2, "sms"), (2, "appel")}


def test_threshold_is_configurable_and_zeros_can_be_protected() -> None:
    frame = pl.DataFrame({"g": ["a", "b", "c"], "n": [0, 6, 30], "m": [20, 20, 20]})
    assert suppress_small_counts(frame, ["n", "m"], threshold=5, margins=False)["n"].to_list() == [0, 6, 30]
    zeros = suppress_small_counts(frame, ["n", "m"], threshold=5, margins=False, suppress_zeros=True)
    assert zeros["n"].to_list() == [None, 6, 30]


def test_nothing_to_hide_returns_the_table_unchanged() -> None:
    frame = pl.DataFrame({"g": ["a", "b"], "n": [15, 30]})
    assert suppress_small_counts(frame, ["n"]).equals(frame)


def test_unknown_count_column_is_an_error() -> None:
    with pytest.raises(PrivacyError, match="absentes"):
        suppress_small_counts(pl.DataFrame({"n": [1]}), ["m"])


def test_the_configured_threshold_is_read_once_for_every_published_figure() -> None:
    assert configured_threshold({}) == DEFAULT_THRESHOLD
    assert configured_threshold({"UPTAKE_SEUIL_SECRET": " 5 "}) == 5
    for written in ("cinq", "0", "-3", "5.5"):
        with pytest.raises(ThresholdInvalid, match=f"UPTAKE_SEUIL_SECRET : « {re.escape(written)} »"):
            configured_threshold({"UPTAKE_SEUIL_SECRET": written})
