"""``crmos compliance``: packs, settings, validators, consent, complaints, heatmap, locales."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from rich.table import Table

from crmos.cli.common import console, container, find_workspace, print_table
from crmos.compliance import check, describe, known_validators, parse_pack
from crmos.core.clock import parse_iso
from crmos.core.errors import ValidationError

app = typer.Typer(help="Compliance packs, settings, consent, complaints.", no_args_is_help=True)
packs_app = typer.Typer(help="Compliance packs and their versions.", no_args_is_help=True)
settings_app = typer.Typer(help="A workspace's compliance settings.", no_args_is_help=True)
app.add_typer(packs_app, name="packs")
app.add_typer(settings_app, name="settings")

WorkspaceOpt = Annotated[str | None, typer.Option(help="Workspace name.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ACTOR = "cli"


@packs_app.command("list")
def packs_list(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Installed packs, and every version the workspace had with its enforcement time."""
    with container() as c:
        ws = find_workspace(c, workspace)
        installed = c.compliance.registry.names()
        versions = [v.summary() for v in c.compliance.versions(ws.id)]
        enabled = c.compliance.settings.get(ws.id).packs
    if as_json:
        _print({"installed": installed, "enabled": enabled, "versions": versions})
        return
    console.print(f"installed: {', '.join(installed)}; enabled: {', '.join(enabled) or 'none'}")
    table = Table("pack", "version", "effective", "published", "publish → enforcement")
    for v in versions:
        gap = v["publish_to_enforcement_ms"]
        table.add_row(
            str(v["pack"]),
            str(v["version"]),
            _when(v["effective_ms"]),
            _when(v["published_ms"]),
            "not yet enforced" if gap is None else f"{gap} ms",
        )
    console.print(table)


@packs_app.command("show")
def packs_show(
    name: str,
    workspace: WorkspaceOpt = None,
    at: Annotated[str | None, typer.Option(help="ISO time: the version in force then.")] = None,
) -> None:
    """A pack as it was in force at a time (default now)."""
    with container() as c:
        ws = find_workspace(c, workspace)
        at_ms = int(parse_iso(at).timestamp() * 1000) if at else None
        version = c.compliance.in_force(ws.id, at_ms).get(name)
        if version is None:
            spec = c.compliance.registry.get(name)
            _print({"pack": name, "enabled": False, "spec": spec.model_dump()})
            return
        _print({**version.summary(), "spec": version.spec.model_dump()})


@packs_app.command("publish")
def packs_publish(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="Pack YAML.")],
    workspace: WorkspaceOpt = None,
    effective: Annotated[str | None, typer.Option(help="ISO time it takes effect.")] = None,
) -> None:
    """Publish a new version of a pack (a version, once published, never changes)."""
    with container() as c:
        ws = find_workspace(c, workspace)
        spec = parse_pack(file.read_text(encoding="utf-8"), str(file))
        at_ms = int(parse_iso(effective).timestamp() * 1000) if effective else None
        version = c.compliance.publish(ws.id, spec, at_ms, ACTOR)
    console.print(
        f"published {version.pack} {version.version} (effective {_when(version.effective_ms)})"
    )


@settings_app.command("show")
def settings_show(workspace: WorkspaceOpt = None) -> None:
    """The settings as YAML."""
    with container() as c:
        ws = find_workspace(c, workspace)
        config = c.compliance.settings.get(ws.id)
    console.print(yaml.safe_dump(config.model_dump(), allow_unicode=True, sort_keys=False))


@settings_app.command("set")
def settings_set(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="YAML or JSON.")],
    workspace: WorkspaceOpt = None,
) -> None:
    """Replace the settings with a file's (validated whole, every problem named)."""
    with container() as c:
        ws = find_workspace(c, workspace)
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        config = c.compliance.settings.put(ws.id, data, ACTOR)
    console.print(f"settings saved; packs enabled: {', '.join(config.packs) or 'none'}")


@settings_app.command("enable")
def settings_enable(packs: list[str], workspace: WorkspaceOpt = None) -> None:
    """Enable packs (keeping the other settings)."""
    with container() as c:
        ws = find_workspace(c, workspace)
        held = c.compliance.settings.get(ws.id).packs
        config = c.compliance.settings.patch(
            ws.id, {"packs": list(dict.fromkeys([*held, *packs]))}, ACTOR
        )
    console.print(f"packs enabled: {', '.join(config.packs)}")


@app.command("validate")
def validate(
    validator: Annotated[str, typer.Argument(help="br.cpf, eu.vat, iban, phone:BR, ...")],
    value: str,
) -> None:
    """Check one value with one validator (exit 65 when it is refused)."""
    with container(migrate=False):
        problem = check(validator, "value", value)
        if problem is not None:
            raise ValidationError(f"{validator} refused the value", [problem])
    console.print(f"[green]valid[/] {describe(validator)}")


@app.command("validators")
def validators(as_json: JsonOpt = False) -> None:
    """The validators a workspace may configure."""
    if as_json:
        _print({"data": [{"name": n, "checks": describe(n)} for n in known_validators()]})
        return
    table = Table("name", "checks")
    for name in known_validators():
        table.add_row(name, describe(name))
    console.print(table)


@app.command("consent")
def consent(
    profile_id: str,
    purpose: str,
    state: Annotated[str, typer.Argument(help="granted or withdrawn")],
    channel: Annotated[str, typer.Option(help="email, sms, ... or *")] = "*",
    source: Annotated[str, typer.Option(help="Where it was given.")] = "cli",
    workspace: WorkspaceOpt = None,
) -> None:
    """Record consent for a purpose on a channel."""
    with container() as c:
        ws = find_workspace(c, workspace)
        done = c.compliance.consent(
            ws.id, profile_id, purpose=purpose, channel=channel, state=state, source=source
        )
    console.print(f"consent {done['id']}: {purpose} via {channel} {state}")


@app.command("check")
def check_marketing(
    profile_id: str,
    purpose: Annotated[str, typer.Option(help="Purpose.")] = "marketing",
    channel: Annotated[str, typer.Option(help="Channel.")] = "email",
    workspace: WorkspaceOpt = None,
) -> None:
    """May this marketing action reach the profile? (A block is recorded as a Decision.)"""
    with container() as c:
        ws = find_workspace(c, workspace)
        verdict = c.compliance.check_marketing(ws.id, profile_id, purpose, channel)
    word = "[green]allowed[/]" if verdict.allowed else "[red]blocked[/]"
    console.print(f"{word}: {verdict.reason}", highlight=False)


@app.command("complaints")
def complaints(
    workspace: WorkspaceOpt = None,
    breached: Annotated[bool, typer.Option("--breached", help="Only breaches.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Complaints with their due time and SLA status."""
    with container() as c:
        ws = find_workspace(c, workspace)
        data = c.compliance.complaints(ws.id)
    data = [d for d in data if d["breached"]] if breached else data
    if as_json:
        _print({"data": data})
        return
    table = Table("id", "region", "pack", "team", "received", "due", "status")
    for d in data:
        table.add_row(
            d["id"],
            d["region"],
            d["pack"],
            d["team"],
            _when(d["received_ms"]),
            _when(d["due_ms"]),
            d["status"],
        )
    print_table(table, ids=("id",))


@app.command("answer")
def answer(complaint_id: str, workspace: WorkspaceOpt = None) -> None:
    """Mark a complaint answered now."""
    with container() as c:
        ws = find_workspace(c, workspace)
        done = c.compliance.answer(ws.id, complaint_id, ACTOR)
    console.print(f"complaint {complaint_id} answered: {done['status']}")


@app.command("heatmap")
def heatmap(workspace: WorkspaceOpt = None, as_json: JsonOpt = False) -> None:
    """Per region: packs, open requests, complaints, breaches, consent coverage, risk."""
    with container() as c:
        ws = find_workspace(c, workspace)
        data = c.compliance.heatmap(ws.id)
    if as_json:
        _print(data)
        return
    table = Table("region", "risk", "packs", "profiles", "consent", "requests", "breaches")
    for r in data["regions"]:
        coverage = "-" if r["consent_coverage"] is None else f"{r['consent_coverage']:.0%}"
        table.add_row(
            r["region"],
            r["risk"],
            ", ".join(r["packs"]) or "-",
            str(r["profiles"]),
            coverage,
            json.dumps(r["requests"]),
            str(r["breach_count"]),
        )
    console.print(table)


@app.command("locales")
def locales(as_json: JsonOpt = False) -> None:
    """Catalog coverage per locale (missing messages fall back to English)."""
    from crmos.i18n import Catalogs, direction

    catalogs = Catalogs()
    if as_json:
        found = catalogs.missing().items()
        data = [{"locale": c, "direction": direction(c), "missing": len(m)} for c, m in found]
        _print({"data": data})
        return
    table = Table("locale", "direction", "missing translations")
    for loc, missing in catalogs.missing().items():
        table.add_row(loc, direction(loc), str(len(missing)))
    console.print(table)


def _when(ms: Any) -> str:
    return datetime.fromtimestamp(int(ms) / 1000).astimezone().strftime("%Y-%m-%d %H:%M %Z")


def _print(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2, default=str))  # noqa: T201
