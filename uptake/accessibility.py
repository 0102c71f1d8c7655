"""Where users report an accessibility barrier: the statement (`/accessibilite`) must give a way to
reach the Caf, read from `UPTAKE_CONTACT_ACCESSIBILITE`."""

from __future__ import annotations

import os

from uptake.alerts import email_addresses

CONTACT_ENV = "UPTAKE_CONTACT_ACCESSIBILITE"


def accessibility_contact() -> str | None:
    """The address of `UPTAKE_CONTACT_ACCESSIBILITE`, normalised; None when unset. `ValueError` (in
    French) when it is no e-mail address, or several: the statement names one contact."""
    addresses = email_addresses(os.environ.get(CONTACT_ENV, ""))
    if len(addresses) > 1:
        raise ValueError(
            f"{len(addresses)} adresses données : la déclaration d'accessibilité en nomme une seule, celle "
            "du référent accessibilité (une liste de diffusion s'il faut plusieurs personnes)"
        )
    return addresses[0] if addresses else None
