"""`/accessibilite`: the accessibility statement a French public body publishes for each of its
online services (loi n° 2005-102, article 47), linked from the foot of every page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from uptake.accessibility import accessibility_contact
from uptake.web.access import PUBLIC, guard
from uptake.web.rendering import render

public = APIRouter(dependencies=guard(PUBLIC))
ROUTERS = (public,)


@public.get("/accessibilite")
def accessibility_statement(request: Request) -> Response:
    """The statement: conformity status, what is checked, how to report a barrier, legal remedies."""
    try:
        contact = accessibility_contact()
    except ValueError:  # `uptake check` says so; the page still gives the other ways
        contact = None
    return render(request, "accessibilite.html", {"title": "Déclaration d'accessibilité", "contact": contact})
