"""Every operation the code writes to the audit log has a French label for the DPO."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from uptake.audit_labels import ACTION_LABELS, DETAIL_LABELS, attested_range, entry_pairs

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


def _literal_keys(value: ast.expr) -> set[str]:
    """The keys of a dict written in the code, also as `{…} if x else None` and `{…} | ({…} if x else {})`."""
    if isinstance(value, ast.Dict):
        return {str(k.value) for k in value.keys if isinstance(k, ast.Constant)}
    if isinstance(value, ast.IfExp):
        return _literal_keys(value.body) | _literal_keys(value.orelse)
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.BitOr):
        return _literal_keys(value.left) | _literal_keys(value.right)
    return set()


def _written_detail_keys() -> set[str]:
    """The keys of every `counts={…}` and `details={…}` written, the keyword details of an account's
    entries (`_record(…, avant=…)`), and the tables a key rotation counts
    (`rekey_column(…, "contacts", …)`)."""
    found: set[str] = set()
    for package in PACKAGES:
        for source in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
                for keyword in node.keywords:
                    if keyword.arg in ("counts", "details"):
                        found |= _literal_keys(keyword.value)
                    elif name == "_record" and keyword.arg not in (None, "action"):
                        found.add(keyword.arg)
                if name == "rekey_column" and isinstance(node.args[3], ast.Constant):
                    found.add(str(node.args[3].value))
    return found


def test_every_count_and_detail_written_to_the_audit_log_has_a_french_label() -> None:
    written = _written_detail_keys()
    assert {"hors_territoire", "apres", "motif", "contacts", "reponses_questionnaires"} <= written
    assert sorted(written - set(DETAIL_LABELS)) == []  # a key without a label
    assert sorted(set(DETAIL_LABELS) - written) == []  # a label of a key no longer written


def test_an_entry_shows_its_keys_in_french_and_its_days_the_french_way() -> None:
    stored = (
        '{"apres": ["04088", "04178"], "avant": [], "expire_le": "2027-05-30", "nouvelle_cle": 3, '
        '"note": "2027-13-45", "role": "travailleur_social"}'
    )
    assert entry_pairs(stored) == [
        ("avant", "—"),  # what a change replaced comes first, an empty list as a dash
        ("après", "04088, 04178"),
        ("expire le", "30/05/2027"),
        ("nouvelle cle", "3"),  # a key without a label keeps its words
        ("note", "2027-13-45"),  # not a day: shown as stored
        ("rôle", "Travailleur social"),
    ]
    assert entry_pairs(None) == []


def test_an_attestation_is_said_by_the_range_of_entries_it_covers() -> None:
    covered = '{"depuis_l_entree": 998, "jusqu_a_l_entree": 1234}'
    # Numbers written the French way, with a narrow no-break space.
    assert attested_range("journal.attestation", covered) == "entrées n° 998 à 1\u202f234 (237 entrées)"
    one = '{"depuis_l_entree": 4, "jusqu_a_l_entree": 4}'
    assert attested_range("journal.attestation", one) == "entrées n° 4 à 4 (1 entrée)"
    # Another operation, or an attestation whose details hold no range, keeps its counts and details.
    assert attested_range("journal.elagage", covered) is None
    assert attested_range("journal.attestation", '{"jusqu_a_l_entree": 4}') is None
    assert attested_range("journal.attestation", None) is None
