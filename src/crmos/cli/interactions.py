"""``crmos interactions``: take in files, classify messages, review recommendations."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from crmos.agent import IntentModels, Submission
from crmos.agent import repo as agent_repo
from crmos.agent.documents import kind_of, read_document
from crmos.agent.intents import Example
from crmos.cli.common import (
    console,
    container,
    exit_on_error,
    find_workspace,
    pick_workspace,
    print_table,
    store_engine,
)
from crmos.core.errors import NotFound, ValidationError
from crmos.core.settings import Settings

app = typer.Typer(
    help="Interactions: e-mails, transcripts, screenshots, PDFs.", no_args_is_help=True
)

WorkspaceOpt = Annotated[str | None, typer.Option(help="Workspace name.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]


def _print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))  # noqa: T201 - machine-readable output


@app.command("add")
def add(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="The file to take in.")],
    workspace: WorkspaceOpt = None,
    touchpoint: Annotated[
        str | None, typer.Option(help="Touchpoint tag (default by kind).")
    ] = None,
    profile: Annotated[str | None, typer.Option(help="Attach to this profile id.")] = None,
    sender_email: Annotated[
        str | None, typer.Option(help="Sender e-mail, if the file has none.")
    ] = None,
    sender_phone: Annotated[
        str | None, typer.Option(help="Sender phone, if the file has none.")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Store, understand and attach one file; print the interaction and its recommendations."""
    content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    with container() as c:
        ws = find_workspace(c, workspace)
        sub = Submission(
            ws.id, file.name, file.read_bytes(), content_type, touchpoint, profile,
            sender_email, sender_phone,
        )  # fmt: skip
        item = c.agent.add(sub)
    if as_json:
        _print_json(item)
        return
    _show(item)


def _show(item: dict[str, Any]) -> None:
    u = item["understanding"]
    style = {"ok": "green", "unattached": "yellow", "unreadable": "red"}[item["status"]]
    console.print(f"[bold]{item['id']}[/] {item['kind']} [{style}]{item['status']}[/] "
                  f"{item['reason']}", highlight=False)  # fmt: skip
    console.print(f"profile {item['profile_id'] or '-'}  language {item['language']}  "
                  f"tags {json.dumps(item['tags'])}", highlight=False)  # fmt: skip
    if "intent" in u:
        console.print(f"intent {u['intent']['name']} ({u['intent']['score']:.2f})  "
                      f"sentiment {u['sentiment']['label']}", highlight=False)  # fmt: skip
    for entity in u.get("entities", []):
        console.print(
            f"  {entity['kind']:<16} {entity['text']} -> {entity['value']}", highlight=False
        )
    for clause in u.get("clauses", []):
        console.print(
            f"  clause {clause['type']:<16} p.{clause['page']} {clause['span']}", highlight=False
        )
    for rec in item.get("recommendations", []):
        impact = escape(f"[{rec['impact']}]")
        console.print(f"[cyan]{rec['id']}[/] {impact} {rec['status']}: {rec['reason']}",
                      highlight=False)  # fmt: skip


@app.command("classify")
def classify(
    message: Annotated[str, typer.Argument(help="A message, or the path of a file to read.")],
    workspace: WorkspaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Print the intent, sentiment and entities of one message (nothing is stored)."""
    from crmos.agent.understand import Analyzer
    from crmos.core.settings import load_settings

    # No container: classifying needs the settings, the workspace's own intents and the intent
    # model, which IntentModels keeps on disk under HOME/models (keyed by a hash of its training
    # data and library version), so a warm call loads it instead of training (docs/agent.md).
    path = Path(message)
    with exit_on_error():
        settings = load_settings()
        extra = _workspace_examples(settings, workspace)
        analyzer = Analyzer(settings.agent, IntentModels(settings.home / "models"))
        if path.is_file() and kind_of(path.name, path.read_bytes()):
            document = read_document(path.name, path.read_bytes(), settings.agent)
            if not document.readable:
                raise ValidationError(f"cannot read {path.name}: {document.reason}")
            found = analyzer.analyze(document, extra)
        else:
            found = analyzer.analyze_text(message, extra)
    data = found.as_dict()
    if as_json:
        _print_json(data)
        return
    intent, mood = data["intent"], data["sentiment"]["label"]
    console.print(
        f"intent [bold]{intent['name']}[/] ({intent['score']:.2f}), sentiment {mood}, "
        f"language {data['language']}"
    )
    for entity in data["entities"]:
        console.print(
            f"  {entity['kind']:<16} {entity['text']} -> {entity['value']}", highlight=False
        )


def _workspace_examples(settings: Settings, name: str | None) -> list[Example]:
    """The examples of the workspace's own intents: of the one named, or of the only one."""
    from crmos.store import WorkspaceStore

    with store_engine(settings) as engine:
        if engine is None:
            if name:
                raise NotFound("workspace", name)
            return []
        store = WorkspaceStore(engine)
        if not name and len(store.list()) != 1:
            return []
        ws = pick_workspace(store, name)
        with engine.connect() as conn:
            return agent_repo.workspace_examples(conn, ws.id)


@app.command("list")
def list_(
    workspace: WorkspaceOpt = None,
    profile: Annotated[str | None, typer.Option(help="Only this profile's.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many.")] = 20,
    as_json: JsonOpt = False,
) -> None:
    """Interactions, newest first."""
    with container() as c:
        ws = find_workspace(c, workspace)
        with c.engine.connect() as conn:
            items = agent_repo.list_interactions(conn, ws.id, profile, limit)
    if as_json:
        _print_json(items)
        return
    table = Table("id", "kind", "status", "profile", "intent", "outcome")
    for i in items:
        table.add_row(i["id"], i["kind"], i["status"], i["profile_id"] or "-",
                      i["tags"]["intent"] or "-", i["tags"]["outcome"])  # fmt: skip
    print_table(table, ids=("id", "profile"))


@app.command("show")
def show(ident: str, workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """One interaction with its recommendations."""
    with container() as c:
        item = c.agent.get(find_workspace(c, workspace).id, ident)
    _print_json(item) if as_json else _show(item)


@app.command("intent")
def intent(
    name: Annotated[str, typer.Argument(help="snake_case name of the workspace's own intent.")],
    example: Annotated[list[str], typer.Option("--example", "-e", help="An example (repeat).")],
    language: Annotated[str, typer.Option(help="en or zh.")] = "en",
    workspace: WorkspaceOpt = None,
) -> None:
    """Add a workspace-defined intent by examples (the model retrains on next use)."""
    if not name.replace("_", "").isalnum() or not name.islower():
        raise typer.BadParameter(f"'{name}': use snake_case letters, digits and underscores")
    with container() as c:
        ws = find_workspace(c, workspace)
        with c.engine.begin() as conn:
            agent_repo.add_intent(conn, ws.id, name, language, example)
    console.print(f"intent {name}: {len(example)} example(s) added")


@app.command("language")
def language(
    lang: Annotated[str, typer.Argument(help="en or zh: the language of reasons.")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Set the language recommendations and decisions explain themselves in."""
    if lang not in ("en", "zh"):
        raise typer.BadParameter(f"'{lang}': use en or zh")
    with container() as c:
        ws = find_workspace(c, workspace)
        with c.engine.begin() as conn:
            agent_repo.set_language(conn, ws.id, lang)
    console.print(f"reasons for {ws.name} are written in {lang}")


@app.command("recommendations")
def recommendations(
    workspace: WorkspaceOpt = None,
    profile: Annotated[str | None, typer.Option(help="Only this profile's.")] = None,
    status: Annotated[str | None, typer.Option(help="proposed|pending|approved|rejected")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Recommendations, newest first (``--status pending``: waiting for approval)."""
    with container() as c:
        ws = find_workspace(c, workspace)
        with c.engine.connect() as conn:
            recs = agent_repo.list_recommendations(conn, ws.id, profile, status)
    if as_json:
        _print_json(recs)
        return
    for rec in recs:
        impact = escape(f"[{rec['impact']}]")
        console.print(f"[cyan]{rec['id']}[/] {impact} {rec['status']}: {rec['title']}",
                      highlight=False)  # fmt: skip


def _decide(
    ident: str, approve: bool, approver: str, note: str | None, workspace: str | None
) -> None:
    with container() as c:
        ws = find_workspace(c, workspace)
        with c.engine.begin() as conn:
            lang = c.agent.language_of(conn, ws.id)
            rec = c.agent.recommender.decide(conn, ws.id, ident, approve, approver, note, lang)
    console.print(f"{rec['id']} {rec['status']} by {rec['approver']} "
                  f"(decision {rec['verdict_decision_id']})", highlight=False)  # fmt: skip


ApproverOpt = Annotated[str, typer.Option(help="Who decides (recorded).")]
NoteOpt = Annotated[str | None, typer.Option(help="Why.")]


@app.command("approve")
def approve(
    ident: str, approver: ApproverOpt, note: NoteOpt = None, workspace: WorkspaceOpt = None
) -> None:
    """Approve a pending (high-impact) recommendation."""
    _decide(ident, True, approver, note, workspace)


@app.command("reject")
def reject(
    ident: str, approver: ApproverOpt, note: NoteOpt = None, workspace: WorkspaceOpt = None
) -> None:
    """Reject a pending (high-impact) recommendation."""
    _decide(ident, False, approver, note, workspace)


@app.command("retrain")
def retrain(
    workspace: WorkspaceOpt = None,
    actor: Annotated[str, typer.Option(help="Who runs it (recorded).")] = "cli",
    as_json: JsonOpt = False,
) -> None:
    """Learn from the approval inbox: keep the new workspace model only if no worse on the
    blind held-out sets (a rejection's note ``intent: NAME`` is a correction)."""
    from crmos.agent.retrain import retrain as run_retrain

    with container() as c:
        ws = find_workspace(c, workspace)
        with c.engine.begin() as conn:
            result = run_retrain(conn, c.agent.models, ws.id, actor).as_dict()
    if as_json:
        _print_json(result)
        return
    verdict = "accepted" if result["accepted"] else "kept the current model"
    console.print(f"{verdict}: {result['new_examples']} new example(s); macro-F1 "
                  f"{result['current_macro_f1']} -> {result['candidate_macro_f1']} "
                  f"(decision {result['decision_id']})", highlight=False)  # fmt: skip
