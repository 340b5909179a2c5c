"""Serves the dashboard page. It holds no data itself: the browser calls ``/api/v1`` with the key
the user pastes (kept in the tab's sessionStorage), so the page needs no session or cookie.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter
from starlette.responses import HTMLResponse

router = APIRouter(include_in_schema=False)

_PAGE = (files("crmos.web") / "static" / "index.html").read_text(encoding="utf-8")


@router.get("/")
def index() -> HTMLResponse:
    """The dashboard."""
    return HTMLResponse(
        _PAGE, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
    )
