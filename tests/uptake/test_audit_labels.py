"""Every operation the code writes to the audit log has a French label for the DPO."""

from __future__ import annotations

import re
from pathlib import Path

from uptake.audit_labels import ACTION_LABELS

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("detection", "outreach", "privacy", "rules", "uptake")
# `action="echange.approbation"`, `action="courriel.envoi" if … else "courriel.envoi_interrompu"`,
# `VIEW_ACTION = "foyer.consultation"`, `action=f"pseudonymisation.{label}"`.
LITERAL = re.compile(r'(?:action=|_ACTION = |else )f?"([a-z_]+(?:\.[a-z_{}]+)?)"')


def _written_operations() -> set[str]:
    found: set[str] = set()
    for package in PACKAGES:
        for source in (REPO / package).rglob("*.py"):
            for code in LITERAL.findall(source.read_text(encoding="utf-8")):
                if "." in code or code == "purge":
                    found.add(code)
    return found


def test_every_operation_written_to_the_audit_log_has_a_french_label() -> None:
    written = _written_operations()
    pseudonymisation = {code for code in written if code.startswith("pseudonymisation.")}
    assert pseudonymisation == {"pseudonymisation.{label}"}
    expected = (written - pseudonymisation) | {"pseudonymisation.extrait", "pseudonymisation.annuaire"}
    assert {"echange.revocation", "foyer.consultation", "courriel.envoi_interrompu", "purge"} <= expected
    assert sorted(expected - set(ACTION_LABELS)) == []  # an operation without a label
    assert sorted(set(ACTION_LABELS) - expected) == []  # a label of an operation no longer written
