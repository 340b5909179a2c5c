"""Puts the console on the app: its state, its pages and its static files."""

from __future__ import annotations

from fastapi import FastAPI
from jinja2_fragments.fastapi import Jinja2Blocks
from starlette.staticfiles import StaticFiles

from crmos.api import create_app as create_api
from crmos.api.auth import KeyResolver
from crmos.bootstrap import Container
from crmos.i18n import Catalogs
from crmos.web import (
    pages_accounts,
    pages_auth,
    pages_builder,
    pages_compliance,
    pages_components,
    pages_demo,
    pages_intake,
    pages_ops,
    pages_people,
    pages_playbooks,
    pages_profile,
    pages_work,
)
from crmos.web.console import State, environment
from crmos.web.session import CSRF_KEY_INFO, Sessions


def create_app(container: Container) -> FastAPI:
    """The app ``crmos serve`` runs: the API with the console beside it.

    The console sits above the API (it signs in with the API's keys and answers with its
    search), so the API builds without it and the console is added here.
    """
    app = create_api(container)
    mount(app, container, app.state.keys)
    return app


def mount(app: FastAPI, container: Container, keys: KeyResolver) -> None:
    """Serve the console at ``/`` beside the API (same keys, same container)."""
    app.state.console = State(
        container=container,
        catalogs=Catalogs(),
        sessions=Sessions(container.engine, container.vault.derive(CSRF_KEY_INFO)),
        keys=keys,
        templates=Jinja2Blocks(env=environment()),
    )
    pages = (pages_auth, pages_intake, pages_people, pages_profile, pages_work, pages_ops)
    # pages_demo before pages_intake: for the demo workspace it answers "/" first.
    for module in (
        pages_demo,
        *pages,
        pages_compliance,
        pages_accounts,
        pages_playbooks,
        pages_builder,
        pages_components,
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(packages=[("crmos.web", "static")]), name="static")
