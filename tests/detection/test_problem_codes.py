"""The refusal codes of an extract: declared once, documented in docs/extraits.md, and no other emitted."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from detection.problem_codes import PROBLEM_CODES, UndeclaredProblemCode
from detection.reading import ExtractUnreadable
from detection.validation import Problem

ROOT = Path(__file__).resolve().parents[2]
DOCUMENT = ROOT / "docs" / "extraits.md"
# The first cell of a row of the document's code tables: | `code` | …
_CODE_ROW = re.compile(r"^\| `([a-z0-9_]+)` \|", re.MULTILINE)


def _documented_codes() -> list[str]:
    return _CODE_ROW.findall(DOCUMENT.read_text(encoding="utf-8"))


def test_every_declared_code_is_explained_in_the_document_and_every_documented_code_is_declared() -> None:
    documented = _documented_codes()
    assert sorted(set(documented)) == sorted(documented), "un code décrit deux fois"
    assert set(documented) - set(PROBLEM_CODES) == set(), "codes décrits mais inexistants"
    assert set(PROBLEM_CODES) - set(documented) == set(), "codes existants mais non décrits"


def test_every_declared_code_is_emitted_by_the_detection_code() -> None:
    # A code left declared after its check was removed would be documented for nothing.
    sources = "\n".join(
        path.read_text(encoding="utf-8")
        for path in (ROOT / "detection").glob("*.py")
        if path.name != "problem_codes.py"
    )
    never_emitted = {code for code in PROBLEM_CODES if f'"{code}"' not in sources}
    assert never_emitted == set()


def test_a_problem_with_an_undeclared_code_is_refused_when_built() -> None:
    with pytest.raises(UndeclaredProblemCode, match=r"docs/extraits\.md"):
        Problem("loyer", "loyer_bizarre", "valeurs étranges", 1, (1,))
    with pytest.raises(UndeclaredProblemCode, match="loyer_bizarre"):
        ExtractUnreadable("loyer_bizarre", "fichier étrange")


def test_a_problem_with_a_declared_code_is_built() -> None:
    problem = Problem("loyer", "hors_bornes", "valeurs négatives", 2, (3, 9))
    assert problem.as_dict()["code"] == "hors_bornes"
