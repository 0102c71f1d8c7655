from __future__ import annotations

import re

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy import disclosure
from privacy.disclosure import (
    DEFAULT_THRESHOLD,
    Breakdown,
    Cell,
    Relation,
    Table,
    ThresholdBelowConfigured,
    ThresholdInvalid,
    configured_threshold,
    publication_threshold,
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
    # Here the channels do add up: each row's total is published (declared), as are the columns'.
    row_total = Breakdown(None, ("sms", "courriel", "appel"), complete=True)
    mask = suppression_mask(frame, ["sms", "courriel", "appel"], threshold=11, breakdowns=[row_total])
    assert (1, "sms") in mask
    for i in range(frame.height):
        assert sum((i, c) in mask for c in ["sms", "courriel", "appel"]) != 1
    assert sum((i, "sms") in mask for i in range(frame.height)) >= 2


def test_threshold_is_configurable_and_zeros_can_be_protected() -> None:
    frame = pl.DataFrame({"g": ["a", "b", "c"], "n": [0, 6, 30], "m": [20, 20, 20]})
    assert suppress_small_counts(frame, ["n", "m"], threshold=5, column_totals=())["n"].to_list() == [
        0,
        6,
        30,
    ]
    zeros = suppress_small_counts(frame, ["n", "m"], threshold=5, column_totals=(), suppress_zeros=True)
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


# Per commune: signalés = contactés + témoins + écartés (not published); each arm ⊇ its households
# with a right opened. Fontienne (row 0) has 14 flagged, 13 contacted and 1 control household.
COMMUNE_COUNTS = ["signales", "contactes", "temoins", "ouverts_contactes", "ouverts_temoins"]
COMMUNE_BREAKDOWNS = [
    Breakdown("signales", ("contactes", "temoins")),
    Breakdown("contactes", ("ouverts_contactes",)),
    Breakdown("temoins", ("ouverts_temoins",)),
]


def _communes() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "commune": ["04087", "04088", "04164", "04178", "04065"],
            "signales": [14, 550, 13, 142, 60],
            "contactes": [13, 484, 12, 126, 52],
            "temoins": [1, 54, 1, 14, 6],
            "ouverts_contactes": [4, 86, 3, 31, 16],
            "ouverts_temoins": [0, 14, 1, 2, 1],
        }
    )


def _bounds_from_published(row: dict[str, int | None], threshold: int) -> tuple[int, int]:
    """What a reader gets on a hidden `temoins` from its own row: between 1 and threshold - 1, and
    at most signalés - contactés when both are published."""
    high = threshold - 1
    if row["signales"] is not None and row["contactes"] is not None:
        high = min(high, row["signales"] - row["contactes"])
    return 1, high


def test_a_hidden_control_count_cannot_be_worked_out_as_flagged_minus_contacted() -> None:
    out = suppress_small_counts(_communes(), COMMUNE_COUNTS, 11, breakdowns=COMMUNE_BREAKDOWNS)
    for row in out.iter_rows(named=True):
        if row["temoins"] is None:
            low, high = _bounds_from_published(row, 11)
            assert high - low >= 5, f"{row['commune']} : témoins entre {low} et {high}"
    fontienne = out.row(0, named=True)
    assert fontienne["temoins"] is None
    assert fontienne["signales"] is None or fontienne["contactes"] is None


def test_the_outcome_of_a_hidden_small_group_is_hidden_even_when_it_is_zero() -> None:
    out = suppress_small_counts(_communes(), COMMUNE_COUNTS, 11, breakdowns=COMMUNE_BREAKDOWNS)
    # Fontienne's single control household did not open a right: the 0 would tell it.
    assert out.row(0, named=True)["ouverts_temoins"] is None
    # Without the declared breakdown the 0 is an ordinary published zero (the old leak).
    bare = suppress_small_counts(_communes(), COMMUNE_COUNTS, 11, breakdowns=COMMUNE_BREAKDOWNS[:1])
    assert bare.row(0, named=True)["ouverts_temoins"] == 0


def test_large_counts_of_a_row_are_not_hidden_for_a_small_count_of_an_unrelated_column() -> None:
    # Households reached per channel and rights opened after it: no row total joins them.
    frame = pl.DataFrame(
        {
            "canal": ["appel", "courriel", "sms", "courrier"],
            "foyers": [366, 299, 782, 434],
            "droits": [6, 13, 98, 108],
        }
    )
    out = suppress_small_counts(frame, ["foyers", "droits"], 11)
    assert out["foyers"].to_list() == [366, 299, 782, 434]
    assert out["droits"][0] is None
    # The published total of rights must not give the small one away: another cell goes with it.
    assert out["droits"].null_count() >= 2
    hidden = 225 - sum(v for v in out["droits"].to_list() if v is not None)
    assert hidden >= 11


def test_large_control_groups_stay_published_next_to_small_ones() -> None:
    out = suppress_small_counts(_communes(), COMMUNE_COUNTS, 11, breakdowns=COMMUNE_BREAKDOWNS)
    forcalquier = out.row(1, named=True)
    assert (forcalquier["signales"], forcalquier["contactes"], forcalquier["temoins"]) == (550, 484, 54)


def test_a_report_threshold_may_be_stricter_than_the_configured_one_never_looser() -> None:
    environ = {"UPTAKE_SEUIL_SECRET": "11"}
    assert publication_threshold(None, environ) == 11
    assert publication_threshold(20, environ) == 20
    with pytest.raises(ThresholdBelowConfigured, match=r"seuil de secret statistique 1 refusé.*au moins 11"):
        publication_threshold(1, environ)


class _PlainBounds(disclosure._Bounds):
    """The reader's bounds worked out the plain way: every cell of every relation, every round, from
    the sum of the other terms added up afresh (the code before the sums were kept up to date)."""

    def _pass(self) -> bool:
        changed = False
        for index, relation in enumerate(self.problem.relations):
            for cell in (*relation.parts, *((relation.total,) if relation.total else ())):
                low, high = self.implied(index, cell)
                old = self.of[cell]
                new = (max(old[0], low), min(old[1], high))
                if new != old and new[0] <= new[1]:
                    self.of[cell] = new
                    changed = True
        return changed


@st.composite
def _linked_commune_tables(draw: st.DrawFn) -> tuple[list[Table], list[Relation], int, bool]:
    """Commune tables like the report's (arms, rights opened in each arm), many small counts, with
    summary cells that are their columns' margins (exact or a bound), as `_protect_22` links them."""
    rows = []
    for _ in range(draw(st.integers(1, 30))):
        flagged = draw(st.integers(0, 60))
        contacted = draw(st.integers(0, flagged))
        controls = draw(st.integers(0, flagged - contacted))
        rows.append(
            (flagged, contacted, controls, draw(st.integers(0, contacted)), draw(st.integers(0, controls)))
        )
    frame = pl.DataFrame(rows, schema=COMMUNE_COUNTS, orient="row")
    communes = Table("communes", frame, tuple(COMMUNE_COUNTS), tuple(COMMUNE_BREAKDOWNS), ("contactes",))
    margins = [c for c in COMMUNE_COUNTS if draw(st.booleans())]
    extra = [draw(st.integers(0, 3)) for _ in margins]
    summary = Table(
        "synthese",
        pl.DataFrame({"valeur": [int(frame[c].sum()) + e for c, e in zip(margins, extra, strict=True)]}),
        ("valeur",),
    )
    links = [
        Relation(communes.column(c), ("synthese", i, "valeur"), complete=e == 0)
        for i, (c, e) in enumerate(zip(margins, extra, strict=True))
    ]
    return [communes, summary], links, draw(st.sampled_from([5, 11])), draw(st.booleans())


def _protect_afresh(
    values: dict[Cell, int], relations: list[Relation], threshold: int, suppress_zeros: bool
) -> set[Cell]:
    """`protect` as it was before it reused bounds: each round's bounds worked out afresh, the plain
    way."""
    low = 0 if suppress_zeros else 1
    problem = disclosure._Problem(values, relations, threshold, low)
    problem.primary = {cell for cell, value in values.items() if low <= value < threshold}
    problem.hidden = set(problem.primary)
    stuck: set[Cell] = set()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(disclosure, "_Bounds", _PlainBounds)
        while True:
            problem.close_breakdowns()
            bounds = _PlainBounds(problem)
            protected = sorted((problem.primary | problem.dependent) - stuck)
            exposed = next((c for c in protected if c in bounds.of and bounds.narrowed(c)), None)
            if exposed is None:
                return problem.hidden
            found = disclosure._widening(problem, bounds, exposed)
            if found is None:
                stuck.add(exposed)
            else:
                problem.hidden.add(found[0])


@settings(max_examples=60, deadline=None)
@given(_linked_commune_tables())
def test_the_bounds_kept_up_to_date_and_reused_hide_the_same_cells_as_the_bounds_worked_out_afresh(
    case: tuple[list[Table], list[Relation], int, bool],
) -> None:
    tables, links, threshold, zeros = case
    values = {cell: value for table in tables for cell, value in table.values().items()}
    relations = links + [r for table in tables for r in table.relations()]
    hidden = disclosure.protect(values, relations, threshold, suppress_zeros=zeros)
    assert hidden == _protect_afresh(values, relations, threshold, zeros)


@settings(max_examples=200, deadline=None)
@given(_linked_commune_tables(), st.data())
def test_the_bounds_kept_up_to_date_are_the_bounds_of_the_sums_added_up_afresh(
    case: tuple[list[Table], list[Relation], int, bool], data: st.DataObject
) -> None:
    # Any cells hidden, small or not, some as protected groups' parts: every kind of prior bound.
    tables, links, threshold, _ = case
    values = {cell: value for table in tables for cell, value in table.values().items()}
    relations = links + [r for table in tables for r in table.relations()]
    cells = sorted(values)
    problem = disclosure._Problem(values, relations, threshold, 1)
    problem.hidden = set(data.draw(st.lists(st.sampled_from(cells), unique=True)))
    problem.primary = {c for c in problem.hidden if 1 <= values[c] < threshold}
    problem.dependent = set(data.draw(st.lists(st.sampled_from(cells), unique=True))) - problem.primary
    assert disclosure._Bounds(problem).of == _PlainBounds(problem).of
