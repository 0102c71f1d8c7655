"""Errors of the outreach domain."""

from __future__ import annotations


class OutreachError(Exception):
    """Base of the outreach errors; `str()` is a French message safe to show."""

    exit_code = 2
