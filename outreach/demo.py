"""The outreach half of `uptake demo`: campaigns, lists, simulated month, reconciliation, report.

Given a detection run on a synthetic extract, an approved exchange and a filled vault, plays the two
campaigns of the convention over one simulated month, deterministically from `seed` and the data
folder's keys (a new folder draws new keys, hence other pseudonyms, and the holdout and the simulated
outcomes fall on other households: the counts vary a little from one demonstration to the next):

  day 0      launch action 2.2 (SMS first) and action 7.1 (call list first)
  day 2      simulated call and message outcomes (`outreach.simulation`)
  days 1-31  the e-mails prepared the day before handed to the simulated relay (marked sent by
             another tool), then the daily follow-up run: each attempt of the sequences whose delay
             has passed and whose condition holds (7.1: questionnaire letters; 2.2: e-mails, then
             calls, then letters)
  day 25     the returned questionnaires of action 7.1, typed in a spreadsheet and imported
  day 32     the numbers that replied STOP to an SMS, as the SMS provider sends them: objections;
             the relay's delivery reports for the e-mails it could not deliver: those addresses
             are no longer used
  day 40     the letters that came back undelivered (a week after each left), typed back by their
             reference and imported
  then       next month's extract (rights opened in both arms, more often when contacted),
             reconciliation, indicators report.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from outreach.attempts import OutputFile
from outreach.campaigns import find_campaign
from outreach.launch import LaunchReport, OutreachEnv, launch_campaign, run_followups
from outreach.models import ELSEWHERE
from outreach.outcome_import import import_outcome_file
from outreach.provider_returns import Bounces, StopReplies, import_bounces, import_stop_replies
from outreach.questionnaire_answers import QuestionnairesImported, import_questionnaires
from outreach.reconcile import ReconciliationReport, reconcile_extract
from outreach.report import ReportFiles, write_report
from outreach.sending import set_aside
from outreach.simulation import (
    delivery_reports_maildir,
    returned_letters_file,
    returned_questionnaires_file,
    simulate_month_file,
    stop_replies_file,
)

CAMPAIGN_22 = "action-2-2-non-recours"
CAMPAIGN_71 = "action-7-1-logement"
FOLLOWUP_DAYS = range(1, 32)
RETURNED_LETTERS_DAY = 40
RETURNED_DAY = 25


@dataclass
class DemoOutreach:
    """Where everything went, for the demo to print."""

    launches: list[LaunchReport] = field(default_factory=list)
    followups: list[OutputFile] = field(default_factory=list)
    next_extract: Path | None = None
    simulated_openings: tuple[int, int] = (0, 0)
    reconciliation: ReconciliationReport | None = None
    report: ReportFiles | None = None
    questionnaires_file: Path | None = None
    questionnaires: QuestionnairesImported | None = None
    letters_returned: int = 0
    stop_replies: StopReplies | None = None
    bounces: Bounces | None = None

    @property
    def outputs(self) -> list[OutputFile]:
        """Every list written (SMS batches, e-mails, call lists, letters)."""
        first = [o for launch in self.launches for attempt in launch.attempts for o in attempt.outputs]
        return first + self.followups


def run_demo_outreach(
    env: OutreachEnv,
    config_dir: Path,
    *,
    run_id: int,
    extract_path: Path,
    out_dir: Path,
    communes: dict[str, str],
    seed: int = 2024,
    now: dt.datetime | None = None,
    base_rate: float = 0.10,
    contact_effect: float = 0.15,
) -> DemoOutreach:
    """Play both campaigns on run `run_id` over one simulated month; see the module documentation."""
    start = now or dt.datetime.now(dt.UTC)
    result = DemoOutreach()
    campaigns = {name: find_campaign(config_dir, name) for name in (CAMPAIGN_22, CAMPAIGN_71)}
    for name, campaign in campaigns.items():
        result.launches.append(
            launch_campaign(env, campaign, run_id, out_dir=out_dir / "listes" / name, now=start)
        )
    simulated = simulate_month_file(
        env.engine,
        extract_path,
        [launch.launch_id for launch in result.launches],
        out_dir / "extrait-mois-suivant.parquet",
        seed=seed,
        base_rate=base_rate,
        contact_effect=contact_effect,
        actor="simulation",
        now=start + dt.timedelta(days=2),
    )
    for day in FOLLOWUP_DAYS:
        for launch in result.launches:
            # The demo sends no mail: its e-mails are handed to the simulated relay, outside uptake.
            set_aside(env, campaigns[launch.campaign], launch.launch_id, ELSEWHERE)
            attempts = run_followups(
                env,
                campaigns[launch.campaign],
                launch.launch_id,
                out_dir=out_dir / "listes" / launch.campaign,
                now=start + dt.timedelta(days=day),
            )
            result.followups += [o for attempt in attempts for o in attempt.outputs]
    stop_file = out_dir / "reponses-stop.csv"
    sms_batches = [o.path for o in result.outputs if o.path.suffix == ".csv" and "-sms-" in o.path.name]
    stop_replies_file(sms_batches, stop_file, seed=seed)
    with Session(env.engine) as session, session.begin():
        result.stop_replies = import_stop_replies(
            session,
            env.keyring,
            stop_file,
            actor="prestataire SMS (simulation)",
            now=start + dt.timedelta(days=32),
        )
    relay_box = out_dir / "retours-relais"
    email_batches = [o.path for o in result.outputs if o.path.suffix == ".zip" and "-email-" in o.path.name]
    delivery_reports_maildir(email_batches, relay_box, seed=seed)
    with Session(env.engine) as session, session.begin():
        result.bounces = import_bounces(
            session,
            env.keyring,
            relay_box,
            actor="relais de messagerie (simulation)",
            now=start + dt.timedelta(days=32),
        )
    letters_back = out_dir / "courriers-revenus.csv"
    returned_letters_file(env.engine, letters_back, seed=seed)
    typed_at = start + dt.timedelta(days=RETURNED_LETTERS_DAY)
    with Session(env.engine) as session, session.begin():
        result.letters_returned = import_outcome_file(
            session, letters_back, actor="courrier (simulation)", now=typed_at
        ).recorded
    launch_71 = next(launch for launch in result.launches if launch.campaign == CAMPAIGN_71)
    for name, questionnaire in campaigns[CAMPAIGN_71].questionnaires.items():
        returned_at = start + dt.timedelta(days=RETURNED_DAY)
        path = out_dir / f"questionnaires-retournes-{name}.csv"
        returned_questionnaires_file(
            env.engine, launch_71.launch_id, questionnaire, path, seed=seed, received=returned_at.date()
        )
        with Session(env.engine) as session, session.begin():
            result.questionnaires = import_questionnaires(
                session, path, config_dir, actor="secrétariat (simulation)", now=returned_at
            )
        result.questionnaires_file = path
    result.next_extract = out_dir / "extrait-mois-suivant.parquet"
    result.simulated_openings = (simulated.opening_contacted, simulated.opening_holdout)
    result.reconciliation = reconcile_extract(
        env.engine, result.next_extract, actor="rapprochement", now=start + dt.timedelta(days=32)
    )
    result.report = write_report(
        env.engine,
        out_dir / "rapport",
        communes=communes,
        territory=env.geography.territory.nom,
        actor=env.actor,
    )
    return result
