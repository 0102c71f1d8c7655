"""Pre-diagnostic questionnaires (action 7.1): printed from their definition, typed back, counted."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach import oppositions
from outreach.campaigns import find_campaign
from outreach.errors import CampaignInvalid, OutcomeImportInvalid
from outreach.indicators import indicators_71, load_tables
from outreach.launch import launch_campaign, run_followups
from outreach.models import Assignment, Outcome, QuestionnaireAnswer, WorklistItem
from outreach.questionnaire_answers import (
    CALL_BACK_REASON,
    import_questionnaires,
    questionnaire_results,
    questionnaire_sent,
    record_returned,
)
from outreach.questionnaires import load_questionnaire, parse_reference
from outreach.worklist import claim_next, complete
from tests.conftest import CONFIG_DIR
from tests.outreach.conftest import NOW, OutreachWorld, send_questionnaires
from tests.outreach.factories import campaign_71, flag, flags_frame

QUESTIONNAIRE = load_questionnaire(CONFIG_DIR, "pre-diagnostic-logement")
IDS = [q.id for q in QUESTIONNAIRE.questions]


def _sent(make_world, households: int = 3) -> tuple[OutreachWorld, int, dict[str, str]]:
    world = make_world()
    launch_id, references = send_questionnaires(world, households)
    return world, launch_id, references


def _csv(path: Path, lines: list[list[str]], header: list[str] | None = None) -> Path:
    rows = [header or ["reference", "date", *IDS], *lines]
    path.write_text("\n".join(";".join(row) for row in rows) + "\n", encoding="utf-8")
    return path


def _answers(*values: str) -> list[str]:
    """Answers in the questionnaire's order: years, then the seven yes/no questions."""
    return list(values) + [""] * (len(IDS) - len(values))


def _import(world: OutreachWorld, path: Path, now: dt.datetime = NOW + dt.timedelta(days=20)):
    with Session(world.engine) as session, session.begin():
        return import_questionnaires(session, path, CONFIG_DIR, actor="secretariat", now=now)


def test_the_letter_prints_every_question_of_its_questionnaire_and_its_reference(make_world) -> None:
    world, _, references = _sent(make_world, households=2)

    archive_path = next(world.out_dir.glob("*courrier*.zip"))
    archive = zipfile.ZipFile(io.BytesIO(archive_path.read_bytes()))
    pages = [archive.read(n).decode() for n in archive.namelist() if n.endswith(".html")]

    assert len(pages) == 2
    for page in pages:
        assert all(q.texte.replace("'", "&#39;") in page for q in QUESTIONNAIRE.questions)
        assert QUESTIONNAIRE.titre in page
    assert sorted(
        r for r in references.values() if any(f"questionnaire : {r}<" in p for p in pages)
    ) == sorted(references.values())


def test_returned_questionnaires_are_recorded_with_their_answers_and_counted_as_returned(
    make_world, tmp_path: Path
) -> None:
    world, launch_id, references = _sent(make_world)
    first, second, _ = sorted(references)
    calls_back = _answers("12", "oui", "non", "non", "oui", "oui", "non", "oui")
    path = _csv(
        tmp_path / "retours.csv",
        [
            [references[first], "2026-03-28", *calls_back],
            [references[second], "28/03/2026", *_answers("3", "NON", "", "non")],
        ],
    )

    done = _import(world, path)

    assert (done.questionnaires, done.answers, done.to_call_back) == (2, 8 + 3, (references[first],))
    with Session(world.engine) as session:
        stored = {
            (a.id_foyer, a.question): a.reponse
            for a in session.scalars(
                select(QuestionnaireAnswer).where(QuestionnaireAnswer.launch_id == launch_id)
            )
        }
        returned = session.execute(
            select(Outcome.id_foyer, Outcome.canal, Outcome.launch_id).where(
                Outcome.resultat == "questionnaire_retourne"
            )
        ).all()
    assert stored[(first, "anciennete")] == "12" and stored[(first, "travailleur_social")] == "oui"
    assert stored[(second, "humidite")] == "non" and (second, "chauffage") not in stored
    assert sorted(returned) == [(first, "courrier", launch_id), (second, "courrier", launch_id)]


def test_a_file_with_bad_lines_imports_nothing_and_names_each_line(make_world, tmp_path: Path) -> None:
    world, launch_id, references = _sent(make_world)
    first, second, third = (references[p] for p in sorted(references))
    path = _csv(
        tmp_path / "retours.csv",
        [
            [first, "2026-03-28", *_answers("12", "peut-être")],
            [f"Q-{launch_id}-99", "2026-03-28", *_answers("1")],
            ["12-34", "2026-03-28", *_answers("1")],
            [second, "2027-01-01", *_answers("beaucoup")],
            [third, "2026-03-28", *_answers("2")],
            [third, "2026-03-29", *_answers("2")],
        ],
    )

    with pytest.raises(OutcomeImportInvalid) as refused:
        _import(world, path)

    said = str(refused.value)
    assert "ligne 2, colonne `humidite` : « peut-être » : écrivez oui, non ou rien" in said
    assert (
        f"ligne 3, colonne `reference` : Q-{launch_id}-99 : aucun questionnaire n'a cette référence" in said
    )
    assert "ligne 4, colonne `reference` : référence absente ou mal écrite" in said
    assert "ligne 5, colonne `date` : date dans le futur" in said
    assert "ligne 5, colonne `anciennete` : « beaucoup » : écrivez un nombre entier" in said
    assert f"ligne 7, colonne `reference` : {third} : déjà à la ligne 6 du fichier" in said
    assert "rien n'a été importé" in said
    with Session(world.engine) as session:
        assert session.scalars(select(QuestionnaireAnswer)).first() is None
        assert (
            session.scalars(select(Outcome).where(Outcome.resultat == "questionnaire_retourne")).first()
            is None
        )


def test_an_unknown_column_or_a_missing_reference_column_is_refused_at_the_header(
    make_world, tmp_path: Path
) -> None:
    world, _, references = _sent(make_world)
    path = _csv(
        tmp_path / "retours.csv",
        [[next(iter(references.values())), "2026-03-28", "oui"]],
        header=["ref", "date", "humdite"],
    )

    with pytest.raises(OutcomeImportInvalid) as refused:
        _import(world, path)

    assert "ligne 1, colonne `reference` : colonne obligatoire absente" in str(refused.value)
    assert "ligne 1, colonne `humdite` : colonne inconnue" in str(refused.value)


def test_a_questionnaire_is_recorded_once(make_world, tmp_path: Path) -> None:
    world, _, references = _sent(make_world)
    reference = next(iter(references.values()))
    path = _csv(tmp_path / "retours.csv", [[reference, "2026-03-28", *_answers("4", "oui")]])
    _import(world, path)

    with pytest.raises(OutcomeImportInvalid) as refused:
        _import(world, path)

    assert f"{reference} : ce questionnaire est déjà enregistré" in str(refused.value)


def test_a_household_sent_no_letter_has_no_questionnaire_to_return(make_world, tmp_path: Path) -> None:
    world = make_world()
    flags = flags_frame([flag(1, "logement_non_decent")])
    run_id = world.store_run(flags)
    world.store_contacts(flags["id_foyer"].to_list())
    campaign = replace(campaign_71(), temoin=campaign_71().temoin.model_copy(update={"part": 0.0}))
    report = launch_campaign(world.env, campaign, run_id, out_dir=world.out_dir, now=NOW)
    path = _csv(tmp_path / "retours.csv", [[f"Q-{report.launch_id}-1", "2026-03-28", *_answers("4")]])

    with pytest.raises(OutcomeImportInvalid) as refused:
        _import(world, path)

    assert "ce questionnaire n'a pas été envoyé" in str(refused.value)


def test_the_report_counts_answers_per_question_under_statistical_secrecy() -> None:
    def answers(question: str, order: int, values: list[str]) -> list[dict[str, object]]:
        return [
            {
                "questionnaire": "q",
                "libelle": question,
                "ordre": order,
                "id_foyer": f"foyer-{i:04d}",
                "reponse": v,
            }
            for i, v in enumerate(values)
        ]

    frame = pl.DataFrame(
        answers("Années", 1, [str(n) for n in range(1, 21)])
        + answers("Humidité", 2, ["oui"] * 3 + ["non"] * 17)
        + answers("Chauffage", 3, ["non"] * 20)
        + answers("Électricité", 4, ["oui"] * 8 + ["non"] * 12)
        + answers("Toiture", 5, ["oui"] * 2 + ["non"] * 2)
        + answers("Pièces", 6, ["2", "3", "4"])
    )

    results = questionnaire_results(frame, threshold=5)

    assert results.yes_no.select("question", "reponses", "oui", "non").rows() == [
        ("Humidité", 20, None, None),
        ("Chauffage", 20, 0, 20),
        ("Électricité", 20, 8, 12),
        ("Toiture", None, None, None),
    ]
    assert results.numbers.select("question", "reponses", "mediane").rows() == [
        ("Années", 20, 10.5),
        ("Pièces", None, None),
    ]


def test_the_action_71_indicators_carry_the_questionnaires_results(make_world, tmp_path: Path) -> None:
    world, _, references = _sent(make_world)
    lines = [[r, "2026-03-28", *_answers("5", "oui")] for r in references.values()]
    _import(world, _csv(tmp_path / "retours.csv", lines))

    shown = indicators_71(load_tables(world.engine), threshold=3)
    hidden = indicators_71(load_tables(world.engine), threshold=4)

    humidity = shown.questionnaires.yes_no.filter(pl.col("question") == "Humidité ou moisissures")
    assert humidity.select("reponses", "oui", "non").row(0) == (3, 3, 0)
    assert (
        hidden.questionnaires.yes_no.filter(pl.col("question") == "Humidité ou moisissures")["reponses"][0]
        is None
    )
    summary = dict(shown.summary.iter_rows())
    assert summary["Questionnaires de pré-diagnostic retournés"] == 3


def test_a_campaign_whose_questionnaire_is_missing_or_wrong_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    definition = config / "questionnaires" / "pre-diagnostic-logement.toml"
    definition.write_text(
        definition.read_text(encoding="utf-8").replace('id = "chauffage"', 'id = "humidite"'),
        encoding="utf-8",
    )
    with pytest.raises(CampaignInvalid) as doubled:
        find_campaign(config, "action-7-1-logement")
    assert "identifiants en double ou réservés : humidite" in str(doubled.value)

    definition.unlink()
    with pytest.raises(CampaignInvalid) as missing:
        find_campaign(config, "action-7-1-logement")
    assert "pre-diagnostic-logement.toml" in str(missing.value) and "questionnaire introuvable" in str(
        missing.value
    )


def test_a_questionnaire_goes_with_a_letter_only(tmp_path: Path) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    campaign = config / "campaigns" / "action-7-1-logement.toml"
    text = campaign.read_text(encoding="utf-8")
    campaign.write_text(
        text.replace(
            'modele = "7-1-script-appel"',
            'modele = "7-1-script-appel"\nquestionnaire = "pre-diagnostic-logement"',
        ),
        encoding="utf-8",
    )

    with pytest.raises(CampaignInvalid) as refused:
        find_campaign(config, "action-7-1-logement")

    assert "un questionnaire ne se joint qu'à un courrier" in str(refused.value)


def test_a_household_asking_for_a_social_worker_goes_back_on_the_call_list_unless_it_objected(
    make_world, tmp_path: Path
) -> None:
    world = make_world()
    flags = flags_frame([flag(i, "logement_non_decent") for i in range(1, 5)])
    run_id = world.store_run(flags)
    ids = flags["id_foyer"].to_list()
    world.store_contacts(ids[:3])
    world.store_contacts(ids[3:], telephone="")  # reached by letter only: no line on the call list
    campaign = replace(campaign_71(), temoin=campaign_71().temoin.model_copy(update={"part": 0.0}))
    report = launch_campaign(world.env, campaign, run_id, out_dir=world.out_dir, now=NOW)
    run_followups(
        world.env, campaign, report.launch_id, out_dir=world.out_dir, now=NOW + dt.timedelta(days=3)
    )
    with Session(world.engine) as session, session.begin():
        for line in session.scalars(select(WorklistItem)):
            line.statut = "traite"
        ranks = dict(
            session.execute(
                select(Assignment.id_foyer, Assignment.rang).where(Assignment.launch_id == report.launch_id)
            ).all()
        )
        oppositions.record(session, ids[2], source="courrier", actor="dpo", now=NOW + dt.timedelta(days=5))
    asks = _answers("", "", "", "", "", "", "", "oui")
    refs = [f"Q-{report.launch_id}-{ranks[p]}" for p in ids]
    path = _csv(
        tmp_path / "retours.csv",
        [
            [refs[0], "2026-03-28", *asks],
            [refs[1], "2026-03-28", *_answers("", "", "", "", "", "", "", "non")],
            [refs[2], "2026-03-28", *asks],
            [refs[3], "2026-03-28", *asks],
        ],
    )

    done = _import(world, path, now=NOW + dt.timedelta(days=20))

    assert done.to_call_back == (refs[0], refs[2], refs[3])
    assert (done.called_back, done.opposed, done.no_call_line) == ((refs[0],), (refs[2],), (refs[3],))
    with Session(world.engine) as session:
        lines = {line.id_foyer: line for line in session.scalars(select(WorklistItem))}
    assert lines[ids[0]].statut == "a_appeler" and CALL_BACK_REASON in lines[ids[0]].motifs
    assert lines[ids[0]].appel_a_partir_de.replace(tzinfo=dt.UTC) == NOW + dt.timedelta(days=20)
    assert lines[ids[1]].statut == "traite" and lines[ids[2]].statut == "traite"
    assert ids[3] not in lines


def test_a_number_written_with_other_digits_is_refused_not_a_crash(make_world, tmp_path: Path) -> None:
    world, _, references = _sent(make_world)
    path = _csv(tmp_path / "retours.csv", [[next(iter(references.values())), "2026-03-28", *_answers("²")]])

    with pytest.raises(OutcomeImportInvalid) as refused:
        _import(world, path)

    assert "colonne `anciennete` : « ² » : écrivez un nombre entier de 0 à 150" in str(refused.value)


def test_a_campaign_file_that_no_longer_validates_is_told_not_taken_for_no_questionnaire(
    make_world, tmp_path: Path
) -> None:
    world, _, references = _sent(make_world)
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    campaign = config / "campaigns" / "action-7-1-logement.toml"
    campaign.write_text(campaign.read_text(encoding="utf-8").replace("part = 0.10", 'part = "dix"'), "utf-8")
    path = _csv(tmp_path / "retours.csv", [[next(iter(references.values())), "2026-03-28", *_answers("4")]])

    with pytest.raises(CampaignInvalid) as refused, Session(world.engine) as session:
        import_questionnaires(session, path, config, actor="secretariat", now=NOW + dt.timedelta(days=20))

    assert "action-7-1-logement.toml" in str(refused.value) and "temoin.part" in str(refused.value)


ASKS_FOR_A_SOCIAL_WORKER = _answers("", "", "", "", "", "", "", "oui")


def test_a_call_back_leaves_a_line_a_colleague_is_calling_with_them_and_only_adds_the_reason(
    make_world, tmp_path: Path
) -> None:
    world, launch_id, references = _sent(make_world)
    moment = NOW + dt.timedelta(days=20)
    with Session(world.engine) as session, session.begin():
        held = claim_next(session, worker="ts1", now=moment, launch_id=launch_id)
        assert held is not None
        pseudonym, held_id, claimed_at = held.id_foyer, held.id, held.attribue_le
    path = _csv(tmp_path / "retours.csv", [[references[pseudonym], "2026-03-28", *ASKS_FOR_A_SOCIAL_WORKER]])

    done = _import(world, path, now=moment + dt.timedelta(minutes=5))

    assert done.called_back == (references[pseudonym],)
    with Session(world.engine) as session, session.begin():
        line = session.get_one(WorklistItem, held_id)
        assert (line.statut, line.attribue_a, line.attribue_le) == ("en_cours", "ts1", claimed_at)
        assert CALL_BACK_REASON in line.motifs
        complete(session, held_id, worker="ts1", resultat="joint", now=moment + dt.timedelta(minutes=10))


def test_a_reference_is_read_whatever_its_case_and_the_spaces_around_it(make_world, tmp_path: Path) -> None:
    world, _, references = _sent(make_world, households=1)
    [printed] = references.values()
    typed = f"  {printed.lower()} "
    path = _csv(tmp_path / "retours.csv", [[typed, "2026-03-28", *ASKS_FOR_A_SOCIAL_WORKER]])

    done = _import(world, path)

    assert parse_reference(typed) == parse_reference(printed) is not None
    assert (done.questionnaires, done.to_call_back) == (1, (printed,))


def test_a_social_worker_records_only_questionnaires_of_households_of_their_sectors(make_world) -> None:
    world, _, references = _sent(make_world, households=1)
    [printed] = references.values()
    row = {"reference": printed, "date": "2026-03-28"}

    back = NOW + dt.timedelta(days=18)  # the letters went out three days after the launch
    with Session(world.engine) as session:
        sent = questionnaire_sent(session, CONFIG_DIR, printed.lower(), now=back, communes=["04088"])
        with pytest.raises(OutcomeImportInvalid) as looked_up:
            questionnaire_sent(session, CONFIG_DIR, printed, now=back, communes=["04178"])
        with pytest.raises(OutcomeImportInvalid) as recorded:
            record_returned(
                session, printed, list(row), [(1, row)], CONFIG_DIR, actor="ts", now=back, communes=["04178"]
            )

    assert (sent.reference, sent.code_commune, sent.questionnaire.id) == (
        printed,
        "04088",
        "pre-diagnostic-logement",
    )
    assert sent.campaign_title == campaign_71().campagne.titre
    for refused in (looked_up, recorded):
        assert f"{printed} : ce foyer n'habite pas dans vos secteurs" in str(refused.value)


def test_a_file_missing_a_question_of_its_questionnaire_is_refused_and_records_nothing(
    make_world, tmp_path: Path
) -> None:
    world, _, references = _sent(make_world)
    reference = next(iter(references.values()))
    path = _csv(
        tmp_path / "retours.csv",
        [[reference, "2026-03-28", "4", "oui"]],
        header=["reference", "date", "anciennete", "humidite"],
    )

    with pytest.raises(OutcomeImportInvalid) as refused:
        _import(world, path)

    said = str(refused.value)
    missing = [q for q in IDS if q not in ("anciennete", "humidite")]
    assert all(f"ligne 1, colonne `{q}` : colonne absente" in said for q in missing)
    assert "référence de la ligne 2" in said
    with Session(world.engine) as session:
        assert session.scalars(select(QuestionnaireAnswer)).first() is None
    whole = _csv(tmp_path / "complet.csv", [[reference, "2026-03-28", *_answers("4", "oui")]])
    assert _import(world, whole).questionnaires == 1
