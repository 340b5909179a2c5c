"""``/api/v1/interactions``: take in e-mails, transcripts, screenshots and PDFs; classify text;
search the knowledge base."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from starlette.responses import Response

from crmos.agent import AgentService, Submission
from crmos.agent import repo as agent_repo
from crmos.api.auth import ReadKey, WriteKey
from crmos.api.problems import answers
from crmos.core.errors import PayloadTooLarge, Problem

router = APIRouter(prefix="/api/v1", tags=["interactions"])


def _agent(request: Request) -> AgentService:
    agent: AgentService = request.app.state.container.agent
    return agent


class ClassifyBody(BaseModel):
    """A message to classify."""

    text: str = Field(min_length=1, max_length=100_000, description="The message text.")


@router.post(
    "/interactions",
    status_code=201,
    summary="Take in an interaction file",
    responses=answers(404, 413),
)
async def add_interaction(
    request: Request,
    key: WriteKey,
    file: Annotated[UploadFile, File(description=".eml, .vtt, .srt, .txt, image or .pdf")],
    touchpoint: Annotated[str | None, Form(max_length=64)] = None,
    profile_id: Annotated[str | None, Form(max_length=40)] = None,
    sender_email: Annotated[str | None, Form(max_length=320)] = None,
    sender_phone: Annotated[str | None, Form(max_length=40)] = None,
) -> dict[str, Any]:
    """Store the file, understand it, attach it to a profile and recommend next actions.

    A file that cannot be read is still stored, with ``status: unreadable`` and the reason.
    """
    agent = _agent(request)
    limit = agent.settings.max_file_bytes
    data = await file.read(limit + 1)
    if len(data) > limit:
        problem = Problem("file", f"larger than agent.max_file_bytes = {limit}", reason="too_large")
        raise PayloadTooLarge(f"interaction file '{file.filename}' is too large", [problem])
    sub = Submission(
        key.workspace_id, file.filename or "upload", data,
        file.content_type or "application/octet-stream", touchpoint, profile_id or None,
        sender_email or None, sender_phone or None,
    )  # fmt: skip
    return await run_in_threadpool(agent.add, sub)


@router.get("/interactions", summary="Interactions, newest first")
def list_interactions(
    request: Request,
    key: ReadKey,
    profile_id: str | None = None,
    limit: int = Query(default=50, ge=1, le=500),
) -> dict[str, Any]:
    """Interactions of the key's workspace, optionally of one profile."""
    with _agent(request).engine.connect() as conn:
        data = agent_repo.list_interactions(conn, key.workspace_id, profile_id, limit)
    return {"data": data}


@router.get("/interactions/{interaction_id}", summary="One interaction and its recommendations")
def get_interaction(request: Request, key: ReadKey, interaction_id: str) -> dict[str, Any]:
    """The interaction: text, understanding, four tags, recommendations."""
    return _agent(request).get(key.workspace_id, interaction_id)


@router.get(
    "/interactions/{interaction_id}/file",
    summary="The file exactly as received",
    response_class=Response,
    responses={200: {"content": {"*/*": {}}, "description": "In its own media type."}},
)
def get_file(request: Request, key: ReadKey, interaction_id: str) -> Response:
    """The bytes the interaction was received as."""
    with _agent(request).engine.connect() as conn:
        content_type, data = agent_repo.raw_file(conn, key.workspace_id, interaction_id)
    return Response(data, media_type=content_type)


@router.post("/interactions/classify", summary="Intent, sentiment and entities of a message")
def classify(request: Request, key: ReadKey, body: ClassifyBody) -> dict[str, Any]:
    """Understand a message without storing it (uses the workspace's own intents too)."""
    agent = _agent(request)
    with agent.engine.connect() as conn:
        extra = agent_repo.workspace_examples(conn, key.workspace_id)
    return agent.analyzer.analyze_text(body.text, extra).as_dict()


@router.get("/knowledge/search", summary="Knowledge passages for a query")
def search_knowledge(
    request: Request,
    key: ReadKey,
    q: str = Query(min_length=1, max_length=2000),
    limit: int = Query(default=5, ge=1, le=50),
) -> dict[str, Any]:
    """Passages with their source document, page and character span."""
    hits = _agent(request).knowledge.search(key.workspace_id, q, limit)
    return {"data": [h.as_dict() for h in hits]}
