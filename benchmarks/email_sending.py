"""A launch's e-mails made ready for the SMTP server: archived bytes and their envelope, against a full parse.

    .venv/bin/python benchmarks/email_sending.py [--emails 5000]

Renders N e-mails of the shipped action 2.2 e-mail template (synthetic names from Faker), built and
zipped as a launch archives them (`outreach.channels.build_email`, `zip_files`), then, in the same
process, prepares them for sending both ways and hands each to a relay that takes it without any
network (what `smtplib` would write on the socket is counted and hashed):

- `analyse_complete`, the way before 2 December 2026: every e-mail parsed (`policy.default`), the
  parsed messages held for the whole sending, each serialised again by `send_message`;
- `octets`, the product's way (`outreach.sending`): only each e-mail's From and To read at the
  claim, each e-mail read from the archive as it is handed over and given as its bytes to `sendmail`.

Checks that the relay received the same bytes both ways. Prints each way's time (claim, hand-over,
total), the memory the claim holds until the end of the sending (tracemalloc, a pass of its own; the
archive counted for `octets`, which keeps it to read the e-mails from), and ends with
`ratio=X memoire_ratio=Y courriels_par_s=Z` (new / old).
"""

from __future__ import annotations

import argparse
import email
import hashlib
import io
import smtplib
import sys
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Sequence
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

# This folder holds `detection.py` and `rules.py`: it must not shadow the packages of those names.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]

# Imported before any timing: the first way timed would pay for it.
from outreach.channels import _result  # noqa: E402
from outreach.sending import _Batch, _envelopes  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


class _NullRelay(smtplib.SMTP):
    """An SMTP client with no connection: it takes every message and keeps what it would have sent
    (a byte count and a hash), so that only the preparation is timed."""

    def __init__(self) -> None:
        super().__init__()
        self.sent_bytes = 0
        self.digest = hashlib.sha256()

    def ehlo_or_helo_if_needed(self) -> None:
        """Already greeted: there is no server."""

    def has_extn(self, opt: str) -> bool:
        """The relay takes 8-bit bodies and international addresses, as the Caf's does."""
        return True

    def sendmail(
        self,
        from_addr: str,
        to_addrs: str | Sequence[str],
        msg: Any,
        mail_options: Sequence[str] = (),
        rcpt_options: Sequence[str] = (),
    ) -> dict[str, tuple[int, bytes]]:
        """Count and hash the message's bytes; nobody refused."""
        self.sent_bytes += len(msg)
        self.digest.update(msg)
        return {}


def _archive(count: int) -> tuple[bytes, list[str]]:
    """N e-mails zipped as a launch does, and the households they are for."""
    from faker import Faker

    from outreach.campaigns import find_campaign
    from outreach.channels import build_email, zip_files
    from outreach.templates import Renderer, format_estimate

    campaign = find_campaign(ROOT / "config", "action-2-2-non-recours")
    attempt = next(a for a in campaign.tentatives if a.canal == "email")
    renderer = Renderer(ROOT / "config" / "templates", campaign)
    fake = Faker("fr_FR")
    fake.seed_instance(2026)
    files, households = [], []
    for rank in range(1, count + 1):
        context = renderer.base_context(["ppa_non_recours"], first_contact=True)
        context.update(
            civilite=fake.random_element(("M.", "Mme")),
            nom=fake.last_name(),
            prenom=fake.first_name(),
            montant_estime=format_estimate(float(fake.random_int(20, 1200))),
        )
        message = renderer.render(attempt, context, first_contact=True)
        pseudonym = f"{rank:064x}"
        built = build_email(
            sender_name=campaign.campagne.expediteur,
            sender_address=campaign.campagne.courriel_expediteur,
            to=f"foyer{rank}@example.org",
            subject=message.subject or campaign.campagne.titre,
            text=message.text,
            html=message.html or "",
        )
        files.append((f"{rank:05d}-{pseudonym}.eml", built.as_bytes()))
        households.append(pseudonym)
    return zip_files(files), households


def _full_parse_claim(archive: bytes, households: list[str]) -> list[EmailMessage]:
    """The claim before: every wanted e-mail parsed, its To compared with the directory's address."""
    wanted = set(households)
    messages = []
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        for name in opened.namelist():
            if name.removesuffix(".eml").split("-", 1)[1] in wanted:
                message = email.message_from_bytes(opened.read(name), policy=policy.default)
                assert isinstance(message, EmailMessage)
                if message["To"] != f"foyer{int(name[:5])}@example.org":
                    raise AssertionError("adresse inattendue")
                messages.append(message)
    return messages


def _full_parse_send(messages: list[EmailMessage], relay: _NullRelay) -> None:
    for message in messages:
        relay.send_message(message)


def _bytes_claim(archive: bytes, households: list[str]) -> _Batch:
    """The claim now (`outreach.sending`): the envelopes only, the batch reading the archive later."""
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        found = _envelopes(opened, households)
    return _Batch(1, archive, [], [found[pseudonym] for pseudonym in households])


def _bytes_send(batch: _Batch, relay: _NullRelay) -> None:
    for message in batch.messages():
        _result(message, relay)


def _timed(claim: Callable[[], Any], send: Callable[[Any, _NullRelay], None]) -> tuple[float, float, str]:
    relay = _NullRelay()
    start = time.perf_counter()
    held = claim()
    claimed = time.perf_counter()
    send(held, relay)
    return claimed - start, time.perf_counter() - claimed, relay.digest.hexdigest()


def _held(claim: Callable[[], Any]) -> int:
    """What the claim's result holds in memory, in bytes (the archive itself excluded)."""
    tracemalloc.start()
    held = claim()
    size = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    del held
    return size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=5000, help="nombre de courriels (5 000 par défaut)")
    count = parser.parse_args().emails
    archive, households = _archive(count)
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        size = sum(info.file_size for info in opened.infolist()) / count
    print(f"{count} courriels de {size / 1e3:.1f} ko en moyenne, archive de {len(archive) / 1e6:.1f} Mo")
    # Each way: its claim, its hand-over, and the archive's size when the way keeps the archive.
    ways: dict[str, tuple[Callable[[], Any], Callable[[Any, _NullRelay], None], int]] = {
        "analyse_complete": (lambda: _full_parse_claim(archive, households), _full_parse_send, 0),
        "octets": (lambda: _bytes_claim(archive, households), _bytes_send, len(archive)),
    }
    results = {}
    for way, (claim, send, kept) in ways.items():
        claim_s, send_s, digest = _timed(claim, send)
        held = _held(claim) + kept
        results[way] = (claim_s + send_s, held, digest)
        print(
            f"{way:17} réservation {claim_s:7.2f} s  remise {send_s:7.2f} s  total {claim_s + send_s:7.2f} s"
            f"  ({count / (claim_s + send_s):8.0f} courriels/s)  mémoire gardée {held / 1e6:7.1f} Mo"
        )
    old, new = results["analyse_complete"], results["octets"]
    if old[2] != new[2]:
        raise SystemExit("les deux façons n'ont pas remis les mêmes octets au relais")
    print("mêmes octets remis au relais dans les deux façons")
    ratios = f"ratio={new[0] / old[0]:.3f} memoire_ratio={new[1] / old[1]:.3f}"
    print(f"{ratios} courriels_par_s={count / new[0]:.0f}")


if __name__ == "__main__":
    main()
