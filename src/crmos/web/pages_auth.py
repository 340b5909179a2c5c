"""Signing in and out. The key arrives in a POST body only: typed into the form, or read by the
page's script from a ``#key=`` link (a fragment the browser never sends) and posted at once.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from starlette.responses import RedirectResponse

from crmos.core.errors import AuthError
from crmos.web.console import (
    ConsoleRoute,
    CsrfRefused,
    Viewer,
    actor_any,
    refuse_cross_site,
    set_session_cookie,
    sign_in_page,
    state,
)
from crmos.web.session import COOKIE

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)


@router.get("/sign-in")
def sign_in_form(request: Request) -> Response:
    """The sign-in form."""
    return sign_in_page(request)


@router.post("/sign-in")
def sign_in(
    request: Request,
    key: Annotated[str, Form(max_length=200)],
    csrf: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Check the key; on success a new session holds it and the browser goes to ``next``.

    Refused unless the form's token, signed for the sign-in form and bound to the visitor's
    cookie, comes back (a cross-site form cannot read it): no one can be signed in to an
    attacker's workspace behind their back (login CSRF)."""
    refuse_cross_site(request)
    s = state(request)
    pending = s.sessions.get(request.cookies.get(COOKIE))
    if pending is None or not pending.csrf_matches(csrf):
        raise CsrfRefused
    try:
        resolved = s.keys.resolve(key.strip())
    except AuthError as exc:
        return sign_in_page(request, status=401, error=exc.message, next_path=next)
    if "read" not in resolved.scopes and "admin" not in resolved.scopes:
        error = "This key cannot read the workspace."
        return sign_in_page(request, status=403, error=error, next_path=next)
    session = s.sessions.sign_in(pending, resolved)
    # Only a path on this server: an open redirect would leak the freshly signed-in tab.
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, session)
    return response


@router.post("/sign-out")
def sign_out(request: Request, who: Annotated[Viewer, Depends(actor_any)]) -> Response:
    """End the session."""
    state(request).sessions.end(who.session.id)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response
