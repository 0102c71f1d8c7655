"""The data team's pages on an empty and on a populated database."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.web.conftest import seed_worklist

Client = Callable[[str | None], TestClient]


def test_pages_say_so_when_nothing_ran_yet(client_for: Client) -> None:
    client = client_for("equipe_donnees")
    assert "Aucune exécution" in client.get("/donnees/executions").text
    assert "Aucune campagne lancée" in client.get("/donnees/campagnes").text
    indicators = client.get("/donnees/indicateurs")
    assert indicators.status_code == 200
    assert "Action 2.2" in indicators.text and "Action 7.1" in indicators.text


def test_campaign_progress_counts_the_call_list_states(client_for: Client, engine: Engine) -> None:
    import datetime as dt

    from outreach.models import Launch
    from uptake.db import transaction

    with transaction(engine) as session:
        session.add(
            Launch(
                id=1,
                campagne="action-2-2-non-recours",
                action="2.2",
                run_id=1,
                graine=1,
                part_temoin=0.1,
                config_sha256="0" * 64,
                acteur="equipe",
                lance_le=dt.datetime.now(dt.UTC),
                nb_signales=12,
                nb_contactes=10,
                nb_temoins=2,
                nb_exclus=0,
            )
        )
    seed_worklist(engine, 4)
    page = client_for("equipe_donnees").get("/donnees/campagnes").text
    assert "lancement n°1" in page
    assert "à appeler : 4" in page


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
    assert "ppa_non_recours : 61" in page
    assert "1\u202f200" in page and "950" in page and "87" in page  # French thousands
    assert "mars 2026" in page and "1\u202fmin 00\u202fs" in page
