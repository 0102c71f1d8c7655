"""A failed scheduled execution is e-mailed to the data team through a real SMTP server on loopback."""

from __future__ import annotations

import datetime as dt
import email
from email import policy
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from sqlalchemy import Engine

from detection.errors import ConfigInvalid
from outreach.channels import SmtpSettings
from tests.conftest import SmtpInbox, free_port
from uptake import scheduler as scheduler_module
from uptake.alerts import AlertSettings, AlertsMisconfigured, alert_settings
from uptake.scheduler import add_schedule, claim_execution

AT = dt.datetime(2026, 12, 5, 5, 0, tzinfo=dt.UTC)


def test_no_recipient_means_no_alert() -> None:
    assert alert_settings({}) is None
    assert alert_settings({"UPTAKE_ALERTES": " , "}) is None


@pytest.mark.parametrize(
    ("environ", "said"),
    [
        ({"UPTAKE_ALERTES": "donnees@caf.fr, donnees", "UPTAKE_SMTP": "relais"}, "« donnees » n'est pas"),
        ({"UPTAKE_ALERTES": "donnees@caf.fr"}, "renseignée mais pas UPTAKE_SMTP"),
        (
            {"UPTAKE_ALERTES": "donnees@caf.fr", "UPTAKE_SMTP": "relais:vingt-cinq"},
            "UPTAKE_SMTP : serveur SMTP",
        ),
    ],
)
def test_unusable_alert_settings_say_which_variable_to_fix(environ: dict[str, str], said: str) -> None:
    with pytest.raises(AlertsMisconfigured, match=said):
        alert_settings(environ)


def test_alert_settings_read_every_recipient_and_the_relay() -> None:
    settings = alert_settings(
        {"UPTAKE_ALERTES": "donnees@caf.fr, dpo@caf.fr", "UPTAKE_SMTP": "relais.caf.fr:2525"}
    )
    assert settings is not None
    assert settings.recipients == ("donnees@caf.fr", "dpo@caf.fr")
    assert (settings.smtp.host, settings.smtp.port) == ("relais.caf.fr", 2525)


def _end(engine: Engine, alerts: AlertSettings, code: int, exception: BaseException | None) -> None:
    assert claim_execution(engine, "mensuel", AT, "a:1")
    event = JobExecutionEvent(code, "mensuel", "default", AT, retval=None, exception=exception)
    scheduler_module._record_outcome(engine, alerts, event)


def test_a_failed_execution_is_mailed_with_what_went_wrong(
    engine: Engine, tmp_path: Path, smtp_server: tuple[SmtpInbox, SmtpSettings]
) -> None:
    inbox, smtp = smtp_server
    add_schedule(engine, "mensuel", cron="0 6 5 * *", job="detection", params={"inbox": str(tmp_path)})
    alerts = AlertSettings(("donnees@caf.fr",), smtp, "uptake@caf.fr")
    problem = ConfigInvalid("territoire.toml", "eloignement.part_communes", "doit être au plus 1.0", "")

    _end(engine, alerts, EVENT_JOB_ERROR, problem)

    [(sender, recipients, raw)] = inbox.messages
    assert (sender, recipients) == ("uptake@caf.fr", ["donnees@caf.fr"])
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message["Subject"] == "uptake : échec de la planification « mensuel »"
    body = message.get_content()
    assert "prévue le 05/12/2026 06:00 a échoué" in body  # Paris time
    assert str(problem) in body and "uptake schedule run mensuel" in body


def test_a_successful_execution_sends_nothing(
    engine: Engine, tmp_path: Path, smtp_server: tuple[SmtpInbox, SmtpSettings]
) -> None:
    inbox, smtp = smtp_server
    add_schedule(engine, "mensuel", cron="0 6 5 * *", job="detection", params={"inbox": str(tmp_path)})
    alerts = AlertSettings(("donnees@caf.fr",), smtp, "uptake@caf.fr")
    _end(engine, alerts, EVENT_JOB_EXECUTED, None)
    assert inbox.messages == []


def test_a_relay_that_does_not_answer_still_records_the_failure(engine: Engine, tmp_path: Path) -> None:
    add_schedule(engine, "mensuel", cron="0 6 5 * *", job="detection", params={"inbox": str(tmp_path)})
    nowhere = AlertSettings(
        ("donnees@caf.fr",), SmtpSettings("127.0.0.1", free_port(), timeout=2), "u@caf.fr"
    )
    _end(engine, nowhere, EVENT_JOB_ERROR, KeyError("x"))
    [info] = scheduler_module.list_schedules(engine)
    assert info.last_outcome == scheduler_module.FAILED
