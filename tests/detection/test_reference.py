"""The shipped commune reference: every commune placed where it is, corrections included."""

from __future__ import annotations

import polars as pl

from detection.reference import CORRECTIONS_FILE, load_reference, read_reference_file

# Boxes (latitude, longitude) around metropolitan France and Corsica, and each overseas department,
# by the first digits of the commune code.
ZONES = {
    "971": ((15.8, 16.6), (-61.9, -60.9)),  # Guadeloupe
    "972": ((14.3, 14.9), (-61.3, -60.7)),  # Martinique
    "973": ((2.0, 6.0), (-54.7, -51.5)),  # Guyane
    "974": ((-21.5, -20.8), (55.2, 55.9)),  # La Réunion
    "976": ((-13.1, -12.6), (44.9, 45.4)),  # Mayotte
}
METROPOLE = ((41.3, 51.2), (-5.2, 9.6))


def _misplaced(frame: pl.DataFrame) -> list[str]:
    misplaced = []
    for code, latitude, longitude in frame.select("code_commune", "latitude", "longitude").iter_rows():
        (south, north), (west, east) = ZONES.get(code[:3], METROPOLE)
        if not (south <= latitude <= north and west <= longitude <= east):  # NaN compares false
            misplaced.append(code)
    return misplaced


def test_every_commune_of_the_reference_has_a_point_inside_its_department_zone() -> None:
    assert load_reference().frame.height == 34_870
    assert _misplaced(load_reference().frame) == []


def test_the_corrections_replace_the_points_the_shipped_file_gets_wrong_or_lacks() -> None:
    raw = read_reference_file()
    corrected = set(
        pl.read_csv(CORRECTIONS_FILE, schema_overrides={"code_commune": pl.String})["code_commune"]
    )
    # Each correction is needed (the file itself is the unchanged copy of its source) and enough.
    assert set(_misplaced(raw)) == corrected
    assert len(corrected) == 12
    vincey = load_reference().get("88513")
    assert (vincey.latitude, vincey.longitude) == (48.34066, 6.32944)
    assert load_reference().frame.filter(pl.col("code_commune").is_in(corrected))[
        "source_point"
    ].unique().to_list() == ["correction"]
