"""Loading the processing register: a missing or empty folder is refused, and the audit log says what a
load added, changed (which fields) and removed."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from privacy import register
from privacy.errors import InputInvalid
from privacy.models import AuditEntry
from tests.privacy.conftest import NOW, REGISTER_CODE, REPO, later
from uptake.db import transaction

SHIPPED = REPO / "config" / "registre" / "information-proactive-droits.toml"


def _last_load(engine: Engine) -> AuditEntry:
    with transaction(engine) as session:
        entry = session.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "registre.chargement")
            .order_by(AuditEntry.seq.desc())
        ).first()
    assert entry is not None
    return entry


def _load(engine: Engine, folder: Path, days: int) -> register.RegisterChanges:
    with transaction(engine) as session:
        return register.save(
            session, register.load_dir(folder), actor="dpo", source=str(folder), now=later(days)
        )


def test_a_missing_folder_is_refused_naming_it(tmp_path: Path) -> None:
    with pytest.raises(InputInvalid, match="dossier des fiches du registre introuvable") as refused:
        register.load_dir(tmp_path / "absent")
    assert str(tmp_path / "absent") in str(refused.value)


def test_a_folder_without_entries_is_refused(tmp_path: Path) -> None:
    (tmp_path / "lisez-moi.txt").write_text("pas une fiche", encoding="utf-8")
    with pytest.raises(InputInvalid, match=r"aucune fiche \*\.toml dans ce dossier"):
        register.load_dir(tmp_path)


def test_a_load_records_the_entries_added_changed_with_their_fields_and_removed(
    engine: Engine, registered: str, tmp_path: Path
) -> None:
    folder = tmp_path / "registre"
    folder.mkdir()
    text = SHIPPED.read_text(encoding="utf-8")
    revised = re.sub(r"(?m)^aipd = .*$", 'aipd = "AIPD révisée en 2026"', text)
    (folder / "droits.toml").write_text(revised, encoding="utf-8")
    (folder / "autre.toml").write_text(text.replace(REGISTER_CODE, "AUTRE-TRAITEMENT"), encoding="utf-8")

    changes = _load(engine, folder, 1)

    assert changes.added == ["AUTRE-TRAITEMENT"] and changes.changed == {REGISTER_CODE: ["aipd"]}
    details = json.loads(_last_load(engine).details or "{}")
    assert details == {
        "ajoutees": ["AUTRE-TRAITEMENT"],
        "modifiees": {REGISTER_CODE: ["aipd"]},
        "retirees": [],
    }

    shutil.move(folder / "droits.toml", tmp_path / "droits.toml")
    changes = _load(engine, folder, 2)

    assert (changes.added, changes.changed, changes.removed) == ([], {}, [REGISTER_CODE])
    assert json.loads(_last_load(engine).details or "{}")["retirees"] == [REGISTER_CODE]
    with transaction(engine) as session:
        assert [row.code for row in register.entries(session)] == ["AUTRE-TRAITEMENT"]


def test_reloading_the_same_entries_changes_nothing_and_keeps_their_date(
    engine: Engine, registered: str
) -> None:
    changes = _load(engine, SHIPPED.parent, 3)

    assert changes == register.RegisterChanges()
    with transaction(engine) as session:
        assert register.get(session, REGISTER_CODE).updated_at.startswith(NOW.date().isoformat())
