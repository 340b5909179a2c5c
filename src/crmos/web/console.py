"""The console's machinery: templates with fragments, the viewer of a request, CSRF, errors.

One Jinja2 template per view; a view's htmx fragment is a named block of that same template
(jinja2-fragments), so a fragment and its page never drift apart.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.routing import APIRoute
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from jinja2_fragments.fastapi import Jinja2Blocks
from starlette.responses import HTMLResponse

from crmos.api.auth import KeyResolver
from crmos.bootstrap import Container
from crmos.core.errors import CrmosError
from crmos.i18n import Catalogs
from crmos.store import ApiKey
from crmos.web import language as locale
from crmos.web.session import COOKIE, Session, Sessions

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    # Scripts only from this server: the vendored files and the console's own.
    "Content-Security-Policy": "default-src 'self'; script-src 'self' 'unsafe-eval'; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; frame-ancestors 'none'; "
    "form-action 'self'; base-uri 'none'",
}


class SignInRequired(Exception):
    """The request has no signed-in session: show the sign-in form in place."""


class CsrfRefused(Exception):
    """A POST without this session's CSRF token."""


class ActionRefused(Exception):
    """The key may read but not act (scope ``read`` only)."""


@dataclass(frozen=True, slots=True)
class State:
    """What the console keeps for the app's life."""

    container: Container
    catalogs: Catalogs
    sessions: Sessions
    keys: KeyResolver
    templates: Jinja2Blocks


@dataclass(frozen=True, slots=True)
class Viewer:
    """A signed-in person: their key, session and language."""

    key: ApiKey
    session: Session
    t: locale.Translator

    @property
    def workspace_id(self) -> str:
        """The key's workspace."""
        return self.key.workspace_id

    @property
    def can_act(self) -> bool:
        """Whether the key may take actions (``admin`` scope); read-only keys see no buttons."""
        return "admin" in self.key.scopes

    @property
    def actor(self) -> str:
        """Who acts, for decisions and the audit chain."""
        return f"key:{self.key.id}"


def state(request: Request) -> State:
    """The console's state on the app."""
    found: State = request.app.state.console
    return found


def translator(request: Request) -> locale.Translator:
    """The request's language (query, cookie, browser)."""
    s = state(request)
    loc = locale.choose(
        s.catalogs,
        request.query_params.get("lang"),
        request.cookies.get(locale.COOKIE),
        request.headers.get("accept-language"),
    )
    return locale.Translator(loc, s.catalogs)


def viewer(request: Request) -> Viewer:
    """Dependency: the signed-in viewer, or the sign-in form in place of the page."""
    s = state(request)
    session = s.sessions.get(request.cookies.get(COOKIE))
    # The store answers only live sessions whose key is not revoked.
    if session is None or session.key is None:
        raise SignInRequired
    key = session.key
    if "read" not in key.scopes and "admin" not in key.scopes:
        raise SignInRequired
    return Viewer(key, session, translator(request))


CROSS_SITE = ("cross-site", "same-site")
"""``Sec-Fetch-Site`` values of a request another site (or a sibling subdomain) made."""


def refuse_cross_site(request: Request) -> None:
    """:class:`CsrfRefused` for a POST the browser says another site started (Fetch Metadata):
    a second guard beside the token, which a browser without the header still needs."""
    if request.headers.get("sec-fetch-site") in CROSS_SITE:
        raise CsrfRefused


async def actor_any(request: Request) -> Viewer:
    """Dependency for a POST any signed-in viewer may make (sign out): the CSRF token echoed."""
    refuse_cross_site(request)
    who = viewer(request)
    token = request.headers.get("x-csrf-token")
    if token is None:
        form = await request.form()
        value = form.get("csrf")
        token = value if isinstance(value, str) else None
    if not who.session.csrf_matches(token):
        raise CsrfRefused
    return who


async def actor(request: Request) -> Viewer:
    """Dependency for every action: a viewer whose key may act, echoing the CSRF token."""
    who = await actor_any(request)
    if not who.can_act:
        raise ActionRefused
    return who


def render(
    request: Request,
    template: str,
    t: locale.Translator,
    context: Mapping[str, Any],
    *,
    who: Viewer | None = None,
    block: str | None = None,
    status: int = 200,
    session: Session | None = None,
) -> Response:
    """A page, or one block of it for htmx (``block``), in ``t``'s language."""
    ctx = {
        "request": request,
        "t": t,
        "_": t.gettext,
        "ngettext": t.ngettext,
        "who": who,
        "csrf": (session or (who.session if who else None) or _NoSession).csrf,
        "offered": [(loc, locale.native_name(loc)) for loc in locale.OFFERED],
        "url_with": lambda **changes: _url_with(request, changes),
        **context,
    }
    response: Response = state(request).templates.TemplateResponse(
        request, template, ctx, status_code=status, headers=HEADERS, block_name=block
    )
    if request.query_params.get("lang"):
        response.set_cookie(
            locale.COOKIE, t.locale, max_age=365 * 86400, samesite="strict", httponly=True
        )
    return response


class _NoSession:
    csrf = ""


def _url_with(request: Request, changes: Mapping[str, Any]) -> str:
    """This page's URL with some query parameters changed (filters stay in the URL)."""
    params = dict(request.query_params)
    params.pop("lang", None)
    for name, value in changes.items():
        if value is None or value == "":
            params.pop(name, None)
        else:
            params[name] = str(value)
    query = urlencode(params)
    return f"{request.url.path}?{query}" if query else request.url.path


def is_htmx(request: Request) -> bool:
    """Whether htmx asked (it then wants a fragment)."""
    return request.headers.get("hx-request") == "true"


def set_session_cookie(request: Request, response: Response, session: Session) -> None:
    """The session cookie: HttpOnly, SameSite=Strict, Secure over HTTPS."""
    response.set_cookie(
        COOKIE,
        session.id,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class ConsoleRoute(APIRoute):
    """Console routes answer in HTML: the sign-in form, a refusal, or an error page."""

    def get_route_handler(self) -> Handler:
        """Wraps the handler so console errors render as pages, not problem+json."""
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired:
                return sign_in_page(request, status=401)
            except CsrfRefused:
                return _error(request, 403, "This form has expired. Reload the page and retry.")
            except ActionRefused:
                return _error(request, 403, "Your key may read but not act.")
            except CrmosError as exc:
                from crmos.api.problems import status_of

                return _error(request, status_of(exc), exc.message)

        return handle


def sign_in_page(
    request: Request, *, status: int = 200, error: str | None = None, next_path: str = ""
) -> Response:
    """The sign-in form (shown in place of any page while signed out)."""
    s = state(request)
    t = translator(request)
    session = s.sessions.get(request.cookies.get(COOKIE)) or s.sessions.new()
    nxt = next_path or (request.url.path if request.url.path != "/sign-in" else "/")
    response = render(
        request,
        "sign_in.html.j2",
        t,
        {"error": error, "next": nxt},
        session=session,
        status=status,
    )
    set_session_cookie(request, response, session)
    return response


def _error(request: Request, status: int, message: str) -> Response:
    t = translator(request)
    if is_htmx(request):
        return HTMLResponse(
            f'<p class="error" role="alert">{_escape(t.gettext(message))}</p>',
            status_code=status,
            headers=HEADERS,
        )
    return render(
        request, "error.html.j2", t, {"message": message, "status": status}, status=status
    )


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def environment() -> Environment:
    """The console's Jinja2 environment (package templates, autoescaped, strict)."""
    return Environment(
        loader=PackageLoader("crmos.web", "templates"),
        autoescape=select_autoescape(["html", "j2"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
