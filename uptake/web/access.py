"""Who may open which route: every route declares an `Access` rule, checked server-side.

`Access` is the one dependency that signs the request in (session cookie), checks the role and, for
every form submission, the CSRF token. `create_app` refuses to start if a route has no rule.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from fastapi import Depends, HTTPException, Request, Response, params
from starlette.concurrency import run_in_threadpool

from uptake.db import transaction
from uptake.users import ROLES, Account
from uptake.web.sessions import SESSION_LIFETIME, SignedIn, resolve_session

SESSION_COOKIE = "uptake_session"
CSRF_COOKIE = "uptake_csrf"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def secure_cookies(request: Request) -> bool:
    """Whether cookies get the `Secure` flag: over HTTPS, or always behind a TLS proxy
    (`UPTAKE_COOKIE_SECURE=1`)."""
    return bool(request.app.state.cookie_secure) or request.url.scheme == "https"


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    """Hand the browser the cookie of a session just opened."""
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
    )


class NotSignedIn(Exception):
    """The route needs an account and the request has no valid session."""


class PasswordToReplace(Exception):
    """The signed-in account has a temporary password: « Mon compte » comes before any other page."""


@dataclass(frozen=True)
class Access:
    """The roles allowed on a route; `public` routes need no account (the sign-in page);
    `while_temporary` routes are open to an account whose password is temporary (replacing it, signing
    out); a request to a route that does not `keep_alive` leaves the session's idle time running (what a
    page asks in the background is no activity of the person)."""

    roles: frozenset[str]
    public: bool = False
    while_temporary: bool = False
    keep_alive: bool = True

    async def __call__(self, request: Request) -> None:
        signed_in = await identify(request, keep_alive=self.keep_alive)
        if not self.public:
            if signed_in is None:
                raise NotSignedIn
            if signed_in.account.role not in self.roles:
                raise HTTPException(status_code=403)
            if signed_in.account.password_temporary and not self.while_temporary:
                raise PasswordToReplace
        if request.method not in SAFE_METHODS:
            await _check_csrf(request, signed_in)


def allow(*roles: str) -> Access:
    """A rule for the roles named (each must be a known role)."""
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")
    return Access(frozenset(roles))


PUBLIC = Access(frozenset(), public=True)
ANY_ROLE = allow(*ROLES)
# Open to every account, even before it has replaced a temporary password.
OWN_ACCOUNT = Access(frozenset(ROLES), while_temporary=True)
# Open to anybody, and the session's idle time keeps running (how long a page's session has left).
PUBLIC_PASSIVE = Access(frozenset(), public=True, keep_alive=False)


async def identify(request: Request, *, keep_alive: bool = True) -> SignedIn | None:
    """Resolve the session cookie into `request.state.signed_in` and the page's CSRF token; the
    request counts as activity of the session when `keep_alive`."""
    signed_in = await run_in_threadpool(_signed_in, request, keep_alive)
    request.state.signed_in = signed_in
    if signed_in is not None:
        request.state.csrf_token = signed_in.csrf_token
    else:
        request.state.csrf_token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    return signed_in


def idle_timeout_of(request: Request) -> timedelta:
    """The app's idle limit of a session (`IDLE_TIMEOUT` unless `create_app` was given another)."""
    limit: timedelta = request.app.state.idle_timeout
    return limit


def _signed_in(request: Request, keep_alive: bool) -> SignedIn | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    with transaction(request.app.state.context.engine) as session:
        return resolve_session(session, token, idle_timeout=idle_timeout_of(request), touch=keep_alive)


async def _check_csrf(request: Request, signed_in: SignedIn | None) -> None:
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    expected = signed_in.csrf_token if signed_in else request.cookies.get(CSRF_COOKIE)
    if not isinstance(sent, str) or not expected or not hmac.compare_digest(sent, expected):
        raise HTTPException(status_code=403, detail="csrf")


def guard(rule: Access) -> list[params.Depends]:
    """The `dependencies=` list of a router or route protected by `rule`."""
    return [Depends(rule)]


def current_account(request: Request) -> Account:
    """The signed-in account (for routes whose `Access` rule already required one)."""
    signed_in: SignedIn | None = getattr(request.state, "signed_in", None)
    if signed_in is None:
        raise NotSignedIn
    return signed_in.account


def rules_of(dependencies: Iterable[object]) -> list[Access]:
    """The `Access` rules among a route's dependency callables."""
    return [call for call in dependencies if isinstance(call, Access)]
