"""The DPO's review of access rights (« Habilitations »): who may see which households, since when,
and whether they still use it. Read only: the administrator changes accounts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from uptake.db import transaction
from uptake.scheduler import list_schedules
from uptake.users import DORMANT_AFTER, dormant_sweeps, review_accounts
from uptake.web.access import allow, guard
from uptake.web.rendering import render

router = APIRouter(prefix="/dpo", dependencies=guard(allow("dpo")))


@router.get("/habilitations")
def access_rights_page(request: Request) -> Response:
    """Every account: role, sectors, state, creation, last password change and last sign-in; active
    accounts unused for `DORMANT_AFTER` (or the delay of the schedule that disables them, told) are
    pointed out."""
    now = datetime.now(UTC)
    engine = request.app.state.context.engine
    with transaction(engine) as session:
        reviews = review_accounts(session)
    sweeps = [(s.name, days, s.next_run) for s, days in dormant_sweeps(list_schedules(engine))]
    # The accounts pointed out are those the next scheduled sweep will disable.
    days = sweeps[0][1] if sweeps else DORMANT_AFTER.days
    dormant = {r.account.login for r in reviews if r.dormant(now, timedelta(days=days))}
    return render(
        request,
        "dpo/access_rights.html",
        {
            "title": "Habilitations",
            "reviews": reviews,
            "dormant": dormant,
            "dormant_days": days,
            "sweeps": sweeps,
            "views_url": {
                r.account.login: "/dpo/consultations?" + urlencode({"acteur": r.account.login})
                for r in reviews
            },
        },
    )


ROUTERS = (router,)
