"""`uptake audit show` reads as the web journal does: operations in words (with the code that
`--operation` takes), a household's pseudonym on one line."""

from __future__ import annotations

PSEUDONYM = "a1b2c3d4e5f6" + "7" * 52


def test_operations_are_named_in_words_and_a_pseudonym_keeps_to_one_line_in_80_columns(cli) -> None:
    assert cli("subjects", "oppose", PSEUDONYM, "--source", "courrier").code == 0
    shown = cli("audit", "show", env={"COLUMNS": "80"})
    assert shown.code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 80
    [entry] = [line for line in lines if "Opposition enregistrée" in line]
    assert "a1b2c3d4e5f6…" in entry  # shortened, whole on the entry's line
    assert "opposition.enregistrement" in shown.stdout  # the code --operation takes, under the label
    assert PSEUDONYM not in shown.stdout and "7777777777777" not in shown.stdout
    assert "--pseudonymes-entiers" in " ".join(shown.stdout.split())


def test_pseudonyms_are_shown_whole_on_request(cli) -> None:
    assert cli("subjects", "oppose", PSEUDONYM, "--source", "courrier").code == 0
    whole = cli("audit", "show", "--pseudonymes-entiers", env={"COLUMNS": "200"})
    assert whole.code == 0 and PSEUDONYM in whole.stdout
    assert "abrégés" not in whole.stdout


def test_an_attestation_is_shown_with_the_range_of_entries_it_covers(cli, uptake_home) -> None:
    from privacy import audit
    from uptake.db import make_engine, transaction

    assert cli("subjects", "oppose", PSEUDONYM, "--source", "courrier").code == 0  # n°1, signed
    engine = make_engine(f"sqlite:///{uptake_home / 'uptake.sqlite3'}")
    with transaction(engine) as session:  # n°2 and n°3 on an engine uptake did not seal: unattested
        for number in range(2):
            audit.append(session, actor="script-maison", action="purge", object_ref=f"objet-{number}")
    engine.dispose()
    attested = cli("audit", "attester", "--dpo", "dpo1", "--oui")
    assert attested.code == 0, attested.output

    shown = cli("audit", "show", "--operation", "journal.attestation", env={"COLUMNS": "120"})

    assert shown.code == 0, shown.output
    assert "entrées n° 2 à 3 (2 entrées)" in " ".join(shown.stdout.split())
    assert "depuis l'entrée" not in shown.stdout
