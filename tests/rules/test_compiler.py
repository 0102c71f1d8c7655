"""How the compiler turns rules into one plan: table look-ups, and values computed on flagged rows only."""

from __future__ import annotations

import datetime
from pathlib import Path

import polars as pl

from detection.contract import HOUSEHOLD_COLUMNS, HOUSEHOLD_SCHEMA
from rules.catalogue import load_catalogue
from rules.compiler import compile_catalogue, values_for_verdict
from rules.parameters import load_parameters

# Table `al.plafond_loyer_seul` in June 2024: zone 1, 2 and 3.
JUNE_2024 = datetime.date(2024, 6, 1)

LOOKUPS = """id: essai
version: "1"
titre: Essai
prestation: essai
action: "7.1"
base_legale: [texte]
lit: [impaye_loyer_mois, loyer, zone_logement]
valeurs:
  par_zone: al.plafond_loyer_seul[zone_logement]
  par_mois: al.plafond_loyer_seul[impaye_loyer_mois]
  par_loyer: al.plafond_loyer_seul[loyer / 100]
  fixe: al.plafond_loyer_seul[2]
  borne: al.plafond_loyer_seul[max(min(impaye_loyer_mois, 3), 1)]
conditions:
  - loyer >= 0
priorite: 1
explication: "{par_zone} | {par_mois} | {par_loyer} | {fixe} | {borne}"
"""


def _explanations(tmp_path: Path, rule: str, households: list[dict[str, object]], contract, geography):
    (tmp_path / "essai.yaml").write_text(rule, encoding="utf-8")
    catalogue = load_catalogue(tmp_path, columns=contract.column_kinds, enums=contract.enum_values)
    compiled = compile_catalogue(catalogue, load_parameters(), JUNE_2024, geography)
    defaults = {c.name: c.default for c in HOUSEHOLD_COLUMNS}
    # In metropolitan France, where the housing benefit's parameters hold.
    place = {"code_commune": "04088"}
    rows = [{**defaults, **place, "id_foyer": f"foyer_test_{n:010d}", **h} for n, h in enumerate(households)]
    frame = pl.DataFrame(rows, schema=HOUSEHOLD_SCHEMA, orient="row")
    flags = compiled.flags(frame.lazy()).sort("id_foyer").collect()
    return catalogue, dict(zip(flags["id_foyer"], flags["explication"], strict=True))


def test_table_look_ups_give_the_keys_value_and_nothing_outside_the_table(tmp_path, contract, geography):
    table = load_parameters().at("al.plafond_loyer_seul", JUNE_2024).value
    assert isinstance(table, dict)
    one, two, three = (f"{round(table[k]):d}" for k in (1, 2, 3))
    _, texts = _explanations(
        tmp_path,
        LOOKUPS,
        [
            {"zone_logement": 1, "impaye_loyer_mois": 3, "loyer": 200.0},
            {"zone_logement": 3, "impaye_loyer_mois": 0, "loyer": 250.0},  # 0 and 2.5: no such key
            {"zone_logement": 2, "impaye_loyer_mois": 7, "loyer": 100.0},  # 7: beyond the last key
        ],
        contract,
        geography,
    )
    assert list(texts.values()) == [
        f"{one} | {three} | {two} | {two} | {three}",
        f"{three} | — | — | {two} | {one}",
        f"{two} | — | {one} | {two} | {three}",
    ]


def test_the_verdict_needs_only_the_values_its_conditions_and_minimum_read(tmp_path, contract, geography):
    rule = """id: essai
version: "1"
titre: Essai
prestation: essai
action: "7.1"
base_legale: [texte]
lit: [loyer, impaye_loyer_mois, code_commune]
valeurs:
  mensuel: loyer * 1
  dette: mensuel * impaye_loyer_mois
  distance: distance_services()
  rang: si impaye_loyer_mois > 6 alors 1 sinon 2
conditions:
  - dette >= 1000
priorite: rang
explication: "Dette {dette} €, commune à {distance} km."
"""
    catalogue, texts = _explanations(
        tmp_path,
        rule,
        [{"loyer": 500.0, "impaye_loyer_mois": 3, "code_commune": "04088"}, {"loyer": 100.0}],
        contract,
        geography,
    )
    assert values_for_verdict(catalogue.get("essai")) == {"mensuel", "dette"}
    # The values left for the flagged rows are still shown in their explanation.
    distance = geography.distance_km("04088")
    assert distance is not None
    assert list(texts.values()) == [f"Dette 1 500 €, commune à {round(distance)} km."]
