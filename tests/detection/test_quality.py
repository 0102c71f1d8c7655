"""Precision and recall against the generator's ground truth, measured where each rule can flag."""

from __future__ import annotations

import polars as pl

from detection.quality import rule_quality


def test_non_claimants_outside_a_rules_champ_are_counted_apart_not_as_missed() -> None:
    flags = pl.DataFrame({"id_foyer": ["a", "b"], "regle": ["al_non_recours", "rsa_non_recours"]})
    truth = pl.DataFrame(
        {
            "id_foyer": ["a", "b", "c"],
            "non_recours_ppa": [False, False, False],
            "non_recours_rsa": [False, True, True],
            "non_recours_al": [True, False, True],  # c lives in La Réunion
        }
    )
    places = pl.DataFrame({"id_foyer": ["a", "b", "c"], "code_commune": ["04088", "04088", "97411"]})

    measured = {
        q.benefit: q for q in rule_quality(flags, truth, places, {"al_non_recours": frozenset({"métropole"})})
    }

    assert (measured["al"].actual, measured["al"].found, measured["al"].outside) == (1, 1, 1)
    assert measured["al"].recall == 1.0
    # Without the rule's champ, the same household is a miss.
    assert rule_quality(flags, truth)[2].recall == 0.5
    assert (measured["rsa"].actual, measured["rsa"].outside, measured["rsa"].recall) == (2, 0, 0.5)
