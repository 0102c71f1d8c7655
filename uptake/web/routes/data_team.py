"""The data team's pages: detection runs and their counts, campaigns and their progress, indicators,
and whether the installation is ready."""

from __future__ import annotations

import math
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path as FilePath
from typing import Annotated, Any
from urllib.parse import urlencode

import polars as pl
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import Engine, func, select

from detection.records import STEP_LABELS, get_run, list_runs
from detection.reference import load_reference
from outreach.channels import zip_files
from outreach.charts import HIDDEN_LABEL, bar_chart, french_number, percent
from outreach.indicators import (
    Indicators22,
    Indicators71,
    Tables,
    indicators_22,
    indicators_71,
    load_tables,
    tables_digest,
)
from outreach.models import Contact, Launch, Outcome, WorklistItem
from outreach.outcomes import OUTCOMES
from outreach.report import CHANNEL_LABELS, HEADERS
from outreach.sending import SENDING_LABELS
from privacy.canonical import caf_day, caf_time_zone, utc_now
from uptake import french
from uptake.health import check_installation
from uptake.jobs import ScheduleError
from uptake.reporting import produce_report
from uptake.scheduler import (
    OUTCOME_LABELS,
    ScheduleInfo,
    daemon_sentence,
    daemons,
    failure_sentences,
    list_schedules,
    missed_sentences,
    pause_schedule,
    purge_sentence,
    resume_schedule,
    rezone_schedule,
    run_schedule_now,
    zone_sentences,
)
from uptake.web.access import allow, current_account, guard
from uptake.web.errors import error_page
from uptake.web.fields import RecordId
from uptake.web.rendering import render
from uptake.web.services import context_of, db
from uptake.web.worklist import STATUS_LABELS

router = APIRouter(prefix="/donnees", dependencies=guard(allow("equipe_donnees")))
ROUTERS = (router,)

# Rates are shown as percentages, like in the published report.
RATE_COLUMNS = frozenset({"taux_ouverture", "ic95_bas", "ic95_haut"})


# What each button of the schedules table does, and what is said once it is done.
SCHEDULE_ACTIONS: dict[str, tuple[Callable[[Engine, str], ScheduleInfo], str]] = {
    "suspendre": (pause_schedule, "Planification « {name} » suspendue : elle ne se déclenche plus."),
    "reprendre": (resume_schedule, "Planification « {name} » reprise : prochaine exécution le {next}."),
    "executer": (
        run_schedule_now,
        "Planification « {name} » à exécuter maintenant : le démon la lance à son prochain passage, "
        "puis elle suit de nouveau son rythme, même si elle était suspendue.",
    ),
    "fuseau": (
        lambda engine, name: rezone_schedule(engine, name)[0],
        "Planification « {name} » passée au fuseau de l'installation, aux mêmes heures : prochaine "
        "exécution le {next}.",
    ),
}


@router.get("/executions")
def runs_page(
    request: Request,
    fait: Annotated[str | None, Query(max_length=16)] = None,
    planification: Annotated[str | None, Query(max_length=191)] = None,
) -> Response:
    """The newest detection runs, their status and counts (households, flags by rule), and the
    schedules that start them (each can be paused, resumed, run now or moved to the Caf's time zone)."""
    done = (fait, planification) if fait in SCHEDULE_ACTIONS and planification else None
    return _runs_page(request, done=done)


@router.post("/planifications/{name}/{action}")
def change_schedule(request: Request, name: Annotated[str, Path(max_length=191)], action: str) -> Response:
    """Pause, resume, run now or move to the Caf's time zone one schedule (the daemon runs it; nothing
    runs in the web request)."""
    if action not in SCHEDULE_ACTIONS:
        return error_page(request, 404, "Action inconnue sur une planification.")
    try:
        SCHEDULE_ACTIONS[action][0](context_of(request).engine, name)
    except ScheduleError as exc:
        return _runs_page(request, error=str(exc), status_code=400)
    query = urlencode({"fait": action, "planification": name})
    return RedirectResponse(f"/donnees/executions?{query}", status_code=303)


def _runs_page(
    request: Request,
    *,
    done: tuple[str, str] | None = None,
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    engine = context_of(request).engine
    runs = list_runs(engine, limit=50)
    schedules = list_schedules(engine)
    notice = None
    if done is not None and any(s.name == done[1] for s in schedules):
        # (action, schedule name) just carried out: say it, with the next run; a link typed by hand
        # naming no schedule says nothing.
        action, name = done
        following = [s.next_run for s in schedules if s.name == name and s.next_run]
        notice = SCHEDULE_ACTIONS[action][1].format(
            name=name, next=french.moment(following[0]) if following else "—"
        )
    return render(
        request,
        "donnees/runs.html",
        {
            "title": "Exécutions de la détection",
            "runs": runs,
            "schedules": schedules,
            "warnings": zone_sentences(schedules) + missed_sentences(schedules),
            "caf_zone": caf_time_zone().key,
            "failed": failure_sentences(schedules),
            "outcome_labels": OUTCOME_LABELS,
            "unpurged": purge_sentence(schedules),
            "daemons": daemon_sentence(daemons(engine)),
            "notice": notice,
            "error": error,
        },
        status_code=status_code,
    )


# Communes listed on a run's page: a national run flags households in some 35,000 of them.
COMMUNES_SHOWN = 100


@router.get("/executions/{run_id}")
def run_page(request: Request, run_id: RecordId) -> Response:
    """One run: its identity and fingerprints, its flags per rule and per commune (the
    `COMMUNES_SHOWN` with most flags, the others summed), its steps."""
    with db(request) as session:
        record = get_run(session, run_id)
    if record is None:
        return error_page(request, 404, f"Aucune exécution n° {run_id}.")
    reference = load_reference()
    ranked = sorted(record.counts_by_commune.items(), key=lambda kv: (-kv[1], kv[0]))
    communes = [
        (code, reference.get(code).nom if code in reference else "?", count)
        for code, count in ranked[:COMMUNES_SHOWN]
    ]
    rest = ranked[COMMUNES_SHOWN:]
    steps = [(STEP_LABELS.get(step, step), seconds) for step, seconds in record.timings.items()]
    return render(
        request,
        "donnees/run.html",
        {
            "title": f"Exécution n° {record.id}",
            "r": record,
            "communes": communes,
            "others": (len(rest), sum(n for _, n in rest)),
            "steps": steps,
            "titles": context_of(request).rule_titles,
        },
    )


@router.get("/campagnes")
def campaigns_page(request: Request) -> Response:
    """Each launch with its counts, the state of its call list and the outcomes recorded."""
    with db(request) as session:
        launches = list(session.scalars(select(Launch).order_by(Launch.id.desc()).limit(50)))
        ids = [launch.id for launch in launches]
        worklist: dict[int, Counter[str]] = {i: Counter() for i in ids}
        for launch_id, statut, count in session.execute(
            select(WorklistItem.launch_id, WorklistItem.statut, func.count())
            .where(WorklistItem.launch_id.in_(ids))
            .group_by(WorklistItem.launch_id, WorklistItem.statut)
        ):
            worklist[launch_id][statut] = count
        outcomes: dict[int, Counter[str]] = {i: Counter() for i in ids}
        for outcome_launch, resultat, n in session.execute(
            select(Outcome.launch_id, Outcome.resultat, func.count())
            .where(Outcome.launch_id.in_(ids))
            .group_by(Outcome.launch_id, Outcome.resultat)
        ):
            if outcome_launch is not None:
                outcomes[outcome_launch][resultat] = n
        emails: dict[int, Counter[str | None]] = {i: Counter() for i in ids}
        for email_launch, state, n in session.execute(
            select(Contact.launch_id, Contact.envoi, func.count())
            .where(Contact.launch_id.in_(ids), Contact.canal == "email")
            .group_by(Contact.launch_id, Contact.envoi)
        ):
            emails[email_launch][state] = n
    return render(
        request,
        "donnees/campaigns.html",
        {
            "title": "Campagnes et avancement",
            "launches": launches,
            "worklist": worklist,
            "outcomes": outcomes,
            "emails": emails,
            "sending_labels": SENDING_LABELS,
            "status_labels": STATUS_LABELS,
            "outcome_labels": OUTCOMES,
        },
    )


def _table(frame: pl.DataFrame, communes: dict[str, str]) -> dict[str, Any]:
    def cell(column: str, value: object) -> str:
        if value is None:
            return HIDDEN_LABEL
        if column == "code_commune":
            return f"{communes.get(str(value), '')} ({value})"
        if column == "canal":
            return CHANNEL_LABELS.get(str(value), str(value))
        if isinstance(value, float) and math.isnan(value):
            return "—"
        if column in RATE_COLUMNS and isinstance(value, float):
            return percent(value)
        if isinstance(value, float):
            return french_number(value, 0 if value == int(value) else 2)
        return french_number(value) if isinstance(value, int) else str(value)

    return {
        "headers": [HEADERS.get(c, c.replace("_", " ").capitalize()) for c in frame.columns],
        "rows": [[cell(c, v) for c, v in zip(frame.columns, row, strict=True)] for row in frame.iter_rows()],
    }


def _indicators(request: Request, tables: Tables, threshold: int) -> tuple[Indicators22, Indicators71]:
    """The indicators of `tables`, computed again only when the tables changed: their statistical
    secrecy takes seconds to tens of seconds for a department, and the page is read far more often
    than outcomes come in. One entry per process (the latest tables)."""
    key = (tables_digest(tables), threshold)
    cached = getattr(request.app.state, "indicators", None)
    if cached is not None and cached[0] == key:
        result: tuple[Indicators22, Indicators71] = cached[1]
        return result
    result = indicators_22(tables, threshold), indicators_71(tables, threshold)
    request.app.state.indicators = (key, result)
    return result


@router.get("/indicateurs")
def indicators_page(request: Request) -> Response:
    """The indicators of actions 2.2 and 7.1 (convention, annexe 5), after small-count suppression."""
    context = context_of(request)
    threshold: int = request.app.state.disclosure_threshold
    ind22, ind71 = _indicators(request, load_tables(context.engine), threshold)
    communes = dict(context.geography.communes.select("code_commune", "nom").iter_rows())
    chart = bar_chart(
        [
            (CHANNEL_LABELS.get(c, c), v)
            for c, v in ind22.by_channel.select("canal", "foyers_contactes").iter_rows()
        ],
        title="Foyers contactés par canal",
    )
    return render(
        request,
        "donnees/indicators.html",
        {
            "title": "Indicateurs",
            "threshold": threshold,
            "sections": [
                ("Action 2.2 — accès aux droits : synthèse", _table(ind22.summary, communes)),
                ("Action 2.2 — effet de la démarche (groupe témoin)", _table(ind22.uplift, communes)),
                ("Action 2.2 — par canal", _table(ind22.by_channel, communes)),
                ("Action 2.2 — par commune", _table(ind22.by_commune, communes)),
                ("Action 7.1 — logement : synthèse", _table(ind71.summary, communes)),
                ("Action 7.1 — par commune", _table(ind71.by_commune, communes)),
                (
                    "Action 7.1 — questionnaires retournés : réponses oui / non",
                    _table(ind71.questionnaires.yes_no.drop("questionnaire"), communes),
                ),
                (
                    "Action 7.1 — questionnaires retournés : réponses chiffrées",
                    _table(ind71.questionnaires.numbers.drop("questionnaire"), communes),
                ),
            ],
            "chart": chart,
        },
    )


@router.get("/indicateurs/rapport.zip")
def report_download(request: Request) -> Response:
    """The indicators report (HTML page with its charts, and its CSV tables) as one archive, to share
    with the convention's partners: counts under statistical secrecy only; audited like `uptake report`."""
    with tempfile.TemporaryDirectory(prefix="uptake-rapport-") as folder:
        files = produce_report(
            context_of(request),
            FilePath(folder),
            actor=current_account(request).login,
            threshold=request.app.state.disclosure_threshold,
        )
        archive = zip_files([(path.name, path.read_bytes()) for path in (files.html, *files.csv)])
    name = f"indicateurs-{caf_day(utc_now()):%Y-%m-%d}.zip"
    return Response(
        archive,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


@router.get("/etat")
def health_page(request: Request) -> Response:
    """Whether the installation is ready, part by part (what `uptake check` says)."""
    findings = check_installation(context_of(request).settings)
    missing = [finding.part for finding in findings if not finding.ready]
    return render(
        request,
        "donnees/health.html",
        {"title": "État de l'installation", "findings": findings, "ready": not missing, "missing": missing},
    )
