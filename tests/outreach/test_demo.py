"""The outreach half of the demo runs end to end on a small synthetic world."""

from __future__ import annotations

from pathlib import Path

import pytest

from outreach.demo import run_demo_outreach
from tests.conftest import CONFIG_DIR
from tests.outreach.conftest import NOW
from tests.outreach.factories import extract_frame, flag, flags_frame


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_demo_outreach_produces_lists_reconciles_and_reports(make_world, tmp_path: Path) -> None:
    world = make_world()
    flags = flags_frame(
        [flag(i, ("ppa_non_recours", "al_non_recours")[i % 2]) for i in range(60)]
        + [flag(100 + i, "impaye_locatif") for i in range(12)]
    )
    run_id = world.store_run(flags)
    ids = flags["id_foyer"].unique().sort().to_list()
    world.store_contacts(ids)
    extract = tmp_path / "extrait.parquet"
    extract_frame(ids, month="2026-03-01").write_parquet(extract)

    demo = run_demo_outreach(
        world.env,
        CONFIG_DIR,
        run_id=run_id,
        extract_path=extract,
        out_dir=tmp_path / "demo",
        communes={"04088": "Forcalquier"},
        seed=3,
        now=NOW,
        base_rate=0.2,
        contact_effect=0.5,
    )
    channels = {o.path.name.split("-t")[1].split("-")[1] for o in demo.outputs}
    assert {"sms", "email", "appel", "courrier"} <= channels
    assert all(o.path.is_file() for o in demo.outputs)
    assert demo.reconciliation is not None and demo.reconciliation.rights_opened.get("contacte", 0) > 0
    assert demo.report is not None and demo.report.html.is_file()
    assert demo.next_extract is not None and demo.next_extract.is_file()
    # The mail room's returns are typed back and imported as real ones.
    assert demo.questionnaires is not None and demo.questionnaires_file is not None
    typed = demo.questionnaires_file.read_text(encoding="utf-8").splitlines()
    assert demo.questionnaires.questionnaires == len(typed) - 1 > 0
    returned = (tmp_path / "demo" / "courriers-revenus.csv").read_text(encoding="utf-8").splitlines()
    assert demo.letters_returned == len(returned) - 1
    stop = (tmp_path / "demo" / "reponses-stop.csv").read_text(encoding="utf-8").splitlines()
    assert demo.stop_replies is not None
    assert demo.stop_replies.replies == demo.stop_replies.households == len(stop) - 1
