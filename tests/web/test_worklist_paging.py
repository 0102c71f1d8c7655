"""A call list longer than one page: paging (« Suivants », « Précédents », the position) and the
filter by commune and campaign, the hand-out order kept."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.web.conftest import LOGINS, csrf_of, seed_worklist
from uptake.db import transaction
from uptake.users import set_sectors

Client = Callable[[str | None], TestClient]


def _shown(page: str) -> list[str]:
    """The pseudonyms of the table's lines, in their order."""
    return re.findall(r'title="(foyer\d{12}abcdef)"', page)


def _caption(page: str) -> str:
    match = re.search(r"<caption>(.*?)</caption>", page, re.S)
    assert match
    return match.group(1)


def _handout_order(seeded: list[str]) -> list[str]:
    """The households of one `seed_worklist` as they are handed out: by priority (1 + i % 3), then rank."""
    return [seeded[i] for i in sorted(range(len(seeded)), key=lambda i: (i % 3, i))]


def test_a_list_of_more_than_fifty_households_is_shown_fifty_at_a_time_in_hand_out_order(
    client_for: Client, engine: Engine
) -> None:
    seeded = seed_worklist(engine, 120)
    client = client_for("travailleur_social")
    first = client.get("/travail/liste").text
    assert _caption(first).endswith("les plus prioritaires d'abord : 1–50 sur 120")
    assert 'href="/travail/liste?page=2" rel="next">Suivants</a>' in first
    assert "Précédents" not in first
    second = client.get("/travail/liste?page=2").text
    assert _caption(second).endswith(": 51–100 sur 120")
    assert 'href="/travail/liste?page=1" rel="prev">Précédents</a>' in second
    assert 'href="/travail/liste?page=3" rel="next">Suivants</a>' in second
    third = client.get("/travail/liste?page=3").text
    assert _caption(third).endswith(": 101–120 sur 120") and "Suivants" not in third
    # Every household once, the most urgent first, across the pages.
    assert _shown(first) + _shown(second) + _shown(third) == _handout_order(seeded)
    # A page past the end (an old link) shows the last one.
    assert _shown(client.get("/travail/liste?page=9").text) == _shown(third)


def test_a_list_of_fifty_or_fewer_has_no_pages(client_for: Client, engine: Engine) -> None:
    seed_worklist(engine, 50)
    page = client_for("travailleur_social").get("/travail/liste").text
    assert _caption(page).endswith(": 1–50 sur 50")
    assert "Pages de la liste d'appels" not in page


def test_the_list_is_filtered_by_commune_and_campaign_and_its_pages_keep_the_filter(
    client_for: Client, engine: Engine
) -> None:
    client = client_for("travailleur_social")
    with transaction(engine) as session:
        set_sectors(session, LOGINS["travailleur_social"], ["04088", "04104"], actor="admin")
    seed_worklist(engine, 60)
    limans = seed_worklist(engine, 70, commune="04104", start=100)
    housing = seed_worklist(
        engine, 10, commune="04104", campagne="action-7-1-logement", launch_id=2, start=200
    )
    everything = client.get("/travail/liste").text
    assert _caption(everything).endswith(": 1–50 sur 140")
    assert '<option value="04104">Limans (04104)</option>' in everything
    assert '<option value="action-7-1-logement">action-7-1-logement</option>' in everything

    first = client.get("/travail/liste?commune=04104").text
    assert (
        _caption(first)
        == "Foyers de vos secteurs à Limans (04104), les plus prioritaires d'abord : 1–50 sur 80"
    )
    assert '<option value="04104" selected>' in first
    assert 'href="/travail/liste?commune=04104&amp;page=2" rel="next">Suivants</a>' in first
    second = client.get("/travail/liste?commune=04104&page=2").text
    assert _caption(second).endswith(": 51–80 sur 80")
    assert set(_shown(first) + _shown(second)) == set(limans + housing)
    assert "quel que soit ce choix" in second  # the next household is still the most urgent of all

    both = client.get("/travail/liste?commune=04104&campagne=action-7-1-logement").text
    assert _caption(both).endswith(
        "(04104), campagne action-7-1-logement, les plus prioritaires d'abord : 1–10 sur 10"
    )
    assert _shown(both) == _handout_order(housing)
    nothing = client.get("/travail/liste?commune=04088&campagne=action-7-1-logement").text
    assert _caption(nothing).endswith(": aucun") and "Aucun foyer de votre liste pour ce choix." in nothing


def test_a_commune_outside_my_sectors_is_refused_with_my_sectors_named(
    client_for: Client, engine: Engine
) -> None:
    seed_worklist(engine, 3, commune="04178")
    response = client_for("travailleur_social").get("/travail/liste?commune=04178")
    assert response.status_code == 400
    said = html.unescape(response.text)
    assert "La commune demandée n'est pas dans vos secteurs (Forcalquier (04088))" in said
    assert "foyer000000000000abcdef" not in response.text and "04178" not in response.text


def test_my_household_in_progress_is_offered_back_from_any_page_and_filter(
    client_for: Client, engine: Engine
) -> None:
    seed_worklist(engine, 80)
    client = client_for("travailleur_social")
    token = csrf_of(client.get("/travail/liste").text)
    assert client.post("/travail/suivant", data={"csrf_token": token}).status_code == 303
    first = client.get("/travail/liste").text
    assert "à vous" in first and "Reprendre mon foyer en cours" in first
    # Taken, it is still counted once: 80 households, the one held first.
    assert _caption(first).endswith(": 1–50 sur 80")
    second = client.get("/travail/liste?page=2&campagne=action-7-1-logement").text
    assert "Reprendre mon foyer en cours" in second


def _sent_by(page: str, action: str) -> dict[str, str]:
    """The hidden fields the form posting to `action` sends back (the CSRF token, the list's place)."""
    form = re.search(rf'<form method="post" action="{re.escape(action)}"[^>]*>(.*?)</form>', page, re.S)
    assert form, f"no form to {action}"
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form.group(1)))


def _two_sectors(client_for: Client, engine: Engine) -> TestClient:
    client = client_for("travailleur_social")
    with transaction(engine) as session:
        set_sectors(session, LOGINS["travailleur_social"], ["04088", "04104"], actor="admin")
    return client


def test_a_result_recorded_or_a_household_released_comes_back_to_the_filter_and_page_of_the_list(
    client_for: Client, engine: Engine
) -> None:
    client = _two_sectors(client_for, engine)
    seed_worklist(engine, 10)
    seed_worklist(engine, 120, commune="04104", start=100)
    second = client.get("/travail/liste?commune=04104&page=2").text
    claimed = client.post("/travail/suivant", data=_sent_by(second, "/travail/suivant"))
    card_url = claimed.headers["location"]
    assert card_url.endswith("?commune=04104&page=2")
    card = client.get(card_url).text
    row_id = card_url.split("?")[0].rsplit("/", 1)[1]
    form = _sent_by(card, f"/travail/foyers/{row_id}/resultat")
    assert (form["commune"], form["page"]) == ("04104", "2")

    recorded = client.post(f"/travail/foyers/{row_id}/resultat", data={**form, "resultat": "refus"})
    assert recorded.headers["location"] == "/travail/liste?fait=enregistre&commune=04104&page=2"
    back = client.get(recorded.headers["location"]).text
    assert "Résultat enregistré." in back
    assert _caption(back) == (
        "Foyers de vos secteurs à Limans (04104), les plus prioritaires d'abord : 51–100 sur 120"
    )

    claimed = client.post("/travail/suivant", data=_sent_by(back, "/travail/suivant"))
    card_url = claimed.headers["location"]
    row_id = card_url.split("?")[0].rsplit("/", 1)[1]
    form = _sent_by(client.get(card_url).text, f"/travail/foyers/{row_id}/resultat")
    released = client.post(f"/travail/foyers/{row_id}/liberer", data=form)
    assert released.headers["location"] == "/travail/liste?fait=libere_seul&commune=04104&page=2"


def test_an_action_that_empties_the_page_comes_back_to_the_last_page_left(
    client_for: Client, engine: Engine
) -> None:
    seed_worklist(engine, 51)
    client = client_for("travailleur_social")
    last = client.get("/travail/liste?campagne=action-2-2-non-recours&page=2").text
    assert _caption(last).endswith(": 51–51 sur 51")
    card_url = client.post("/travail/suivant", data=_sent_by(last, "/travail/suivant")).headers["location"]
    row_id = card_url.split("?")[0].rsplit("/", 1)[1]
    form = _sent_by(client.get(card_url).text, f"/travail/foyers/{row_id}/resultat")
    recorded = client.post(f"/travail/foyers/{row_id}/resultat", data={**form, "resultat": "refus"})
    # Page 2 is gone with the household handled: the filter stays, on page 1.
    assert recorded.headers["location"] == "/travail/liste?fait=enregistre&campagne=action-2-2-non-recours"
    assert _caption(client.get(recorded.headers["location"]).text).endswith(": 1–50 sur 50")


def test_a_caller_not_found_leaves_the_list_at_its_filter_and_page(
    client_for: Client, engine: Engine
) -> None:
    seed_worklist(engine, 60)
    client = client_for("travailleur_social")
    second = client.get("/travail/liste?campagne=action-2-2-non-recours&page=2").text
    form = _sent_by(second, "/travail/rappel")
    not_found = client.post("/travail/rappel", data={**form, "telephone": "06 12 34 56 78"})
    assert not_found.status_code == 404
    assert _caption(not_found.text).endswith(
        "campagne action-2-2-non-recours, les plus prioritaires d'abord : 51–60 sur 60"
    )


def test_a_place_sent_back_with_a_filter_not_mine_is_refused_and_nothing_is_done(
    client_for: Client, engine: Engine
) -> None:
    seed_worklist(engine, 3)
    client = client_for("travailleur_social")
    token = csrf_of(client.get("/travail/liste").text)
    outside = client.post("/travail/suivant", data={"csrf_token": token, "commune": "04178"})
    assert outside.status_code == 400
    assert "La commune demandée n'est pas dans vos secteurs" in html.unescape(outside.text)
    unknown = client.post("/travail/suivant", data={"csrf_token": token, "campagne": "xyz"})
    assert unknown.status_code == 400
    assert "Reprendre mon foyer en cours" not in client.get("/travail/liste").text  # nobody claimed
    card_url = client.post("/travail/suivant", data={"csrf_token": token}).headers["location"]
    assert client.get(f"{card_url}?campagne=xyz").status_code == 400
    refused = client.post(
        f"{card_url}/resultat", data={"csrf_token": token, "resultat": "refus", "page": "0"}
    )
    assert refused.status_code == 422
    assert "Reprendre mon foyer en cours" in client.get("/travail/liste").text  # no result recorded


def test_an_unknown_campaign_in_the_address_is_refused_with_the_campaigns_named(
    client_for: Client, engine: Engine
) -> None:
    seed_worklist(engine, 3)
    response = client_for("travailleur_social").get("/travail/liste?campagne=xyz")
    assert response.status_code == 400
    said = html.unescape(response.text)
    assert (
        "La campagne demandée n'existe pas (campagnes existantes : action-2-2-non-recours, "
        "action-7-1-logement) : choisissez-en une dans la liste." in said
    )
    assert "Aucun foyer" not in said
