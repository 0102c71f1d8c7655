"""Every case written in the catalogue's rule files is a test (pytest collects them one by one)."""

from __future__ import annotations

import pytest

from detection.contract import HOUSEHOLD_COLUMNS, HOUSEHOLD_SCHEMA, ContractSummary
from detection.geography import Geography
from rules.cases import run_case
from rules.catalogue import load_catalogue
from rules.parameters import load_parameters

_SUMMARY = ContractSummary()
_CATALOGUE = load_catalogue(columns=_SUMMARY.column_kinds, enums=_SUMMARY.enum_values)
_PARAMETERS = load_parameters()
_CASES = [(rule, index, case) for rule in _CATALOGUE.rules for index, case in enumerate(rule.cases)]


@pytest.mark.parametrize(
    ("rule", "index", "case"), _CASES, ids=[f"{r.id}-{i}-{c.get('nom', '')}" for r, i, c in _CASES]
)
def test_rule_case_gives_expected_flag_and_amount(rule, index, case, geography: Geography) -> None:
    defaults = {c.name: c.default for c in HOUSEHOLD_COLUMNS}
    result = run_case(
        _CATALOGUE.select([rule.id]),
        rule,
        index,
        case,
        _PARAMETERS,
        geography,
        defaults,
        HOUSEHOLD_SCHEMA,
    )
    assert result.passed, "\n".join(result.differences)


def test_every_rule_has_cases_and_benefits_have_ten_hand_computed() -> None:
    for rule in _CATALOGUE.rules:
        assert rule.cases, rule.id
    for rule_id in ("ppa_non_recours", "rsa_non_recours", "al_non_recours"):
        computed = [c for c in _CATALOGUE.get(rule_id).cases if c.get("calcul")]
        assert len(computed) >= 10, rule_id
