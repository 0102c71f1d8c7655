"""Run records and flag storage, on SQLite and PostgreSQL."""

from __future__ import annotations

import polars as pl
from sqlalchemy import Engine

from detection.records import (
    FAILED,
    FLAG_COLUMNS,
    SUCCEEDED,
    DetectionRun,
    count_flags,
    find_equivalent_run,
    get_run,
    insert_flags,
    latest_run,
    list_runs,
    load_flags,
    utcnow,
)
from uptake.db import transaction


def _flags(n: int) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id_foyer": [f"foyer_{i:012d}" for i in range(n)],
            "regle": ["ppa_non_recours" if i % 2 else "al_non_recours" for i in range(n)],
            "version_regle": ["1.0"] * n,
            "montant_estime": [None if i % 3 == 0 else 100.5 + i for i in range(n)],
            "priorite": [1 + i % 3 for i in range(n)],
            "code_commune": ["04088"] * n,
            "distance_services_km": [0.0] * n,
            "commune_eloignee": [False] * n,
            "explication": ["Revenus d'activité faibles, prime non versée « test »"] * n,
            "conditions_remplies": ['["revenus", "non_percu"]'] * n,
            "empreinte_parametres": ["abc"] * n,
            "evenement_vie": [None if i % 2 else "naissance" for i in range(n)],
            "canal_sms": [True] * n,
            "canal_email": [i % 2 == 0 for i in range(n)],
            "canal_telephone": [False] * n,
            "canal_courrier": [True] * n,
            "opposition_contact": [i == 3 for i in range(n)],
            "accompagnement_social": [False] * n,
        },
        schema=FLAG_COLUMNS,
    )


def _new_run(engine: Engine, status: str, **values: object) -> int:
    with transaction(engine) as session:
        run = DetectionRun(
            status=status,
            trigger="test",
            extract_name="extrait.parquet",
            extract_sha256="f" * 64,
            rule_versions={"ppa_non_recours": "1.0", "al_non_recours": "1.0"},
            parameters_fingerprint="p1",
            territory_fingerprint="t1",
            forced=False,
            counts_by_rule={},
            counts_by_commune={},
            timings={},
            started_at=utcnow(),
            **values,
        )
        session.add(run)
        session.flush()
        return run.id


def test_flags_round_trip_through_the_database_with_their_types(engine: Engine) -> None:
    run_id = _new_run(engine, SUCCEEDED)
    flags = _flags(1_000)
    with transaction(engine) as session:
        insert_flags(session, run_id, flags)

    loaded = load_flags(engine, run_id)

    assert loaded.schema == pl.Schema(FLAG_COLUMNS)
    expected = flags.sort("regle", "id_foyer")
    assert loaded.equals(expected)
    assert load_flags(engine, run_id, rules=["al_non_recours"]).height == 500


def test_flags_inserted_in_a_rolled_back_transaction_are_not_visible(engine: Engine) -> None:
    run_id = _new_run(engine, SUCCEEDED)
    try:
        with transaction(engine) as session:
            insert_flags(session, run_id, _flags(200))
            raise RuntimeError("interruption")
    except RuntimeError:
        pass
    assert count_flags(engine, run_id) == 0


def test_latest_run_and_get_run_return_plain_records(engine: Engine) -> None:
    first = _new_run(engine, SUCCEEDED)
    _new_run(engine, FAILED, error_summary="arrêt")

    latest = latest_run(engine)
    assert latest is not None and latest.id == first
    assert latest.started_at.tzinfo is not None
    newest_any = latest_run(engine, status=None)
    assert newest_any is not None and newest_any.status == FAILED and newest_any.status_label == "échoué"
    with transaction(engine) as session:
        record = get_run(session, first)
        assert record is not None and record.rule_versions["ppa_non_recours"] == "1.0"
        assert get_run(session, 999_999) is None
    assert [r.id for r in list_runs(engine)] == [first + 1, first]


def test_an_equivalent_run_needs_the_same_hash_rules_parameters_and_territory(engine: Engine) -> None:
    run_id = _new_run(engine, SUCCEEDED)
    same = {"ppa_non_recours": "1.0", "al_non_recours": "1.0"}
    with transaction(engine) as session:

        def find(**changes: object) -> int | None:
            key: dict[str, object] = {
                "extract_sha256": "f" * 64,
                "rule_versions": same,
                "parameters_fingerprint": "p1",
                "territory_fingerprint": "t1",
                **changes,
            }
            found = find_equivalent_run(session, **key)  # type: ignore[arg-type]
            return None if found is None else found.id

        assert find() == run_id
        assert find(extract_sha256="e" * 64) is None
        assert find(rule_versions={"ppa_non_recours": "1.1", "al_non_recours": "1.0"}) is None
        assert find(rule_versions={"ppa_non_recours": "1.0"}) is None
        assert find(parameters_fingerprint="p2") is None
        assert find(territory_fingerprint="t2") is None
