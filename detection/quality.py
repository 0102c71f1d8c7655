"""Rule quality against a ground truth: precision and recall of the non-take-up rules.

The synthetic generator keeps who it made a non-claimant; comparing the flags with it measures how
well the catalogue finds them (used by the demo and the tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from rules.areas import in_areas_expr

# Benefit of the ground truth → rule of the catalogue that looks for its non-take-up.
RULE_OF_BENEFIT = {"ppa": "ppa_non_recours", "rsa": "rsa_non_recours", "al": "al_non_recours"}


@dataclass(frozen=True)
class RuleQuality:
    """How one rule's flags compare with the ground truth of one benefit."""

    benefit: str
    rule: str
    flagged: int
    actual: int  # non-claimants the rule can find (inside its `champ`)
    found: int
    outside: int = 0  # non-claimants living outside the rule's `champ`: not counted in `actual`

    @property
    def precision(self) -> float:
        """Share of flagged households that are real non-claimants."""
        return self.found / self.flagged if self.flagged else 1.0

    @property
    def recall(self) -> float:
        """Share of real non-claimants that were flagged."""
        return self.found / self.actual if self.actual else 1.0


def rule_quality(
    flags: pl.DataFrame,
    truth: pl.DataFrame,
    households: pl.DataFrame | None = None,
    areas: Mapping[str, frozenset[str]] | None = None,
) -> list[RuleQuality]:
    """Precision and recall per benefit; `truth` has `id_foyer` and `non_recours_<benefit>` columns.

    A rule that flags only in some `areas` (rule id → its `champ`) is measured on the non-claimants
    living there (`households` gives each one's `code_commune`); the others are counted apart.
    """
    results = []
    for benefit, rule in RULE_OF_BENEFIT.items():
        flagged = set(flags.filter(pl.col("regle") == rule)["id_foyer"].to_list())
        actual = set(truth.filter(pl.col(f"non_recours_{benefit}"))["id_foyer"].to_list())
        inside = in_areas_expr(areas[rule]) if areas and rule in areas else None
        outside: set[str] = set()
        if inside is not None and households is not None:
            outside = set(households.filter(~inside)["id_foyer"].to_list()) & actual
        found = len(flagged & actual)
        results.append(RuleQuality(benefit, rule, len(flagged), len(actual - outside), found, len(outside)))
    return results
