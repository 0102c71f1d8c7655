"""Property: any valid extract is accepted identically from Parquet, comma CSV and French CSV."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detection.contract import EVENEMENTS_VIE, HOUSEHOLD_COLUMNS, HOUSEHOLD_SCHEMA, STATUTS_LOGEMENT
from detection.validation import validate_extract
from tests.detection.conftest import write_extract

COMMUNES = ("04088", "04178", "04104", "04206", "2A004", "97411", "75056")
money = st.floats(
    min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False, allow_subnormal=False
).map(abs)
flag = st.booleans()


@st.composite
def households(draw: st.DrawFn, mois: dt.date) -> dict[str, Any]:
    """One household that satisfies every rule of contract v1 (its id is set by the extract)."""
    en_couple = draw(flag)
    nb_enfants = draw(st.integers(0, 20))
    statut = draw(st.sampled_from(STATUTS_LOGEMENT))
    paid = {name: draw(flag) for name in ("ppa", "rsa", "al")}
    evenement = draw(st.none() | st.sampled_from(EVENEMENTS_VIE))
    month_end = (mois + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    date_evenement = draw(st.dates(min_value=dt.date(2015, 1, 1), max_value=month_end)) if evenement else None
    return {
        "mois_reference": mois,
        "code_commune": draw(st.sampled_from(COMMUNES)),
        "age_allocataire": draw(st.integers(0, 120)),
        "en_couple": en_couple,
        "nb_enfants": nb_enfants,
        "nb_enfants_moins_3_ans": draw(st.integers(0, nb_enfants)),
        "revenus_activite_allocataire": draw(money),
        "revenus_activite_conjoint": draw(money) if en_couple else 0.0,
        "autres_ressources": draw(money),
        "statut_logement": statut,
        "loyer": draw(money) if statut == "locataire" else 0.0,
        "zone_logement": draw(st.integers(1, 3)),
        "logement_non_decent": draw(flag),
        "impaye_loyer_mois": draw(st.integers(0, 240)),
        "dette_locative": draw(money),
        "percoit_ppa": paid["ppa"],
        "percoit_rsa": paid["rsa"],
        "percoit_al": paid["al"],
        "montant_ppa": draw(money) if paid["ppa"] else 0.0,
        "montant_rsa": draw(money) if paid["rsa"] else 0.0,
        "montant_al": draw(money) if paid["al"] else 0.0,
        "montant_prestations_familiales": draw(money),
        "accompagnement_social": draw(flag),
        "evenement_vie": evenement,
        "date_evenement": date_evenement,
        "canal_sms": draw(flag),
        "canal_email": draw(flag),
        "canal_telephone": draw(flag),
        "canal_courrier": draw(flag),
        "opposition_contact": draw(flag),
    }


@st.composite
def extracts(draw: st.DrawFn) -> pl.DataFrame:
    """A valid extract of 1 to 8 households for one reference month, ids unique."""
    mois = draw(st.dates(min_value=dt.date(2016, 1, 1), max_value=dt.date(2026, 6, 1))).replace(day=1)
    rows = draw(st.lists(households(mois), min_size=1, max_size=8))
    ids = draw(
        st.lists(
            st.from_regex(r"\A[A-Za-z0-9_-]{16,40}\Z"), min_size=len(rows), max_size=len(rows), unique=True
        )
    )
    return pl.DataFrame(
        [{"id_foyer": id_foyer, **row} for id_foyer, row in zip(ids, rows, strict=True)],
        schema=HOUSEHOLD_SCHEMA,
    )


OPTIONAL = [c for c in HOUSEHOLD_COLUMNS if not c.required]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=extracts(), omitted=st.sets(st.sampled_from([c.name for c in OPTIONAL])))
def test_any_valid_extract_is_accepted_identically_from_parquet_comma_csv_and_french_csv(
    frame: pl.DataFrame, omitted: set[str]
) -> None:
    if "date_evenement" in omitted:  # a life event without its date breaks the contract
        omitted = omitted | {"evenement_vie"}
    written = frame.drop(sorted(omitted))
    # An optional column left out of the file reads as its default.
    expected = frame.with_columns(
        pl.lit(c.default, c.dtype).alias(c.name) for c in OPTIONAL if c.name in omitted
    )
    with tempfile.TemporaryDirectory() as folder:
        scanned = {}
        for shape in ("parquet", "csv", "csv_fr"):
            extract = validate_extract(write_extract(written, Path(folder) / f"extrait.{shape}", shape))
            assert extract.rows == frame.height
            assert extract.mois_reference == frame["mois_reference"][0]
            assert extract.dropped_columns == ()
            scanned[shape] = extract.scan().collect()

    assert scanned["parquet"].equals(expected)
    assert scanned["csv"].equals(expected)
    assert scanned["csv_fr"].equals(expected)
