"""Where a social worker is in their call list (filter and page), carried through the list's actions.

An action started from the list (the next household, a caller's card, a result, a release) comes back
to the same commune, campaign and page. The place travels in the address and in hidden form fields:
it comes back from the browser, so it is checked again each time, as a filter typed in the address is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy.orm import Session

from outreach.campaigns import campaign_paths
from uptake.web.rendering import sectors_text
from uptake.web.worklist import WORKLIST_PAGE_SIZE, ListFilter, count_worklist, sector_campaigns

# The highest page number an address or a form may carry (the list clamps it to its last page).
PAGE_MAX = 1_000_000


class PlaceRefused(Exception):
    """A filter that is not the worker's to choose; `str()` is a French message naming what is valid."""


@dataclass(frozen=True)
class ListPlace:
    """A page of a call list: its filter and its number (1 first)."""

    shown: ListFilter = field(default_factory=ListFilter)
    page: int = 1

    def fields(self) -> dict[str, str]:
        """The place as address parameters or hidden form fields (the defaults left out)."""
        values = {"commune": self.shown.commune or "", "campagne": self.shown.campagne or ""}
        if self.page > 1:
            values["page"] = str(self.page)
        return {name: value for name, value in values.items() if value}

    def query(self, **notice: str | int) -> str:
        """`?fait=…&commune=…&page=…`: the address parameters of a page at this place ('' if none)."""
        values = {**{name: str(value) for name, value in notice.items()}, **self.fields()}
        return f"?{urlencode(values)}" if values else ""

    def list_url(self, **notice: str | int) -> str:
        """The call list's address at this place, with the notice of what was just done."""
        return f"/travail/liste{self.query(**notice)}"


def checked_place(
    session: Session, config_dir: Path, secteurs: Sequence[str], commune: str, campagne: str, page: int
) -> ListPlace:
    """The place sent back by the browser, once its commune is found among `secteurs` and its campaign
    among those of the configuration (`config_dir`) or of the lines of `secteurs` (its file may be gone
    since their launch); else `PlaceRefused`."""
    if commune and commune not in secteurs:
        raise PlaceRefused(
            f"La commune demandée n'est pas dans vos secteurs ({sectors_text(secteurs)}) : "
            "choisissez-en une dans la liste."
        )
    if campagne:
        known = sorted(
            {path.stem for path in campaign_paths(config_dir)} | set(sector_campaigns(session, secteurs))
        )
        if campagne not in known:
            listed = f"campagnes existantes : {', '.join(known)}" if known else "aucune campagne n'existe"
            raise PlaceRefused(
                f"La campagne demandée n'existe pas ({listed}) : choisissez-en une dans la liste."
            )
    return ListPlace(ListFilter(commune or None, campagne or None), page)


def page_count(total: int) -> int:
    """How many pages a list of `total` households has (one, empty)."""
    return max(1, -(-total // WORKLIST_PAGE_SIZE))


def last_page(session: Session, login: str, secteurs: Sequence[str], place: ListPlace) -> ListPlace:
    """The place, on the last page of its list when its own page no longer exists (its last household
    just handled)."""
    pages = page_count(count_worklist(session, login, secteurs, place.shown))
    return ListPlace(place.shown, min(place.page, pages))
