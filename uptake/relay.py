"""The Caf's mail relay as every sending of uptake reaches it (campaign e-mails, reports, alerts).

Written `HOTE` or `HOTE:PORT`; from the environment only (never on a command line, which any user of
the machine can read): `UPTAKE_SMTP_STARTTLS=1` to encrypt the connection (the relay's certificate is
checked against the system's authorities, or `UPTAKE_SMTP_CA`, a PEM file), and the login
`UPTAKE_SMTP_UTILISATEUR` / `UPTAKE_SMTP_MOT_DE_PASSE`, sent only over STARTTLS.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from outreach.channels import SmtpSettings, smtp_relay
from outreach.errors import OutreachError

STARTTLS_ENV, CA_ENV = "UPTAKE_SMTP_STARTTLS", "UPTAKE_SMTP_CA"
USER_ENV, PASSWORD_ENV = "UPTAKE_SMTP_UTILISATEUR", "UPTAKE_SMTP_MOT_DE_PASSE"


def caf_relay(written: str, environ: Mapping[str, str] | None = None) -> SmtpSettings:
    """The relay `written` (`HOTE[:PORT]`) with the encryption and login of the environment;
    `OutreachError` naming the variable to fix."""
    env = os.environ if environ is None else environ
    settings = smtp_relay(written)
    starttls = env.get(STARTTLS_ENV, "").strip()
    if starttls not in ("", "0", "1"):
        raise OutreachError(f"{STARTTLS_ENV}=« {starttls} » : écrivez 1 (connexion chiffrée) ou 0")
    ca_file = env.get(CA_ENV, "").strip() or None
    if ca_file is not None and not Path(ca_file).is_file():
        raise OutreachError(
            f"{CA_ENV} : le fichier {ca_file} n'existe pas (certificat PEM de l'autorité du relais)"
        )
    user, password = env.get(USER_ENV, "").strip() or None, env.get(PASSWORD_ENV) or None
    if (user is None) != (password is None):
        raise OutreachError(f"donnez {USER_ENV} et {PASSWORD_ENV} ensemble, ou aucun des deux")
    if user is not None and starttls != "1":
        raise OutreachError(
            f"le mot de passe du relais ne part que sur une connexion chiffrée : ajoutez {STARTTLS_ENV}=1"
        )
    return replace(settings, starttls=starttls == "1", ca_file=ca_file, user=user, password=password)
