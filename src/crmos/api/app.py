"""The FastAPI app factory: a router per resource, problem+json errors, the intake writer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from prometheus_client import CollectorRegistry

from crmos.api import contract, params, problems
from crmos.api.auth import KeyResolver
from crmos.api.routes import (
    accounts,
    audiences,
    builder,
    compliance,
    components,
    decisions,
    dsr,
    events,
    graph,
    intake,
    interactions,
    playbooks,
    profiles,
    recommendations,
    runs,
    system,
    timeline,
    values,
    workspaces,
)
from crmos.bootstrap import Container
from crmos.graph import GraphHealthCollector
from crmos.ingest import IntakeCollector


def create_app(container: Container) -> FastAPI:
    """An app serving ``container``; the intake writer runs while the app does."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        container.start_workers()
        app.state.ingest = container.ingest()
        yield
        container.close()

    app = FastAPI(
        title="crmos",
        version="0.1.0",
        summary="Real-time, explainable customer operating system",
        lifespan=lifespan,
        dependencies=[Depends(params.refuse_nul)],
    )
    registry = CollectorRegistry()
    registry.register(
        IntakeCollector(container.log, lambda: [w.id for w in container.workspaces.list()])
    )
    window = container.settings.graph.health_window_s
    registry.register(
        GraphHealthCollector(
            container.engine,
            container.log,
            lambda: [w.id for w in container.workspaces.list()],
            window,
        )
    )
    app.state.container = container
    app.state.settings = container.settings
    app.state.keys = KeyResolver(container.workspaces)
    app.state.registry = registry
    problems.install(app)
    for module in (
        intake,
        events,
        workspaces,
        runs,
        profiles,
        values,
        timeline,
        accounts,
        interactions,
        recommendations,
        decisions,
        compliance,
        dsr,
        graph,
        audiences,
        builder,
        playbooks,
        components,
        system,
    ):
        app.include_router(module.router)
    contract.install(app)
    return app
