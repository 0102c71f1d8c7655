"""Errors of the privacy domain: never carry names, numbers or addresses, only pseudonyms and counts."""

from __future__ import annotations


class PrivacyError(Exception):
    """Base of the privacy errors; `str()` is a French message safe to show."""

    exit_code = 2
