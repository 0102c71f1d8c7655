"""The data team's pages on an empty and on a populated database."""

from __future__ import annotations

import datetime as dt
import html
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from tests.conftest import CONFIG_DIR
from tests.web.conftest import (
    LOGINS,
    PASSWORD,
    create_accounts,
    csrf_of,
    load_register,
    seed_worklist,
    sign_in,
)
from uptake.health import CHECKS
from uptake.settings import Settings
from uptake.web.app import create_app

Client = Callable[[str | None], TestClient]


def test_pages_say_so_when_nothing_ran_yet(client_for: Client) -> None:
    client = client_for("equipe_donnees")
    assert "Aucune exécution" in client.get("/donnees/executions").text
    assert "Aucune campagne lancée" in client.get("/donnees/campagnes").text
    indicators = client.get("/donnees/indicateurs")
    assert indicators.status_code == 200
    assert "Action 2.2" in indicators.text and "Action 7.1" in indicators.text


def test_a_mistake_in_a_configuration_file_is_a_page_naming_the_key_and_the_fix(
    engine: Engine, database_url: str, tmp_path: Path
) -> None:
    config = tmp_path / "config"
    shutil.copytree(CONFIG_DIR, config)
    territory = config / "territoire.toml"
    territory.write_text(
        territory.read_text(encoding="utf-8").replace("part_communes = 0.3", "part_communes = 1.5"),
        encoding="utf-8",
    )
    app = create_app(Settings(home=tmp_path / "home", database_url=database_url, config_dir=config))
    create_accounts(engine, ("equipe_donnees",))
    with TestClient(app, raise_server_exceptions=False, follow_redirects=False) as client:
        sign_in(client, LOGINS["equipe_donnees"], PASSWORD)
        response = client.get("/donnees/indicateurs")
    page = html.unescape(response.text)
    assert response.status_code == 503
    assert "Configuration invalide" in page and "Erreur interne" not in page
    told = "clé `eloignement.part_communes` : doit être au plus 1.0. Corrigez la valeur."
    assert re.search(rf"{re.escape(str(territory))} : ligne \d+, {re.escape(told)}", page), page
    assert "Se déconnecter" in page  # still signed in: the header and the way out are there


def test_campaign_progress_counts_the_call_list_states(client_for: Client, engine: Engine) -> None:
    from tests.outreach.factories import launch_row
    from uptake.db import transaction

    with transaction(engine) as session:
        session.add(launch_row(id=1, nb_signales=1234))  # launched on 02/03/2026 at 23:15 UTC
    seed_worklist(engine, 4)
    page = client_for("equipe_donnees").get("/donnees/campagnes").text
    assert "lancement n°1" in page
    assert "à appeler : 4" in page
    assert "Lancé le 03/03/2026 00:15 par equipe" in page  # Paris time, whichever database
    assert "1\u202f234" in page


def test_campaign_progress_tells_what_became_of_the_emails_and_how_to_send_those_waiting(
    client_for: Client, engine: Engine
) -> None:
    import datetime as dt

    from tests.outreach.factories import email_contact, launch_row
    from uptake.db import transaction

    planned = dt.datetime(2026, 3, 3, 9, 0, tzinfo=dt.UTC)
    with transaction(engine) as session:
        session.add(launch_row(id=1))
        session.add_all(
            email_contact(i, state, planned)
            # One reserved by a sending killed since: the next sending takes it, so it waits too.
            for i, state in enumerate(["remis", "remis", "remis", None, None, "refuse", "reserve"])
        )
    page = " ".join(html.unescape(client_for("equipe_donnees").get("/donnees/campagnes").text).split())
    assert (
        "<dt>Courriels</dt><dd>remis au relais : 3 ; à envoyer : 2 ; adresse refusée : 1 ; réservés" in page
    )
    assert "3 courriel(s) à envoyer</strong> (les relances de ces foyers les attendent)" in page
    assert "uptake campaigns send action-2-2-non-recours --launch 1 --smtp HOTE:PORT" in page


def test_runs_page_shows_each_run_with_its_counts(client_for: Client, engine: Engine) -> None:
    import datetime as dt

    from detection.records import SUCCEEDED, DetectionRun
    from uptake.db import transaction

    with transaction(engine) as session:
        session.add(
            DetectionRun(
                status=SUCCEEDED,
                trigger="manuel",
                extract_name="extrait-2026-03.parquet",
                mois_reference=dt.date(2026, 3, 1),
                households_total=1200,
                households_in_territory=950,
                flags_count=87,
                counts_by_rule={"ppa_non_recours": 61, "al_non_recours": 26},
                started_at=dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC),
                finished_at=dt.datetime(2026, 3, 2, 8, 1, tzinfo=dt.UTC),
            )
        )
    page = client_for("equipe_donnees").get("/donnees/executions").text
    assert "extrait-2026-03.parquet" in page
    assert "1\u202f200" in page and "950" in page and "87" in page  # French thousands
    assert "mars 2026" in page and "1\u202fmin\u00a000\u202fs" in page


def test_run_page_shows_a_runs_counts_by_commune_and_its_steps(client_for: Client, engine: Engine) -> None:
    import datetime as dt

    from detection.records import SUCCEEDED, DetectionRun
    from uptake.db import transaction

    with transaction(engine) as session:
        run = DetectionRun(
            status=SUCCEEDED,
            trigger="planification mensuelle",
            extract_name="extrait-2026-03.parquet",
            extract_sha256="ab" * 32,
            mois_reference=dt.date(2026, 3, 1),
            rule_versions={"ppa_non_recours": "1.2.0", "al_non_recours": "1.1.0"},
            households_total=1200,
            households_in_territory=950,
            households_out_of_territory=250,
            flags_count=87,
            counts_by_rule={"ppa_non_recours": 61, "al_non_recours": 26},
            counts_by_commune={"04106": 30, "04088": 57},
            timings={"validation": 0.25, "evaluation": 75.0},
            started_at=dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC),
            finished_at=dt.datetime(2026, 3, 2, 8, 2, tzinfo=dt.UTC),
            rules_record={
                "parametres": {
                    "al.plafond_loyer_seul": {
                        "valeur": {"1": 329.71, "2": 287.35, "3": 269.32},
                        "depuis": "2024-10-01",
                        "source": "Arrêté du 27/09/2024, art. 1",
                    }
                },
                "reglages": {"impaye_locatif": {"mois_impayes_minimum": 2}},
                "regles": {"ppa_non_recours": {"version": "1.2.0", "empreinte": "0123456789abcdef"}},
                "hors_champ": {
                    "al_non_recours": {"champ": ["métropole"], "communes": 2, "territoires": ["La Réunion"]}
                },
            },
        )
        session.add(run)
        session.flush()
        run_id = run.id
    client = client_for("equipe_donnees")
    assert f'href="/donnees/executions/{run_id}"' in client.get("/donnees/executions").text
    page = client.get(f"/donnees/executions/{run_id}").text
    assert "ab" * 32 in page and "planification mensuelle" in page and "mars 2026" in page
    # Communes by name, most flags first; steps in French with their durations.
    assert re.search(
        r"<td>Prime d&#39;activité probablement non réclamée</td><td><code>ppa_non_recours</code></td>"
        r"<td>1\.2\.0</td><td><code>0123456789abcdef</code></td><td[^>]*>61</td>",
        page,
    )
    # The parameter values and settings the run kept, in French notation.
    assert (
        '<tr><td><code>al.plafond_loyer_seul</code></td><td class="nombre">1 : 329,71 ; 2 : 287,35 ; '
        "3 : 269,32</td><td>01/10/2024</td><td>Arrêté du 27/09/2024, art. 1</td></tr>" in page
    )
    assert "<tr><td><code>impaye_locatif</code></td><td>mois_impayes_minimum</td><td>2</td></tr>" in page
    # A rule that did not flag part of the territory is pointed out under the counts.
    assert (
        "<strong>Attention :</strong> al_non_recours ne signale pas les foyers de 2 commune(s) du territoire "
        "(La Réunion) : hors de son champ" in page
    )
    assert page.index("Forcalquier") < page.index("Lurs")
    assert (
        "Validation de l&#39;extrait" in page
        and "0,25\u202fs" in page
        and "1\u202fmin\u00a015\u202fs" in page
    )
    assert "2\u202fmin\u00a000\u202fs" in page  # the run's own duration


def test_run_page_says_when_the_flags_were_deleted_at_the_end_of_their_retention(
    client_for: Client, engine: Engine
) -> None:
    import datetime as dt

    from detection.records import SUCCEEDED, DetectionRun
    from uptake.db import transaction

    with transaction(engine) as session:
        run = DetectionRun(
            status=SUCCEEDED,
            trigger="test",
            extract_name="extrait-2025-01.parquet",
            flags_count=87,
            started_at=dt.datetime(2025, 1, 6, 8, 0, tzinfo=dt.UTC),
            finished_at=dt.datetime(2025, 1, 6, 8, 2, tzinfo=dt.UTC),
            flags_purged_at=dt.datetime(2026, 1, 7, 3, 0, tzinfo=dt.UTC),
        )
        session.add(run)
        session.flush()
        run_id = run.id
    page = client_for("equipe_donnees").get(f"/donnees/executions/{run_id}").text
    assert "87 (supprimés le 07/01/2026 04:00, fin de conservation)" in page
    assert "87<br>(supprimés)" in client_for("equipe_donnees").get("/donnees/executions").text


def test_run_page_names_the_columns_outside_the_contract_the_validation_ignored(
    client_for: Client, engine: Engine
) -> None:
    from detection.imports import ACCEPTED, ImportRecord
    from detection.records import SUCCEEDED, DetectionRun
    from uptake.db import transaction

    moment = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)
    with transaction(engine) as session:
        ids = []
        for dropped in (["score_interne", "segment"], []):
            imported = ImportRecord(
                file_path="/srv/depot/extrait.parquet",
                outcome=ACCEPTED,
                problems=[],
                dropped_columns=dropped,
                started_at=moment,
                finished_at=moment,
            )
            session.add(imported)
            session.flush()
            run = DetectionRun(
                status=SUCCEEDED,
                trigger="cli",
                extract_name="extrait.parquet",
                import_id=imported.id,
                started_at=moment,
                finished_at=moment,
            )
            session.add(run)
            session.flush()
            ids.append(run.id)
    client = client_for("equipe_donnees")
    wider, plain = (client.get(f"/donnees/executions/{run_id}").text for run_id in ids)
    assert (
        "<dt>Colonnes hors contrat ignorées</dt><dd><code>score_interne</code>, <code>segment</code></dd>"
        in wider
    )
    assert "<dt>Colonnes hors contrat ignorées</dt><dd>aucune</dd>" in plain


def test_unknown_run_is_a_french_404(client_for: Client) -> None:
    response = client_for("equipe_donnees").get("/donnees/executions/999")
    assert response.status_code == 404
    assert "Aucune exécution n° 999" in response.text


def test_runs_page_lists_the_schedules_and_which_are_paused(
    client_for: Client, engine: Engine, tmp_path
) -> None:
    from uptake.scheduler import add_schedule, pause_schedule

    client = client_for("equipe_donnees")
    assert "Aucune planification" in client.get("/donnees/executions").text
    add_schedule(engine, "mensuelle", cron="0 6 5 * *", job="detection", params={"inbox": str(tmp_path)})
    (tmp_path / "essai").mkdir()
    add_schedule(
        engine, "essai", cron="30 7 * * 1", job="detection", params={"inbox": str(tmp_path / "essai")}
    )
    pause_schedule(engine, "essai")
    page = client.get("/donnees/executions").text
    assert "mensuelle" in page and "0 6 5 * *" in page and "/06:00" not in page
    assert page.count("en pause") == 1 and f"inbox = {tmp_path}" in page
    assert "Aucun démon actif : lancez « uptake scheduler »" in page  # nothing would run them
    assert "Aucune purge planifiée" in page  # retention periods applied by nothing
    assert "Exécution manquée" not in page

    with engine.begin() as connection:  # as a daemon records an execution it started too late
        connection.execute(
            text("INSERT INTO uptake_job_misses VALUES ('mensuelle', :at, 'vm:1', :at)"),
            {"at": dt.datetime(2026, 3, 5, 5, 0, tzinfo=dt.UTC)},
        )
    page = client.get("/donnees/executions").text
    assert "Exécution manquée : « mensuelle » prévue le 05/03/2026 06:00" in page
    assert "uptake schedule run mensuelle" in page


def test_the_data_team_downloads_the_whole_report_and_the_download_is_audited(
    client_for: Client, engine: Engine
) -> None:
    import io
    import zipfile

    from sqlalchemy import select

    from privacy.models import AuditEntry
    from uptake.db import transaction

    client = client_for("equipe_donnees")
    assert 'href="/donnees/indicateurs/rapport.zip"' in client.get("/donnees/indicateurs").text
    response = client.get("/donnees/indicateurs/rapport.zip")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"].startswith('attachment; filename="indicateurs-')
    names = zipfile.ZipFile(io.BytesIO(response.content)).namelist()
    assert "indicateurs.html" in names and "action-2-2-synthese.csv" in names and len(names) == 12
    assert "action-7-1-questionnaires-oui-non.csv" in names
    with transaction(engine) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "rapport.indicateurs")).one()
    assert entry.actor == LOGINS["equipe_donnees"]


def test_the_data_team_pauses_resumes_and_runs_a_schedule_now_from_the_runs_page(
    client_for: Client, engine: Engine, tmp_path
) -> None:
    from uptake.scheduler import add_schedule, list_schedules

    add_schedule(engine, "mensuelle", cron="0 6 5 * *", job="detection", params={"inbox": str(tmp_path)})
    client = client_for("equipe_donnees")
    page = client.get("/donnees/executions").text
    assert 'aria-label="Suspendre : mensuelle"' in page and 'aria-label="Reprendre' not in page

    def act(action: str) -> str:
        response = client.post(
            f"/donnees/planifications/mensuelle/{action}", data={"csrf_token": csrf_of(page)}
        )
        assert response.status_code == 303, response.text
        return client.get(response.headers["location"]).text

    paused = act("suspendre")
    assert "Planification « mensuelle » suspendue : elle ne se déclenche plus." in paused
    assert list_schedules(engine)[0].next_run is None and 'aria-label="Reprendre : mensuelle"' in paused
    resumed = act("reprendre")
    (info,) = list_schedules(engine)
    assert info.next_run is not None and info.next_run.day == 5
    assert "Planification « mensuelle » reprise : prochaine exécution le " in resumed
    now = dt.datetime.now(dt.UTC)
    assert "à exécuter maintenant : le démon la lance à son prochain passage" in act("executer")
    (due,) = list_schedules(engine)
    assert due.next_run is not None and due.next_run <= now + dt.timedelta(seconds=5)

    unknown = client.post("/donnees/planifications/inconnue/suspendre", data={"csrf_token": csrf_of(page)})
    assert unknown.status_code == 400 and "planification inconnue « inconnue »" in unknown.text


def test_a_national_runs_page_lists_the_busiest_communes_and_sums_the_others(
    client_for: Client, engine: Engine
) -> None:
    import datetime as dt

    from detection.records import SUCCEEDED, DetectionRun
    from detection.reference import load_reference
    from uptake.db import transaction

    codes = load_reference().frame["code_commune"].head(150).to_list()
    with transaction(engine) as session:
        run = DetectionRun(
            status=SUCCEEDED,
            trigger="cli",
            extract_name="national.parquet",
            rule_versions={},
            counts_by_rule={},
            counts_by_commune={code: rank + 1 for rank, code in enumerate(codes)},
            timings={},
            forced=False,
            started_at=dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC),
        )
        session.add(run)
        session.flush()
        run_id = run.id
    page = client_for("equipe_donnees").get(f"/donnees/executions/{run_id}").text
    assert codes[-1] in page and codes[0] not in page  # the most flags first, the fewest left out
    assert "… et 50 autres communes (1\u202f275 signalements)" in page  # flags 1 to 50


def test_a_rejected_run_is_summed_up_in_the_list_and_reported_line_by_line_on_its_page(
    client_for: Client, engine: Engine, tmp_path: Path
) -> None:
    from detection.records import REJECTED, DetectionRun
    from detection.validation import ExtractRejected, validate_extract
    from uptake.db import transaction

    bad = tmp_path / "mauvais.csv"
    bad.write_text("id_foyer,x\nabc,1\n", encoding="utf-8")
    with pytest.raises(ExtractRejected) as rejected:
        validate_extract(bad)
    with transaction(engine) as session:
        run = DetectionRun(
            status=REJECTED,
            trigger="manuel",
            extract_name=bad.name,
            error_summary=str(rejected.value),
            started_at=dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC),
            finished_at=dt.datetime(2026, 3, 2, 8, 0, 1, tzinfo=dt.UTC),
        )
        session.add(run)
        session.flush()
        run_id = run.id
    client = client_for("equipe_donnees")
    listing = client.get("/donnees/executions").text
    problems = len(rejected.value.problems)
    assert f"rejeté — Extrait refusé : mauvais.csv — {problems} problèmes.</td>" in listing
    assert "colonne_manquante" not in listing  # the problems themselves are on the run's page
    page = client.get(f"/donnees/executions/{run_id}").text
    assert '<dd class="rapport">' in page and "colonne_manquante" in page


def test_the_installation_page_tells_each_part_and_what_to_fix(client_for: Client, engine: Engine) -> None:
    client = client_for("equipe_donnees")

    def states() -> dict[str, str]:
        page = html.unescape(client.get("/donnees/etat").text)
        rows = re.findall(r'<th scope="row">([^<]+)</th>\s*<td><span class="etat-[^"]+">([^<]+)</span>', page)
        return dict(rows)

    before = states()
    assert list(before) == [part for part, _ in CHECKS]
    assert before["Territoire"] == "✓ prêt" and before["Registre des traitements"] == "✗ à corriger"
    assert before["Comptes"] == "✗ à corriger"  # no DPO yet

    load_register(engine)
    create_accounts(engine, ("dpo",))
    after = states()
    assert after["Registre des traitements"] == "✓ prêt" and after["Comptes"] == "✓ prêt"


def test_a_stored_schedule_whose_date_never_comes_is_not_shown_as_paused(
    client_for: Client, engine: Engine, tmp_path, monkeypatch
) -> None:
    from uptake import scheduler as scheduler_module
    from uptake.scheduler import add_schedule

    # As stored before such expressions were refused.
    monkeypatch.setattr(scheduler_module, "_first_fire", lambda _fields, now: now)
    add_schedule(engine, "fevrier", cron="0 6 31 2 *", job="detection", params={"inbox": str(tmp_path)})
    monkeypatch.undo()

    page = client_for("equipe_donnees").get("/donnees/executions").text

    assert "jamais (date impossible : supprimez-la)" in page and "en pause" not in page


def test_a_schedule_added_under_another_time_zone_than_the_caf_s_is_told_with_the_fix(
    client_for: Client, engine: Engine, tmp_path, monkeypatch
) -> None:
    from uptake.scheduler import add_schedule

    monkeypatch.setenv("UPTAKE_FUSEAU", "America/Cayenne")
    add_schedule(engine, "mensuelle", cron="0 6 5 * *", job="detection", params={"inbox": str(tmp_path)})
    client = client_for("equipe_donnees")
    assert "suit le fuseau" not in html.unescape(client.get("/donnees/executions").text)

    monkeypatch.setenv("UPTAKE_FUSEAU", "Europe/Paris")
    page = html.unescape(client.get("/donnees/executions").text)
    assert "La planification « mensuelle » suit le fuseau America/Cayenne" in page
    assert "uptake schedule fuseau mensuelle" in page
    # The data team moves it from the page: same hours, now in the Caf's zone.
    assert 'aria-label="Passer au fuseau Europe/Paris : mensuelle"' in page
    moved = client.post("/donnees/planifications/mensuelle/fuseau", data={"csrf_token": csrf_of(page)})
    assert moved.status_code == 303, moved.text
    after = html.unescape(client.get(moved.headers["location"]).text)
    assert "Planification « mensuelle » passée au fuseau de l'installation, aux mêmes heures" in after
    assert "suit le fuseau" not in after and "Passer au fuseau" not in after


def test_campaigns_and_indicators_pages_say_how_each_counts_rights_opened(
    client_for: Client, engine: Engine
) -> None:
    from tests.outreach.factories import launch_row
    from uptake.db import transaction

    with transaction(engine) as session:
        session.add(launch_row(id=1))
    client = client_for("equipe_donnees")
    campaigns = " ".join(html.unescape(client.get("/donnees/campagnes").text).split())
    assert (
        "Résultats enregistrés pour ce lancement (nombre de résultats, "
        "foyers contactés et groupe témoin confondus)" in campaigns
    )
    assert "un foyer présent dans deux lancements compte dans chacun" in campaigns
    indicators = " ".join(html.unescape(client.get("/donnees/indicateurs").text).split())
    assert (
        "« Droits ouverts (foyers contactés) » compte les droits ouverts (un par foyer et par droit) "
        "des seuls foyers tirés pour être contactés" in indicators
    )
    assert "Chaque foyer compte une seule fois" in indicators


def test_a_link_typed_by_hand_naming_no_schedule_confirms_nothing(client_for: Client) -> None:
    page = client_for("equipe_donnees").get("/donnees/executions?fait=suspendre&planification=inexistante")
    assert page.status_code == 200
    assert "Planification « inexistante » suspendue" not in page.text


def test_the_indicators_are_computed_again_only_when_their_tables_change(
    client_for: Client, web_app: FastAPI, engine: Engine
) -> None:
    from tests.outreach.factories import launch_row
    from uptake.db import transaction

    with transaction(engine) as session:
        session.add(launch_row(id=1))
    client = client_for("equipe_donnees")
    first = client.get("/donnees/indicateurs").text
    computed = web_app.state.indicators
    # Read again, nothing new: the same indicators, not their statistical secrecy worked out again.
    assert client.get("/donnees/indicateurs").text == first
    assert web_app.state.indicators is computed
    with transaction(engine) as session:
        session.add(launch_row(id=2))
    client.get("/donnees/indicateurs")
    assert web_app.state.indicators is not computed
    assert web_app.state.indicators[0] != computed[0]
