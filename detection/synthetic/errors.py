"""Errors of the synthetic data generator (French messages, no personal data)."""

from __future__ import annotations

from detection.errors import DetectionError
from privacy.errors import located


class SynthesisError(DetectionError):
    """A synthesis request that cannot be honoured: says what is wrong and how to fix it."""

    exit_code = 2

    def __init__(self, problem: str, fix: str) -> None:
        self.problem, self.fix = problem, fix
        super().__init__(located("données synthétiques", None, problem, fix))
