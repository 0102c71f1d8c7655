"""Fixtures to build household extracts (a small valid frame, writers for every accepted file shape) and
the configured territory's geography."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from detection.contract import HOUSEHOLD_SCHEMA
from detection.geography import Geography
from detection.territory import load_territory
from tests.conftest import CONFIG_DIR

MOIS = dt.date(2024, 3, 1)


def valid_frame() -> pl.DataFrame:
    """Five synthetic households that satisfy every rule of contract v1 (all columns present)."""
    n = 5
    frame = pl.DataFrame(
        {
            "id_foyer": [f"foyer_{i:012d}" for i in range(1, n + 1)],
            "mois_reference": [MOIS] * n,
            "code_commune": ["04088", "04178", "04104", "04206", "04088"],
            "age_allocataire": [24, 35, 42, 67, 30],
            "en_couple": [False, True, True, False, False],
            "nb_enfants": [0, 2, 3, 0, 1],
            "nb_enfants_moins_3_ans": [0, 1, 0, 0, 1],
            "revenus_activite_allocataire": [850.5, 1450.0, 0.0, 0.0, 1200.25],
            "revenus_activite_conjoint": [0.0, 600.75, 1800.0, 0.0, 0.0],
            "autres_ressources": [0.0, 0.0, 120.0, 980.0, 0.0],
            "statut_logement": ["locataire", "accedant", "locataire", "proprietaire", "heberge"],
            "loyer": [420.0, 0.0, 610.5, 0.0, 0.0],
            "zone_logement": [3, 3, 2, 3, 1],
            "logement_non_decent": [False, False, True, False, False],
            "impaye_loyer_mois": [0, 0, 3, 0, 0],
            "dette_locative": [0.0, 0.0, 1830.0, 0.0, 0.0],
            "percoit_ppa": [True, False, False, False, True],
            "percoit_rsa": [False, False, True, False, False],
            "percoit_al": [True, False, False, False, False],
            "montant_ppa": [160.25, 0.0, 0.0, 0.0, 95.0],
            "montant_rsa": [0.0, 0.0, 310.0, 0.0, 0.0],
            "montant_al": [180.0, 0.0, 0.0, 0.0, 0.0],
            "montant_prestations_familiales": [0.0, 148.5, 292.0, 0.0, 0.0],
            "accompagnement_social": [False, False, True, False, False],
            "evenement_vie": [None, "naissance", None, "deces_conjoint", None],
            "date_evenement": [None, dt.date(2024, 1, 14), None, dt.date(2024, 3, 31), None],
            "canal_sms": [True, True, False, False, True],
            "canal_email": [True, False, False, False, True],
            "canal_telephone": [True, True, True, False, True],
            "canal_courrier": [True, True, True, True, True],
            "opposition_contact": [False, False, False, True, False],
        },
        schema=HOUSEHOLD_SCHEMA,
    )
    return frame


def to_text(frame: pl.DataFrame, *, french: bool) -> pl.DataFrame:
    """Every column as the text an export would hold (French: decimal comma, oui/non, JJ/MM/AAAA)."""
    columns = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype == pl.Boolean:
            yes, no = ("oui", "non") if french else ("true", "false")
            text: pl.Expr = pl.when(col).then(pl.lit(yes)).when(~col).then(pl.lit(no))
        elif dtype == pl.Date:
            text = col.dt.strftime("%d/%m/%Y" if french else "%Y-%m-%d")
        elif dtype == pl.Float64:
            text = col.cast(pl.String)
            if french:
                text = text.str.replace(".", ",", literal=True)
        else:
            text = col.cast(pl.String)
        columns.append(text.alias(name))
    return frame.select(columns)


def write_extract(frame: pl.DataFrame, path: Path, shape: str = "parquet") -> Path:
    """Write `frame` as `parquet`, `csv` (comma, decimal point, true/false) or `csv_fr` (`;`, decimal comma,
    oui/non, JJ/MM/AAAA)."""
    if shape == "parquet":
        frame.write_parquet(path)
    elif shape == "csv":
        to_text(frame, french=False).write_csv(path, separator=",")
    elif shape == "csv_fr":
        to_text(frame, french=True).write_csv(path, separator=";")
    else:
        raise ValueError(shape)
    return path


WriteExtract = Callable[..., Path]


@pytest.fixture
def extract_file(tmp_path: Path) -> WriteExtract:
    """`extract_file(frame, shape="parquet", name=None)` writes an extract under the test's folder."""
    counter = iter(range(10_000))

    def _write(frame: pl.DataFrame | None = None, shape: str = "parquet", name: str | None = None) -> Path:
        suffix = ".parquet" if shape == "parquet" else ".csv"
        path = tmp_path / (name or f"extrait_{next(counter)}{suffix}")
        return write_extract(valid_frame() if frame is None else frame, path, shape)

    return _write


@pytest.fixture(scope="module")
def geography() -> Geography:
    """The geography of the shipped territory (config/territoire.toml)."""
    return Geography.of(load_territory(CONFIG_DIR / "territoire.toml"))
