"""Returned pre-diagnostic questionnaires: the import of their answers, and their published results.

Answers come back on paper and are typed in a spreadsheet, one line per questionnaire: `reference`
(printed on it, `Q-<lancement>-<rang>`), `date` (received), then one column per question `id`
(`oui`, `non` or a whole number; empty: no answer). The import is all or nothing, every bad line
reported; each questionnaire is recorded once, with the outcome `questionnaire_retourne`. A social
worker may also type one in, for a household of their sectors only. Only pseudonyms are stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl
from sqlalchemy import insert, select, tuple_
from sqlalchemy.orm import Session

from outreach import oppositions
from outreach.campaigns import find_campaign
from outreach.errors import CampaignNotFound, LineProblem, OutcomeImportInvalid
from outreach.holdout import CONTACTED
from outreach.models import Assignment, Contact, Launch, Outcome, QuestionnaireAnswer, WorklistItem
from outreach.outcome_import import parse_date, read_rows
from outreach.outcomes import IN_PROGRESS, TO_CALL, record_outcome
from outreach.questionnaires import (
    FIXED_COLUMNS,
    NO,
    YES,
    Question,
    Questionnaire,
    load_questionnaire,
    parse_reference,
    questionnaire_names,
    reference,
)
from privacy import audit
from privacy.canonical import caf_day
from privacy.disclosure import DEFAULT_THRESHOLD

# A number answer above this is a typing mistake (years in a dwelling, rooms…).
MAX_NUMBER = 150


@dataclass(frozen=True)
class Returned:
    """One valid line: the questionnaire's household (and its commune), when it came back, and its
    answers by question; `reference` as printed, whatever the case and spacing it was typed in."""

    line: int
    reference: str
    launch_id: int
    id_foyer: str
    regle: str
    code_commune: str
    received: dt.datetime
    answers: Mapping[str, str]


@dataclass(frozen=True)
class SentQuestionnaire:
    """A questionnaire still to be recorded: its reference as printed, its questions, and where it
    went (the household's commune, the campaign's title), for the person typing it to notice a
    mistyped reference before saving."""

    reference: str
    questionnaire: Questionnaire
    code_commune: str
    campaign_title: str


@dataclass(frozen=True)
class QuestionnairesImported:
    """What an import recorded: questionnaires, answers, and the households asking to be called back.

    Of those (`to_call_back`, by reference), `called_back` were put back on the social workers' call
    list; `no_call_line` have no line on it (no telephone when the campaign was launched) and
    `opposed` objected to being contacted: both are told to the data team by reference.
    """

    questionnaires: int
    answers: int
    to_call_back: tuple[str, ...]
    called_back: tuple[str, ...] = ()
    no_call_line: tuple[str, ...] = ()
    opposed: tuple[str, ...] = ()


CALL_BACK_REASON = "Questionnaire retourné : demande à être contacté par un travailleur social."


def _launch_questionnaires(
    session: Session, config_dir: Path, launch_ids: Collection[int]
) -> dict[int, Questionnaire]:
    """The questionnaire each of `launch_ids` sent, from its campaign's current configuration.

    A launch whose campaign file is gone sent no questionnaire one can still read; a campaign file
    that no longer validates is told (`CampaignInvalid`), as the questions cannot be known without it.
    """
    found: dict[int, Questionnaire] = {}
    loaded: dict[str, Questionnaire | None] = {}
    query = select(Launch.id, Launch.campagne).where(Launch.id.in_(list(launch_ids)))
    for launch_id, campaign_id in session.execute(query):
        if campaign_id not in loaded:
            try:
                campaign = find_campaign(config_dir, campaign_id)
            except CampaignNotFound:
                loaded[campaign_id] = None
                continue
            names = [a.questionnaire for a in campaign.tentatives if a.questionnaire]
            loaded[campaign_id] = campaign.questionnaires[names[0]] if names else None
        questionnaire = loaded[campaign_id]
        if questionnaire is not None:
            found[launch_id] = questionnaire
    return found


def _answer(question: Question, value: str) -> tuple[str | None, str | None]:
    """The stored answer (None: no answer) or the problem with `value`."""
    if not value:
        return None, None
    if question.type == "oui_non":
        lowered = value.lower()
        return (lowered, None) if lowered in (YES, NO) else (None, f"« {value} » : écrivez oui, non ou rien")
    if value.isascii() and value.isdigit() and int(value) <= MAX_NUMBER:
        return str(int(value)), None
    return None, f"« {value} » : écrivez un nombre entier de 0 à {MAX_NUMBER}, ou rien"


def check_returned(
    session: Session,
    source: str,
    header: Sequence[str],
    rows: Sequence[tuple[int, Mapping[str, str]]],
    config_dir: Path,
    *,
    now: dt.datetime,
    communes: Collection[str] | None = None,
) -> tuple[list[Returned], dict[int, Questionnaire]]:
    """Every line (`header` names its cells), checked against the questionnaire its reference was sent
    with. `OutcomeImportInvalid` names `source` and lists every bad line (nothing is recorded then).
    With `communes` (a social worker's sectors), a questionnaire of a household living elsewhere is
    refused.
    """
    known_columns = {
        q.id
        for name in questionnaire_names(config_dir)
        for q in load_questionnaire(config_dir, name).questions
    }
    problems = [
        LineProblem(1, c, "colonne obligatoire absente de l'en-tête")
        for c in FIXED_COLUMNS
        if c not in header
    ]
    problems += [
        LineProblem(1, c, "colonne inconnue : ni reference, ni date, ni l'identifiant d'une question")
        for c in header
        if c not in FIXED_COLUMNS and c not in known_columns
    ]
    if problems:
        raise OutcomeImportInvalid(source, problems)
    wanted = {where for _, row in rows if (where := parse_reference(row.get("reference", ""))) is not None}
    sent_with = _launch_questionnaires(session, config_dir, {launch_id for launch_id, _ in wanted})
    households = (
        {
            (a.launch_id, a.rang): a
            for a in session.scalars(
                select(Assignment).where(
                    tuple_(Assignment.launch_id, Assignment.rang).in_(list(wanted)),
                    Assignment.bras == CONTACTED,
                )
            )
        }
        if wanted
        else {}
    )
    # The day each letter went out: a questionnaire cannot come back before it.
    letters: dict[tuple[int, str], dt.date] = {}
    for launch_id, pseudonym, produced in session.execute(
        select(Contact.launch_id, Contact.id_foyer, Contact.produit_le).where(
            Contact.canal == "courrier", Contact.launch_id.in_({k[0] for k in wanted})
        )
    ):
        day = caf_day(produced)
        letters[launch_id, pseudonym] = min(day, letters.get((launch_id, pseudonym), day))
    # Recorded by its answers, or by its outcome alone when it came back with none.
    launches = {k[0] for k in wanted}
    recorded = {
        (launch_id, pseudonym)
        for launch_id, pseudonym in session.execute(
            select(QuestionnaireAnswer.launch_id, QuestionnaireAnswer.id_foyer)
            .where(QuestionnaireAnswer.launch_id.in_(launches))
            .union(
                select(Outcome.launch_id, Outcome.id_foyer).where(
                    Outcome.launch_id.in_(launches), Outcome.resultat == "questionnaire_retourne"
                )
            )
        )
    }
    seen: dict[tuple[int, int], int] = {}
    parsed: list[Returned] = []
    for number, row in rows:
        before = len(problems)
        where = parse_reference(row.get("reference", ""))
        text = reference(*where) if where else row.get("reference", "")
        household = households.get(where) if where else None
        questionnaire = sent_with.get(household.launch_id) if household else None
        if where is None:
            problems.append(
                LineProblem(number, "reference", "référence absente ou mal écrite (par exemple Q-12-345)")
            )
        elif household is None or questionnaire is None:
            problems.append(
                LineProblem(number, "reference", f"{text} : aucun questionnaire n'a cette référence")
            )
        elif communes is not None and household.code_commune not in communes:
            problems.append(
                LineProblem(
                    number,
                    "reference",
                    f"{text} : ce foyer n'habite pas dans vos secteurs ; confiez le questionnaire à un "
                    "travailleur social de son secteur",
                )
            )
        elif (household.launch_id, household.id_foyer) not in letters:
            problems.append(LineProblem(number, "reference", f"{text} : ce questionnaire n'a pas été envoyé"))
        elif (household.launch_id, household.id_foyer) in recorded:
            problems.append(
                LineProblem(number, "reference", f"{text} : ce questionnaire est déjà enregistré")
            )
        elif where in seen:
            problems.append(
                LineProblem(number, "reference", f"{text} : déjà à la ligne {seen[where]} du fichier")
            )
        if where is not None:
            seen.setdefault(where, number)
        received = parse_date(row.get("date", ""))
        if received is None:
            problems.append(
                LineProblem(number, "date", "date de réception illisible (AAAA-MM-JJ ou JJ/MM/AAAA)")
            )
        elif received > now + dt.timedelta(days=1):
            problems.append(
                LineProblem(
                    number, "date", "date dans le futur : écrivez le jour où le questionnaire est arrivé"
                )
            )
        elif household is not None and caf_day(received) < letters.get(
            (household.launch_id, household.id_foyer), caf_day(received)
        ):
            sent_on = letters[household.launch_id, household.id_foyer]
            problems.append(
                LineProblem(
                    number,
                    "date",
                    f"date antérieure à l'envoi du questionnaire (le {sent_on:%d/%m/%Y}) : écrivez le jour "
                    "où il est revenu",
                )
            )
        answers: dict[str, str] = {}
        if questionnaire is not None:
            for question in questionnaire.questions:
                answer, problem = _answer(question, row.get(question.id, ""))
                if problem:
                    problems.append(LineProblem(number, question.id, problem))
                elif answer is not None:
                    answers[question.id] = answer
            others = [c for c in header if c not in FIXED_COLUMNS and row.get(c)]
            strays = [c for c in others if c not in {q.id for q in questionnaire.questions}]
            problems += [
                LineProblem(number, c, f"question absente du questionnaire {questionnaire.id} envoyé")
                for c in strays
            ]
        if len(problems) == before and household is not None and received is not None:
            parsed.append(
                Returned(
                    number,
                    text,
                    household.launch_id,
                    household.id_foyer,
                    household.regle,
                    household.code_commune,
                    received,
                    answers,
                )
            )
    if problems:
        raise OutcomeImportInvalid(source, problems)
    return parsed, sent_with


def import_questionnaires(
    session: Session, path: Path, config_dir: Path, *, actor: str, now: dt.datetime | None = None
) -> QuestionnairesImported:
    """Validate then record every returned questionnaire of the file, in the caller's transaction.

    Its columns are `reference`, `date` and questions, each of the questionnaire its references were
    sent with (an empty cell: no answer); any other column, or one of those questions missing, is
    refused.
    """
    questions = sorted(
        {
            q.id
            for name in questionnaire_names(config_dir)
            for q in load_questionnaire(config_dir, name).questions
        }
    )
    header, rows = read_rows(path, (*FIXED_COLUMNS, *questions), required=[(c,) for c in FIXED_COLUMNS])
    _refuse_missing_questions(session, str(path), header, rows, config_dir)
    return record_returned(session, str(path), header, rows, config_dir, actor=actor, now=now)


def _refuse_missing_questions(
    session: Session,
    source: str,
    header: Sequence[str],
    rows: Sequence[tuple[int, Mapping[str, str]]],
    config_dir: Path,
) -> None:
    """Refuse a file without the column of a question its references were sent with: its answers
    would be recorded incomplete, and a questionnaire recorded cannot be typed in again whole."""
    first_line: dict[int, int] = {}
    for number, row in rows:
        where = parse_reference(row.get("reference", ""))
        if where is not None:
            first_line.setdefault(where[0], number)
    missing: dict[str, LineProblem] = {}
    for launch_id, questionnaire in _launch_questionnaires(session, config_dir, first_line).items():
        for question in questionnaire.questions:
            if question.id not in header and question.id not in missing:
                missing[question.id] = LineProblem(
                    1,
                    question.id,
                    f"colonne absente : question du questionnaire {questionnaire.id}, envoyé avec la "
                    f"référence de la ligne {first_line[launch_id]} ; ajoutez la colonne, vide là où il n'y "
                    "a pas de réponse",
                )
    if missing:
        raise OutcomeImportInvalid(source, list(missing.values()))


def questionnaire_sent(
    session: Session,
    config_dir: Path,
    typed: str,
    *,
    now: dt.datetime | None = None,
    communes: Collection[str] | None = None,
) -> SentQuestionnaire:
    """The questionnaire sent under the reference `typed`, still to be recorded (for a household of
    `communes`, when given); `OutcomeImportInvalid` says why not."""
    moment = now or dt.datetime.now(dt.UTC)
    row = {"reference": typed, "date": caf_day(moment).isoformat()}
    returned, sent_with = check_returned(
        session, typed, FIXED_COLUMNS, [(1, row)], config_dir, now=moment, communes=communes
    )
    found = returned[0]
    campaign_id = session.get_one(Launch, found.launch_id).campagne
    # The campaign's file was read to find the questionnaire: it is there.
    title = find_campaign(config_dir, campaign_id).campagne.titre
    return SentQuestionnaire(found.reference, sent_with[found.launch_id], found.code_commune, title)


def record_returned(
    session: Session,
    source: str,
    header: Sequence[str],
    rows: Sequence[tuple[int, Mapping[str, str]]],
    config_dir: Path,
    *,
    actor: str,
    now: dt.datetime | None = None,
    outcome_source: str = "import",
    communes: Collection[str] | None = None,
) -> QuestionnairesImported:
    """Validate then record returned questionnaires (one per line), in the caller's transaction.

    `outcome_source` says how the « questionnaire retourné » outcomes came (`import`, `saisie`);
    `communes` limits them to households of a social worker's sectors (an import has no limit).
    """
    moment = now or dt.datetime.now(dt.UTC)
    returned, sent_with = check_returned(
        session, source, header, rows, config_dir, now=moment, communes=communes
    )
    answers: list[dict[str, object]] = []
    to_call_back: list[Returned] = []
    for item in returned:
        questionnaire = sent_with[item.launch_id]
        for position, question in enumerate(questionnaire.questions, start=1):
            answer = item.answers.get(question.id)
            if answer is None:
                continue
            if question.a_rappeler_si == answer and item not in to_call_back:
                to_call_back.append(item)
            answers.append(
                {
                    "launch_id": item.launch_id,
                    "id_foyer": item.id_foyer,
                    "questionnaire": questionnaire.id,
                    "question": question.id,
                    "libelle": question.libelle,
                    "ordre": position,
                    "reponse": answer,
                    "recu_le": item.received,
                    "acteur": actor,
                    "enregistre_le": moment,
                }
            )
        record_outcome(
            session,
            id_foyer=item.id_foyer,
            resultat="questionnaire_retourne",
            acteur=actor,
            survenu_le=item.received,
            launch_id=item.launch_id,
            regle=item.regle,
            canal="courrier",
            source=outcome_source,
            now=moment,
        )
    if answers:
        session.execute(insert(QuestionnaireAnswer), answers)
    called_back, no_call_line, opposed = _call_back(session, to_call_back, moment)
    # One questionnaire typed on the web names its household, as a call's result does; a file, itself.
    typed = outcome_source == "saisie" and len(returned) == 1
    audit.append(
        session,
        actor=actor,
        action="questionnaire.saisie" if typed else "questionnaires.import",
        object_ref=returned[0].id_foyer if typed else f"fichier:{Path(source).name}",
        counts={"questionnaires": len(returned), "reponses_questionnaires": len(answers)},
    )
    return QuestionnairesImported(
        len(returned),
        len(answers),
        tuple(item.reference for item in to_call_back),
        called_back,
        no_call_line,
        opposed,
    )


def _call_back(
    session: Session, households: list[Returned], now: dt.datetime
) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """Put each household back on its launch's call list (its latest line, to call from `now`).

    A line a colleague holds stays theirs (the reason is added for them to read): taking it from them
    would lose the outcome of the call they are making.
    """
    refused = oppositions.opposed(session, [item.id_foyer for item in households], now=now)
    called_back, no_call_line, opposed = [], [], []
    for item in households:
        if item.id_foyer in refused:
            opposed.append(item.reference)
            continue
        line = session.scalars(
            select(WorklistItem)
            .where(WorklistItem.launch_id == item.launch_id, WorklistItem.id_foyer == item.id_foyer)
            .order_by(WorklistItem.tentative.desc())
        ).first()
        if line is None:
            no_call_line.append(item.reference)
            continue
        if line.statut != IN_PROGRESS:
            line.statut, line.attribue_a, line.attribue_le = TO_CALL, None, None
            line.appel_a_partir_de = now
        if CALL_BACK_REASON not in line.motifs:
            line.motifs = f"{line.motifs.rstrip()} {CALL_BACK_REASON}".strip()
        called_back.append(item.reference)
    return tuple(called_back), tuple(no_call_line), tuple(opposed)


@dataclass(frozen=True)
class QuestionnaireResults:
    """The published results: yes/no questions (answers, yes, no) and number questions (answers, median)."""

    yes_no: pl.DataFrame
    numbers: pl.DataFrame


def questionnaire_results(answers: pl.DataFrame, threshold: int = DEFAULT_THRESHOLD) -> QuestionnaireResults:
    """Per question, in the questionnaire's order, under statistical secrecy.

    `answers` has the columns of `QuestionnaireAnswer`. A question answered by fewer households than
    `threshold` shows nothing; a yes or no count under the threshold (but not zero) is hidden with the
    other one, which the number of answers would reveal; a median is shown only over `threshold`
    answers or more.
    """
    columns = {"questionnaire": pl.String, "libelle": pl.String, "ordre": pl.Int64}
    frame = (
        answers.select(*columns, "id_foyer", "reponse")
        if not answers.is_empty()
        else pl.DataFrame(schema={**columns, "id_foyer": pl.String, "reponse": pl.String})
    )
    keys = ("questionnaire", "libelle", "ordre")
    small = pl.lit(threshold)
    by_answer = frame.filter(pl.col("reponse").is_in([YES, NO]))
    yes_no = (
        by_answer.group_by(keys)
        .agg(
            pl.col("id_foyer").n_unique().alias("reponses"),
            pl.col("id_foyer").filter(pl.col("reponse") == YES).n_unique().alias("oui"),
            pl.col("id_foyer").filter(pl.col("reponse") == NO).n_unique().alias("non"),
        )
        .sort("questionnaire", "ordre")
    )
    hidden_all = pl.col("reponses") < small
    hidden_pair = hidden_all | pl.any_horizontal(
        [(pl.col(c) > 0) & (pl.col(c) < small) for c in ("oui", "non")]
    )
    yes_no = yes_no.select(
        "questionnaire",
        pl.col("libelle").alias("question"),
        pl.when(hidden_all).then(None).otherwise(pl.col("reponses")).alias("reponses"),
        *[pl.when(hidden_pair).then(None).otherwise(pl.col(c)).alias(c) for c in ("oui", "non")],
    )
    numbers = (
        frame.filter(~pl.col("reponse").is_in([YES, NO]))
        .group_by(keys)
        .agg(
            pl.col("id_foyer").n_unique().alias("reponses"),
            pl.col("reponse").cast(pl.Int64, strict=False).median().alias("mediane"),
        )
        .sort("questionnaire", "ordre")
    )
    numbers = numbers.select(
        "questionnaire",
        pl.col("libelle").alias("question"),
        pl.when(pl.col("reponses") < small).then(None).otherwise(pl.col("reponses")).alias("reponses"),
        pl.when(pl.col("reponses") < small).then(None).otherwise(pl.col("mediane")).alias("mediane"),
    )
    return QuestionnaireResults(yes_no, numbers)
