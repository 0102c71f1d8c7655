"""The catalogue's estimates against the synthetic generator's independent legislation oracle.

The oracle (`detection.synthetic.entitlement`) shares no code with the catalogue. RSA and AL must
agree household by household within a few euros. For the PPA the one known difference is the
forfait logement of a tenant with an aide au logement: the catalogue takes the smaller of the aid
and the forfait (legislation notes, CASF R262-10), the oracle the whole forfait; every other
household must agree.
"""

from __future__ import annotations

import datetime

import polars as pl
import pytest

from detection.contract import ContractSummary
from detection.geography import Geography
from detection.reference import load_reference
from detection.synthetic import SynthesisSpec, commune_table, generate
from rules.catalogue import load_catalogue
from rules.compiler import compile_catalogue
from rules.parameters import load_parameters

TOLERANCE = 5.0  # euros


@pytest.fixture(scope="module")
def estimates_and_truth(geography: Geography) -> tuple[pl.DataFrame, pl.DataFrame]:
    month = datetime.date(2025, 6, 1)
    communes = commune_table(load_reference(), sorted(geography.territory.communes))
    chunk = generate(SynthesisSpec(households=6000, seed=7, month=month), communes)
    summary = ContractSummary()
    catalogue = load_catalogue(columns=summary.column_kinds, enums=summary.enum_values)
    catalogue = catalogue.select(["ppa_non_recours", "rsa_non_recours", "al_non_recours"])
    flags = (
        compile_catalogue(catalogue, load_parameters(), month, geography)
        .flags(chunk.extract.lazy())
        .collect()
    )
    households = chunk.extract.select("id_foyer", "statut_logement", "percoit_al").join(
        chunk.truth, on="id_foyer"
    )
    return flags, households


@pytest.mark.parametrize(
    ("rule", "right", "gap"),
    [("rsa_non_recours", "rsa_droit", "non_recours_rsa"), ("al_non_recours", "al_droit", "non_recours_al")],
)
def test_rsa_and_al_estimates_agree_with_the_oracle(estimates_and_truth, rule, right, gap) -> None:
    flags, households = estimates_and_truth
    ours = flags.filter(pl.col("regle") == rule).select("id_foyer", "montant_estime")
    theirs = households.filter(pl.col(gap)).select("id_foyer", right)
    both = ours.join(theirs, on="id_foyer", how="full", coalesce=True)
    assert both.height > 100
    matched = both.drop_nulls()
    assert matched.height >= 0.99 * both.height  # the same households, bar amounts at the minimum's edge
    assert ((matched["montant_estime"] - matched[right]).abs() <= TOLERANCE).all()


def test_ppa_estimates_agree_with_the_oracle_outside_tenants_with_housing_aid(estimates_and_truth) -> None:
    flags, households = estimates_and_truth
    ours = flags.filter(pl.col("regle") == "ppa_non_recours").select("id_foyer", "montant_estime")
    scope = households.filter(pl.col("non_recours_ppa"))
    joined = scope.join(ours, on="id_foyer", how="left")
    comparable = joined.filter(
        ~((pl.col("statut_logement") == "locataire") & (pl.col("percoit_al") | (pl.col("al_droit") > 0)))
    )
    assert comparable.height > 100
    assert comparable["montant_estime"].null_count() == 0
    assert ((comparable["montant_estime"] - comparable["ppa_droit"]).abs() <= TOLERANCE).all()


@pytest.mark.parametrize(
    ("rule", "minimum"),
    [
        ("ppa_non_recours", "ppa.montant_minimum_verse"),
        ("rsa_non_recours", "rsa.montant_minimum_verse"),
        ("al_non_recours", "al.montant_minimum_verse"),
    ],
)
def test_conditions_met_cite_the_minimum_paid_not_each_households_amount(
    estimates_and_truth, rule, minimum
) -> None:
    flags, _ = estimates_and_truth
    flagged = flags.filter(pl.col("regle") == rule)
    floor = load_parameters().at(minimum, datetime.date(2025, 6, 1)).value
    label = f"montant estimé au moins égal au minimum versé ({round(floor)} €)"
    assert flagged["conditions_remplies"].str.ends_with(label).all()
    # The amount is the flag's own column; the conditions text takes a few values per rule.
    assert flagged["montant_estime"].n_unique() > 100
    assert flagged["conditions_remplies"].n_unique() <= 8
