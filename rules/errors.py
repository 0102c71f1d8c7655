"""Errors of the rules domain."""

from __future__ import annotations


class RulesError(Exception):
    """Base of the rules errors; `str()` is a French message safe to show."""

    exit_code = 2
