"""The Caf's relay reached as the environment says: STARTTLS with the relay's certificate checked, a
login sent only over it; a real SMTP server on loopback with a certificate made for the test."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from outreach.channels import build_email, deliver_emails
from outreach.errors import OutreachError
from tests.conftest import SmtpInbox, free_port
from uptake.relay import caf_relay

USER, PASSWORD = "uptake", "mot-de-passe-du-relais"


def _certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the test's own authority) and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relais de test")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "relais.pem", folder / "relais.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (USER.encode(), PASSWORD.encode())
    # Not `handled`: aiosmtpd itself answers a refusal (535), as a real relay does.
    return AuthResult(success=ok, handled=False)


@pytest.fixture
def secure_relay(tmp_path: Path) -> Iterator[tuple[SmtpInbox, int, Path]]:
    """A relay that requires STARTTLS and a login, like the Caf's may."""
    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = SmtpInbox()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        authenticator=_authenticate,
    )
    controller.start()
    try:
        yield inbox, controller.port, cert
    finally:
        controller.stop()


def _message() -> Any:
    return build_email(
        sender_name="Caf",
        sender_address="caf@example.org",
        to="foyer0@example.org",
        subject="s",
        text="t",
        html="h",
    )


def _secure_env(ca: Path, password: str = PASSWORD) -> dict[str, str]:
    return {
        "UPTAKE_SMTP_STARTTLS": "1",
        "UPTAKE_SMTP_CA": str(ca),
        "UPTAKE_SMTP_UTILISATEUR": USER,
        "UPTAKE_SMTP_MOT_DE_PASSE": password,
    }


def test_a_relay_requiring_starttls_and_a_login_takes_the_messages(secure_relay) -> None:
    inbox, port, ca = secure_relay
    delivery = deliver_emails([_message()], caf_relay(f"127.0.0.1:{port}", _secure_env(ca)))
    assert (delivery.sent, delivery.failure) == (1, None)
    assert [rcpts for _, rcpts, _ in inbox.messages] == [["foyer0@example.org"]]


def test_a_relay_whose_certificate_is_not_recognised_gets_nothing(secure_relay) -> None:
    inbox, port, _ = secure_relay
    env = {"UPTAKE_SMTP_STARTTLS": "1", "UPTAKE_SMTP_UTILISATEUR": USER, "UPTAKE_SMTP_MOT_DE_PASSE": PASSWORD}
    delivery = deliver_emails([_message()], caf_relay(f"127.0.0.1:{port}", env))
    assert delivery.sent == 0 and "certificat du serveur SMTP non reconnu" in str(delivery.failure)
    assert inbox.messages == []


@pytest.mark.parametrize(
    ("env", "told"),
    [
        ({"UPTAKE_SMTP_STARTTLS": "oui"}, "UPTAKE_SMTP_STARTTLS=« oui » : écrivez 1"),
        (
            {"UPTAKE_SMTP_UTILISATEUR": USER},
            "donnez UPTAKE_SMTP_UTILISATEUR et UPTAKE_SMTP_MOT_DE_PASSE ensemble",
        ),
        (
            {"UPTAKE_SMTP_UTILISATEUR": USER, "UPTAKE_SMTP_MOT_DE_PASSE": PASSWORD},
            "ne part que sur une connexion chiffrée : ajoutez UPTAKE_SMTP_STARTTLS=1",
        ),
        ({"UPTAKE_SMTP_CA": "/nulle/part.pem"}, "UPTAKE_SMTP_CA : le fichier /nulle/part.pem n'existe pas"),
    ],
)
def test_relay_settings_that_cannot_be_used_are_refused_with_the_variable_to_fix(
    env: dict[str, str], told: str
) -> None:
    with pytest.raises(OutreachError) as refused:
        caf_relay("relais.caf.example:587", env)
    assert told in str(refused.value)
    assert PASSWORD not in str(refused.value)


def test_a_relay_refusing_the_login_gets_nothing_and_says_so_without_the_password(secure_relay) -> None:
    inbox, port, ca = secure_relay
    env = _secure_env(ca, password="ancien-mot-de-passe")
    delivery = deliver_emails([_message()], caf_relay(f"127.0.0.1:{port}", env))
    assert delivery.sent == 0 and "identifiant ou mot de passe refusé" in str(delivery.failure)
    assert "ancien-mot-de-passe" not in str(delivery.failure)
    assert inbox.messages == []
