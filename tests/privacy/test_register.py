from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlalchemy import Engine

from privacy import register
from privacy.errors import InputInvalid
from tests.privacy.conftest import REGISTER_CODE, REPO
from uptake.db import transaction


def test_the_shipped_register_entry_loads_and_exports_in_french(engine: Engine, registered: str) -> None:
    with transaction(engine) as session:
        rows = register.entries(session)
        html = register.to_html(rows)
        table = list(csv.reader(io.StringIO(register.to_csv(rows)), delimiter=";"))
    assert [r.code for r in rows] == [REGISTER_CODE]
    assert '<html lang="fr">' in html and "Responsable du traitement" in html and "AIPD" in html
    assert table[0][:2] == ["Référence", "Traitement"] and table[1][0] == REGISTER_CODE


def test_a_register_file_missing_a_key_is_refused_naming_it(tmp_path: Path) -> None:
    text = (REPO / "config" / "registre" / "information-proactive-droits.toml").read_text(encoding="utf-8")
    broken = tmp_path / "fiche.toml"
    broken.write_text(text.replace("aipd = ", "aipd_ref = "), encoding="utf-8")
    with pytest.raises(InputInvalid, match=r"traitement\.aipd"):
        register.load_file(broken)


def test_every_mistake_of_a_register_file_is_told_at_once_with_its_line(tmp_path: Path) -> None:
    text = (REPO / "config" / "registre" / "information-proactive-droits.toml").read_text(encoding="utf-8")
    broken = tmp_path / "fiche.toml"
    broken.write_text(
        text.replace("aipd = ", "aipd_ref = ").replace("transferts = ", "transfert = "), encoding="utf-8"
    )

    with pytest.raises(InputInvalid) as refused:
        register.load_file(broken)

    said = str(refused.value)
    assert said.startswith(f"{broken} : 4 problèmes :\n  – ")
    for key in ("traitement.aipd", "traitement.aipd_ref", "traitement.transferts", "traitement.transfert"):
        assert f"clé `{key}`" in said
    assert said.count("ligne ") == 4
