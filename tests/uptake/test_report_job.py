"""The `rapport` job: the indicators report written each month, and e-mailed to its readers."""

from __future__ import annotations

import email
from email.message import EmailMessage
from email.policy import default
from pathlib import Path

import pytest
from sqlalchemy import select

from outreach.channels import SmtpSettings
from outreach.errors import ReportNotSent
from privacy.disclosure import ThresholdBelowConfigured
from privacy.models import AuditEntry
from tests.conftest import SmtpInbox, free_port
from uptake.context import AppContext
from uptake.db import transaction
from uptake.jobs import JOBS, ScheduleError, report_job


def test_the_report_is_written_and_mailed_with_its_tables_and_the_sending_is_audited(
    uptake_home: Path, smtp_server: tuple[SmtpInbox, SmtpSettings], monkeypatch: pytest.MonkeyPatch
) -> None:
    inbox, relay = smtp_server
    monkeypatch.setenv("UPTAKE_ALERTES_EXPEDITEUR", "uptake@caf.example.org")
    result = report_job(
        schedule="rapport-mensuel",
        destinataires="comite-ctg@example.org, dpo@example.org",
        smtp=f"{relay.host}:{relay.port}",
    )
    assert result["status"] == "succeeded" and result["destinataires"] == 2
    html = uptake_home / "rapport" / "indicateurs.html"
    assert html.is_file() and Path(result["rapport"]) == html
    ((sender, recipients, raw),) = inbox.messages
    assert sender == "uptake@caf.example.org"
    assert recipients == ["comite-ctg@example.org", "dpo@example.org"]
    message = email.message_from_bytes(raw, policy=default)
    assert isinstance(message, EmailMessage)
    assert "indicateurs des actions 2.2 et 7.1" in str(message["Subject"])
    attached = {
        part.get_filename(): part.get_content().replace("\r\n", "\n") for part in message.iter_attachments()
    }
    assert attached["indicateurs.html"].rstrip() == html.read_text(encoding="utf-8").rstrip()  # accents too
    assert "action-2-2-synthese.csv" in attached and "action-7-1-par-commune.csv" in attached
    body = message.get_body(("plain",))
    assert body is not None and "aucune donnée personnelle" in body.get_content()
    with transaction(AppContext.from_env().engine) as session:
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.seq)))
    assert actions[-2:] == ["rapport.indicateurs", "rapport.envoi"]


def test_without_recipients_the_report_is_only_written(uptake_home: Path) -> None:
    result = report_job(schedule="rapport-mensuel")
    assert result["destinataires"] == 0
    assert (uptake_home / "rapport" / "indicateurs.html").is_file()


def test_a_report_the_relay_does_not_take_fails_the_execution_and_stays_written(uptake_home: Path) -> None:
    with pytest.raises(ReportNotSent, match="rapport écrit mais non envoyé"):
        report_job(destinataires="comite-ctg@example.org", smtp=f"127.0.0.1:{free_port()}")
    assert (uptake_home / "rapport" / "indicateurs.html").is_file()


def test_recipients_without_a_relay_are_refused_before_anything_is_written(
    uptake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("UPTAKE_SMTP", raising=False)
    with pytest.raises(ScheduleError, match="sans relais de messagerie"):
        report_job(destinataires="comite-ctg@example.org")
    assert not (uptake_home / "rapport").exists()


def test_a_misspelt_recipient_or_a_missing_relay_is_refused_when_the_schedule_is_added(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("UPTAKE_SMTP", raising=False)
    relay = {"smtp": "relais.caf.example.fr:25"}
    with pytest.raises(ScheduleError, match="« comite-ctg » n'est pas une adresse électronique"):
        JOBS["rapport"].checked({"destinataires": "comite-ctg, dpo@example.org", **relay})
    with pytest.raises(ScheduleError, match="seuil : au moins 1 attendu"):
        JOBS["rapport"].checked({"seuil": "0"})
    # Without it the first execution, on the 1st of the month, would fail: said when it is added.
    with pytest.raises(ScheduleError, match="sans relais de messagerie : donnez --param smtp=HOTE:PORT"):
        JOBS["rapport"].checked({"destinataires": "dpo@example.org"})
    assert (
        JOBS["rapport"].checked({"destinataires": "dpo@example.org", "seuil": "15", **relay})["seuil"] == 15
    )
    monkeypatch.setenv("UPTAKE_SMTP", "relais.caf.example.fr")
    assert JOBS["rapport"].checked({"destinataires": "dpo@example.org"})["destinataires"] == "dpo@example.org"


def test_uptake_report_sends_the_report_on_request(
    cli, uptake_home: Path, smtp_server: tuple[SmtpInbox, SmtpSettings]
) -> None:
    inbox, relay = smtp_server
    sent = cli("report", "--envoyer-a", "comite-ctg@example.org", "--smtp", f"{relay.host}:{relay.port}")
    assert sent.code == 0, sent.output
    assert "Envoyé à 1 destinataire(s)." in sent.stdout
    ((_, recipients, _),) = inbox.messages
    assert recipients == ["comite-ctg@example.org"]
    refused = cli("report", "--envoyer-a", "comite-ctg", "--smtp", f"{relay.host}:{relay.port}")
    assert refused.code == 2 and "« comite-ctg » n'est pas une adresse électronique" in refused.stderr
    no_relay = cli("report", "--envoyer-a", "comite-ctg@example.org", env={"UPTAKE_SMTP": ""})
    assert no_relay.code == 2 and "sans relais de messagerie" in " ".join(no_relay.stderr.split())


def test_the_report_uses_the_threshold_the_caf_configured_like_the_web_pages(cli, uptake_home: Path) -> None:
    assert cli("report", env={"UPTAKE_SEUIL_SECRET": "5"}).code == 0
    html = (uptake_home / "rapport" / "indicateurs.html").read_text(encoding="utf-8")
    assert "les effectifs inférieurs à 5," in html
    wrong = cli("report", env={"UPTAKE_SEUIL_SECRET": "cinq"})
    assert wrong.code == 2 and "UPTAKE_SEUIL_SECRET : « cinq »" in wrong.stderr


def test_uptake_report_refuses_a_threshold_below_the_configured_one(cli, uptake_home: Path) -> None:
    lower = cli("report", "--seuil", "1", env={"UPTAKE_SEUIL_SECRET": "11"})
    assert lower.code == 2
    told = " ".join(lower.stderr.split())
    assert "seuil de secret statistique 1 refusé" in told and "Donnez un seuil d'au moins 11" in told
    assert not (uptake_home / "rapport" / "indicateurs.html").exists()
    higher = cli("report", "--seuil", "20", env={"UPTAKE_SEUIL_SECRET": "11"})
    assert higher.code == 0, higher.output
    html = (uptake_home / "rapport" / "indicateurs.html").read_text(encoding="utf-8")
    assert "les effectifs inférieurs à 20," in html


def test_the_scheduled_report_refuses_a_threshold_below_the_configured_one(
    uptake_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("UPTAKE_SEUIL_SECRET", "11")
    with pytest.raises(ThresholdBelowConfigured, match="seuil de secret statistique 5 refusé"):
        report_job(schedule="rapport-mensuel", seuil=5)
    assert not (uptake_home / "rapport" / "indicateurs.html").exists()
    # Told when the schedule is added, not at its first execution.
    with pytest.raises(ScheduleError, match="paramètre seuil : seuil de secret statistique 5 refusé"):
        JOBS["rapport"].checked({"seuil": "5"})
    assert JOBS["rapport"].checked({"seuil": "20"})["seuil"] == 20


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (("--envoyer-a", " , "), "aucune adresse dans « , »"),
        (("--smtp", "relais:25"), "relais de messagerie donné sans destinataire"),
        (("--seuil", "999999999"), "inférieur ou égal à 1000"),
    ],
)
def test_report_options_that_would_be_ignored_are_refused_before_anything_is_written(
    cli, uptake_home: Path, options: tuple[str, ...], said: str
) -> None:
    result = cli("report", *options)
    assert result.code == 2 and said in " ".join(result.output.split())
    assert not (uptake_home / "rapport").exists()
