"""Which errors may be told as they are: the domain errors, whose French messages carry no personal data."""

from __future__ import annotations


def told(exc: BaseException) -> str | None:
    """The French message of a domain error (it names the input and the fix, never household data);
    None for any other error, whose message may quote a value and is shown by its type only."""
    # Imported here: the command line loads the domain packages only when a command needs them.
    from detection.errors import DetectionError
    from outreach.errors import OutreachError
    from privacy.errors import PrivacyError
    from rules.errors import RulesError
    from uptake.alerts import AlertsMisconfigured
    from uptake.db import DatabaseUnusable

    domain = (
        DetectionError | RulesError | PrivacyError | OutreachError | DatabaseUnusable | AlertsMisconfigured
    )
    if isinstance(exc, domain):
        return str(exc)
    return None
