"""After a pseudonymisation key rotation, outreach's history follows the households."""

from __future__ import annotations

import datetime as dt

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.launch import launch_campaign
from outreach.models import Assignment, Contact, WorklistItem
from outreach.rekey import rekey_outreach
from privacy.rotation import mapping_table
from tests.outreach.conftest import NOW
from tests.outreach.factories import campaign_22, many_flags


def test_after_a_key_rotation_a_new_campaign_still_sees_who_was_contacted_and_held_out(make_world) -> None:
    world = make_world()
    flags = many_flags(30)
    old = flags["id_foyer"].to_list()
    world.store_contacts(old)
    first = launch_campaign(world.env, campaign_22(), world.store_run(flags), out_dir=world.out_dir, now=NOW)
    assert first.contactes > 0

    renamed = {pseudonym: f"{pseudonym}-rot" for pseudonym in old[:-1]}  # the last one left unknown
    with (
        Session(world.engine) as session,
        session.begin(),
        mapping_table(
            session, pl.DataFrame({"ancien": list(renamed), "nouveau": list(renamed.values())})
        ) as table,
    ):
        done = {r.what: r for r in rekey_outreach(session, table)}
    assert done["foyers_des_campagnes"].rows == len(renamed)
    assert done["foyers_des_campagnes"].pseudonyms == frozenset(renamed)
    with Session(world.engine) as session:
        for column in (Assignment.id_foyer, Contact.id_foyer, WorklistItem.id_foyer):
            assert set(session.scalars(select(column))) <= {*renamed.values(), old[-1]}

    # The next month's run, under the new pseudonyms: the same households are not contacted again.
    new_flags = flags.filter(pl.col("id_foyer").is_in(list(renamed))).with_columns(
        pl.col("id_foyer").replace(renamed)
    )
    world.store_contacts(new_flags["id_foyer"].to_list())
    second = launch_campaign(
        world.env,
        campaign_22(),
        world.store_run(new_flags),
        out_dir=world.out_dir / "suivant",
        now=NOW + dt.timedelta(days=1),
    )
    assert second.contactes == 0
