"""Geography: distances to services, remote communes, perimeters, territory membership."""

from __future__ import annotations

import polars as pl
import pytest

from detection.geography import Geography
from detection.reference import CommuneReference, haversine_km


def test_haversine_matches_a_known_distance() -> None:
    # Paris (Notre-Dame) to Marseille (Vieux-Port): about 661 km as the crow flies.
    assert haversine_km(48.8530, 2.3499, 43.2951, 5.3745) == pytest.approx(661, abs=3)


def test_a_commune_with_a_service_point_is_at_distance_zero(geography: Geography) -> None:
    assert geography.distance_km("04088") == 0.0
    assert geography.distance_km("75056") is None


def test_remote_communes_are_the_farthest_share(geography: Geography) -> None:
    table = geography.communes
    remote = table.filter("commune_eloignee")
    near = table.filter(~pl.col("commune_eloignee"))
    assert remote.height == 4  # 30 % of 13 communes, rounded up
    assert remote["distance_services_km"].min() >= near["distance_services_km"].max()  # type: ignore[operator]


def test_expressions_agree_with_the_table(geography: Geography) -> None:
    frame = pl.DataFrame({"code_commune": [*geography.territory.communes, "75056"]})
    out = frame.with_columns(
        d=geography.distance_expr(),
        r=geography.remote_expr(),
        t=geography.in_territory_expr(),
        opah=geography.perimeter_expr("OPAH"),
    )
    expected = dict(geography.communes.select("code_commune", "distance_services_km").iter_rows())
    for code, dist, remote, inside, opah in out.iter_rows():
        assert dist == expected.get(code)
        assert remote == (code in geography.remote_communes)
        assert inside == (code != "75056")
        assert opah == (code == "04088")


def test_a_commune_whose_distance_is_unknown_is_not_taken_for_one_of_the_farthest(
    geography: Geography,
) -> None:
    # Lurs (04106), among the farthest of the territory, without coordinates in the reference.
    frame = geography.reference.frame.with_columns(
        pl.when(pl.col("code_commune") == "04106").then(None).otherwise(pl.col(c)).alias(c)
        for c in ("latitude", "longitude")
    )
    unknown = Geography.of(geography.territory, CommuneReference(frame))
    assert unknown.distance_km("04106") is None
    assert "04106" not in unknown.remote_communes
    assert len(unknown.remote_communes) == len(geography.remote_communes)  # the next farthest instead


def test_a_territory_without_a_pig_still_runs_the_catalogue_and_places_nobody_in_one(
    geography: Geography,
) -> None:
    import dataclasses
    import datetime as dt

    from detection.runs import compile_for_run, load_rules

    only_opah = dataclasses.replace(
        geography.territory, perimeters=tuple(p for p in geography.territory.perimeters if p.type == "OPAH")
    )
    without_pig = Geography.of(only_opah)
    # The shipped rule `logement_non_decent` names both types: the catalogue must still load.
    catalogue, parameters = load_rules(without_pig)
    rule = catalogue.select(["logement_non_decent"])
    compiled, _ = compile_for_run(rule, parameters, dt.date(2024, 6, 1), without_pig)
    assert compiled.rule_versions
    frame = pl.DataFrame({"code_commune": list(geography.territory.communes)})
    assert not frame.select(without_pig.perimeter_expr("PIG")).to_series().any()
    # A perimeter's name that does not exist is still refused (a typo, not a type).
    assert "OPAH Manosque" not in without_pig.perimeter_names()
