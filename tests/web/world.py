"""A real outreach world for the journeys: a stored detection run, contacts in the vault, the
register, and a call campaign launched with outreach's own `launch_campaign` (synthetic data)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from sqlalchemy import Engine, update

from outreach.campaigns import Attempt, Campaign
from outreach.launch import OutreachEnv, launch_campaign
from outreach.models import WorklistItem
from tests.outreach.conftest import OutreachWorld
from tests.outreach.factories import campaign_22, flag, flags_frame, geography, pseudonym, templates_dir
from tests.web.conftest import app_keyring, load_register
from uptake.db import transaction

CALL_FIELDS = ("civilite", "nom", "prenom", "telephone", "droits_presumes", "motifs")


def call_campaign() -> Campaign:
    """The shipped 2.2 campaign reduced to its call attempt, so that launching it fills a call list."""
    shipped = campaign_22()
    call = next(a for a in shipped.tentatives if a.canal == "appel")
    return replace(shipped, tentatives=(Attempt(canal="appel", modele=call.modele, condition="toujours"),))


def prepare(engine: Engine, home: Path, households: int = 12) -> tuple[OutreachWorld, int]:
    """Register, vault contacts and a succeeded run flagging `households` households of Forcalquier."""
    load_register(engine)
    env = OutreachEnv(engine, app_keyring(home), geography(), templates_dir(), actor="equipe-donnees")
    world = OutreachWorld(engine, env.keyring, env, home / "sorties", exchange_id=0)
    ids = [pseudonym(i) for i in range(households)]
    world.store_contacts(ids)
    run_id = world.store_run(
        flags_frame([flag(i, code_commune="04088", priorite=1 + i % 2) for i in range(households)])
    )
    return world, run_id


def launch_calls(world: OutreachWorld, run_id: int) -> int:
    """Launch the call campaign now; then open its rows for calling (the planned call time has come)."""
    report = launch_campaign(world.env, call_campaign(), run_id, out_dir=world.out_dir)
    with transaction(world.engine) as session:
        session.execute(
            update(WorklistItem)
            .where(WorklistItem.launch_id == report.launch_id)
            .values(appel_a_partir_de=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1))
        )
    return report.launch_id
