"""Selection: opposition, geography, caps and channels exclude; every household gets an arm or a reason."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import polars as pl

from outreach.campaigns import GeographyFilter, SelectionSection
from outreach.selection import History, select_households
from tests.outreach.factories import (
    campaign_22,
    campaign_71,
    flag,
    flags_frame,
    geography,
    many_flags,
    pseudonym,
)

NOW = datetime(2026, 3, 10, 10, 0, tzinfo=UTC)


def _history(contacts: list[tuple[int, str, int]] = (), outcomes: list[tuple[int, str, int]] = ()) -> History:
    """Contacts (household, rule, days ago) and outcomes (household, outcome, days ago)."""
    moment = NOW.replace(tzinfo=None)
    return History(
        contacts=pl.DataFrame(
            [(pseudonym(i), r, moment - timedelta(days=d)) for i, r, d in contacts],
            schema={"id_foyer": pl.String, "regle": pl.String, "moment": pl.Datetime("us")},
            orient="row",
        ),
        outcomes=pl.DataFrame(
            [(pseudonym(i), o, moment - timedelta(days=d)) for i, o, d in outcomes],
            schema={"id_foyer": pl.String, "resultat": pl.String, "moment": pl.Datetime("us")},
            orient="row",
        ),
    )


def _select(flags: pl.DataFrame, campaign=None, opposed=frozenset(), history=None) -> dict[str, dict]:
    result = select_households(
        flags,
        campaign or campaign_22(),
        geography(),
        opposed=set(opposed),
        history=history or History(),
        now=NOW,
    )
    return {row["id_foyer"]: row for row in result.iter_rows(named=True)}


def test_every_flagged_household_gets_exactly_one_arm_or_one_reason() -> None:
    flags = pl.concat(
        [
            many_flags(300),
            flags_frame([flag(1000, opposition_contact=True), flag(1001, code_commune="75056")]),
        ]
    )
    result = select_households(flags, campaign_22(), geography(), opposed=set(), history=History(), now=NOW)
    assert result["id_foyer"].n_unique() == result.height == flags["id_foyer"].n_unique()
    has_arm = result["bras"].is_not_null()
    has_reason = result["motif_exclusion"].is_not_null()
    assert (has_arm ^ has_reason).all()


def test_opposition_from_the_extract_and_from_the_register_is_never_contacted() -> None:
    flags = flags_frame([flag(1, opposition_contact=True), flag(2), flag(3)])
    rows = _select(flags, opposed={pseudonym(2)}, history=_history(outcomes=[(3, "opposition", 400)]))
    assert all(rows[pseudonym(i)]["motif_exclusion"] == "opposition" for i in (1, 2, 3))
    assert all(rows[pseudonym(i)]["bras"] is None for i in (1, 2, 3))


def test_caps_exclude_recent_same_right_busy_households_and_recent_refusals() -> None:
    flags = flags_frame([flag(i) for i in range(1, 7)])
    history = _history(
        contacts=[
            (1, "ppa_non_recours", 100),  # same right within 180 days
            (2, "ppa_non_recours", 200),  # same right, but long ago: contactable
            (3, "al_non_recours", 1),  # three contacts in 30 days by other campaigns
            (3, "al_non_recours", 5),
            (3, "rsa_non_recours", 9),
            (4, "al_non_recours", 40),
        ],
        outcomes=[(5, "refus", 30), (6, "refus", 61)],
    )
    rows = _select(flags, history=history)
    assert rows[pseudonym(1)]["motif_exclusion"] == "contact_recent_meme_droit"
    assert rows[pseudonym(2)]["bras"] is not None
    assert rows[pseudonym(3)]["motif_exclusion"] == "plafond_tentatives"
    assert rows[pseudonym(4)]["bras"] is not None
    assert rows[pseudonym(5)]["motif_exclusion"] == "pause_apres_refus"
    assert rows[pseudonym(6)]["bras"] is not None


def test_a_household_with_another_right_not_recently_contacted_stays_contactable_for_it() -> None:
    flags = flags_frame([flag(1, "ppa_non_recours"), flag(1, "al_non_recours", priorite=2)])
    rows = _select(flags, history=_history(contacts=[(1, "ppa_non_recours", 10)]))
    assert rows[pseudonym(1)]["bras"] is not None
    assert rows[pseudonym(1)]["regle"] == "al_non_recours"


def test_households_already_followed_are_left_out_where_the_campaign_says_so() -> None:
    flags = flags_frame(
        [
            flag(1, "rsa_non_recours", accompagnement_social=True),
            flag(2, "ppa_non_recours", accompagnement_social=True),
        ]
    )
    rows = _select(flags)
    assert rows[pseudonym(1)]["motif_exclusion"] == "deja_accompagne"
    assert rows[pseudonym(2)]["bras"] is not None


def test_no_usable_channel_of_the_sequence_is_an_exclusion() -> None:
    none = {"canal_sms": False, "canal_email": False, "canal_telephone": False, "canal_courrier": False}
    flags = flags_frame([flag(1, **none), flag(2, **{**none, "canal_courrier": True})])
    rows = _select(flags)
    assert rows[pseudonym(1)]["motif_exclusion"] == "aucun_canal"
    assert rows[pseudonym(2)]["canaux"] == "courrier"


def test_geography_filters_on_distance_perimeter_and_remote_communes() -> None:
    geo = geography()
    far = geo.communes.sort("distance_services_km")["code_commune"][-1]
    near = "04088"
    flags = flags_frame(
        [
            flag(1, code_commune=far, distance_services_km=geo.distance_km(far)),
            flag(2, code_commune=near, distance_services_km=0.0),
            flag(3, code_commune="13055", distance_services_km=None),
        ]
    )
    campaign = campaign_22(geographie=GeographyFilter(distance_min_km=1.0, communes_eloignees=True))
    rows = _select(flags, campaign=campaign)
    assert rows[pseudonym(1)]["bras"] is not None
    assert rows[pseudonym(2)]["motif_exclusion"] == "hors_geographie"
    assert rows[pseudonym(3)]["motif_exclusion"] == "hors_geographie"


def test_perimeter_filter_keeps_only_households_inside_the_named_programmes() -> None:
    pig_only = "04178"
    assert pig_only not in geography().territory.perimeter_communes("OPAH")
    flags = flags_frame(
        [
            flag(1, "impaye_locatif", code_commune="04088"),
            flag(2, "logement_non_decent", code_commune=pig_only),
        ]
    )
    opah_only = replace(campaign_71(), geographie=GeographyFilter(perimetres=["OPAH"]))
    rows = _select(flags, campaign=opah_only)
    assert rows[pseudonym(1)]["bras"] is not None
    assert rows[pseudonym(2)]["motif_exclusion"] == "hors_geographie"
    assert _select(flags, campaign=campaign_71())[pseudonym(2)]["bras"] is not None


def test_order_is_priority_then_amount_then_distance_and_capacity_cuts_the_tail() -> None:
    flags = flags_frame(
        [
            flag(1, priorite=2, montant_estime=900.0),
            flag(2, priorite=1, montant_estime=50.0, distance_services_km=3.0),
            flag(3, priorite=1, montant_estime=50.0, distance_services_km=9.0),
            flag(4, priorite=1, montant_estime=300.0),
        ]
    )
    campaign = campaign_22(
        selection=SelectionSection(plafond_foyers=3),
        temoin=campaign_22().temoin.model_copy(update={"part": 0.0}),
    )
    rows = _select(flags, campaign=campaign)
    assert [rows[pseudonym(i)]["rang"] for i in (4, 3, 2)] == [1, 2, 3]
    assert rows[pseudonym(1)]["motif_exclusion"] == "capacite_atteinte"


def test_flags_of_rules_outside_the_campaign_are_ignored() -> None:
    flags = flags_frame([flag(1, "impaye_locatif"), flag(2)])
    assert set(_select(flags)) == {pseudonym(2)}


def test_households_of_a_recent_holdout_stay_in_the_holdout() -> None:
    flags = many_flags(200)
    kept = {pseudonym(i) for i in range(0, 200, 3)}
    result = select_households(
        flags, campaign_22(), geography(), opposed=set(), history=History(holdout=frozenset(kept)), now=NOW
    )
    arms = dict(result.select("id_foyer", "bras").iter_rows())
    assert all(arms[f] == "temoin" for f in kept)
    assert any(arm == "contacte" for f, arm in arms.items() if f not in kept)
