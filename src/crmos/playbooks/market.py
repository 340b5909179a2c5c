"""The component marketplace: what is installed, with its permissions and review; the catalog;
installing and removing; reviews; and the rule that a published playbook uses only approved
components. The API, the CLI and the console call this; nothing else reads the review table.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Engine

from crmos.core.errors import Problem, ValidationError
from crmos.core.settings import Settings
from crmos.playbooks import catalog, reviews, versions
from crmos.playbooks.catalog import Catalog, permissions
from crmos.playbooks.components import ComponentRegistry, limits_of
from crmos.playbooks.spec import Playbook
from crmos.playbooks.vetting import vet
from crmos.store import append_audit

Actor = tuple[str, str]  # (workspace id, who): where an install or removal is audited


class Marketplace:
    """Components of this installation and their reviews in each workspace."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        registry: ComponentRegistry,
        clock: Callable[[], int],
    ) -> None:
        self.settings, self.engine, self.registry, self.clock = settings, engine, registry, clock

    # -- installed components ----------------------------------------------------------------

    def installed(self, workspace_id: str) -> list[dict[str, Any]]:
        """Every installed component with its package, permissions and review status."""
        with self.engine.connect() as conn:
            found = reviews.current(conn, workspace_id, self._versions())
        return [self._describe(name, found[name]) for name in self.registry.names()]

    def show(self, workspace_id: str, name: str) -> dict[str, Any]:
        """One installed component, with every review decision about it."""
        self.registry.get(name)
        with self.engine.connect() as conn:
            review = reviews.current(conn, workspace_id, [self._version(name)])[name]
            past = reviews.history(conn, workspace_id, name)
        schema = self.registry.get(name).params.model_json_schema()
        return self._describe(name, review) | {
            "params_schema": schema,
            "reviews": [r.as_dict() for r in past],
        }

    def review(
        self, workspace_id: str, name: str, decision: str, reason: str, reviewer: str
    ) -> reviews.Review:
        """Approve or reject the installed version of ``name`` (a reason is mandatory)."""
        component, version, builtin = self._version(name)
        if builtin:
            raise ValidationError(
                f"review of component '{name}' refused",
                [
                    Problem(
                        "component",
                        "crmos's own components are approved with crmos itself; "
                        "review the components installed from the catalog",
                        reason="builtin",
                    )
                ],
            )
        with self.engine.begin() as conn:
            return reviews.decide(
                conn, workspace_id, component, version, decision, reason, reviewer, self.clock()
            )

    def review_view(self, workspace_id: str, limit: int = 20) -> list[dict[str, Any]]:
        """The monthly review: the most used components (steps of playbooks in force), with
        their permissions and last review date."""
        counts: Counter[str] = Counter()
        with self.engine.connect() as conn:
            for version in versions.all_in_force(conn, self.clock(), workspace_id):
                counts.update(_components_of(version.source))
            found = reviews.current(conn, workspace_id, self._versions())
        rows = [self._describe(n, found[n]) | {"uses": counts.get(n, 0)} for n in found]
        rows.sort(key=lambda r: (-r["uses"], r["name"]))
        return rows[:limit]

    def approved(self, workspace_id: str) -> set[str]:
        """The names of the components playbooks may use in the workspace (the builder's
        palette offers only these)."""
        with self.engine.connect() as conn:
            found = reviews.current(conn, workspace_id, self._versions())
        return {name for name, review in found.items() if review.approved}

    def check_publishable(self, workspace_id: str, playbook: Playbook) -> None:
        """Refuse a playbook whose steps use a component that is not approved here."""
        used = [(i, s.component) for i, s in enumerate(playbook.spec.steps)]
        what = f"playbook '{playbook.id}' refused"
        self._refuse_unapproved(workspace_id, used, what, "published")

    def check_rollback(self, workspace_id: str, version: versions.Version) -> None:
        """Refuse putting back ``version`` if a step uses a component that is not approved
        here now (rejected, pending a new version's review, or removed)."""
        what = f"rollback of playbook '{version.playbook_id}' to {version.hash[:12]} refused"
        used = list(enumerate(_components_of(version.source)))
        self._refuse_unapproved(workspace_id, used, what, "put back in force")

    def _refuse_unapproved(
        self, workspace_id: str, used: list[tuple[int, str]], what: str, verb: str
    ) -> None:
        installed = set(self.registry.names())
        wanted = sorted({name for _, name in used if name in installed})
        with self.engine.connect() as conn:
            found = reviews.current(conn, workspace_id, [self._version(n) for n in wanted])
        problems = []
        for i, name in used:
            if name not in installed:
                why, reason = "is not installed any more", "not_installed"
            elif not found[name].approved:
                why, reason = f"{found[name].version} is {found[name].status}", "not_approved"
            else:
                continue
            problems.append(
                Problem(
                    f"steps[{i}].component",
                    f"component '{name}' {why}; only approved components can be {verb} "
                    f"(a key with the compliance scope approves it: crmos components approve "
                    f"{name} --reason ...)",
                    reason=reason,
                )
            )
        if problems:
            raise ValidationError(what, problems)

    # -- catalog -----------------------------------------------------------------------------

    def catalog(self) -> Catalog:
        """The configured catalog, verified."""
        return catalog.load(self.settings.playbooks.catalog, self.settings.playbooks.catalog_key)

    def install(
        self, what: str, target: Path | None = None, by: Actor | None = None
    ) -> dict[str, Any]:
        """Install a component named in the catalog, or a local wheel the catalog lists; the
        wheel's sha256 must match the signed index, and the package may declare no field,
        host or limit beyond its catalog entry. It enters as pending review. ``target``
        defaults to ``playbooks.components_dir`` (else this environment); ``by`` (workspace,
        person) records who installed it in that workspace's audit chain."""
        target = target or self.settings.playbooks.components_dir
        index = self.catalog()
        local = Path(what) if what.endswith(".whl") else None
        if local is not None and not local.is_file():
            raise ValidationError(
                f"wheel {what} refused",
                [
                    Problem(
                        "wheel",
                        f"no file {what}; give a wheel path or a "
                        "component name from `crmos components search`",
                    )
                ],
            )
        entry = index.by_wheel(local) if local is not None else index.get(what)
        data = index.wheel_bytes(entry, local)
        catalog.check_declares(entry, data, index.entries.index(entry))
        with tempfile.TemporaryDirectory(prefix="crmos-wheel-") as folder:
            wheel = Path(folder) / Path(entry.wheel).name
            wheel.write_bytes(data)
            vet(entry, wheel, index.entries.index(entry))  # refused before anything is installed
            catalog.pip_install(wheel, target)
        details = {"package": entry.package, "version": entry.version}
        self._audit(by, "component.install", entry.name, details | {"sha256": entry.sha256})
        return entry.model_dump() | {
            "permissions": entry.permissions(),
            "status": "pending review",
        }

    def remove(self, name: str, by: Actor | None = None) -> str:
        """Uninstall the package that provides component ``name`` (from
        ``playbooks.components_dir`` when it is there); the package's name."""
        package = self.registry.package(name)
        if package.builtin or package.name == "program":
            raise ValidationError(
                f"removal of component '{name}' refused",
                [
                    Problem(
                        "component",
                        f"'{name}' is not installed from a package of its own "
                        "(crmos's own components stay)",
                        reason="builtin",
                    )
                ],
            )
        folder = self.settings.playbooks.components_dir
        if folder is None or not catalog.remove_from(folder, package.name):
            catalog.pip_remove(package.name)
        self._audit(by, "component.remove", name, {"package": package.name,
                                                   "version": package.version})  # fmt: skip
        return package.name

    def _audit(self, by: Actor | None, action: str, name: str, details: dict[str, Any]) -> None:
        if by is not None:
            with self.engine.begin() as conn:
                append_audit(conn, by[0], by[1], action, name, details)

    # -- helpers -----------------------------------------------------------------------------

    def _version(self, name: str) -> tuple[str, str, bool]:
        package = self.registry.package(name)
        return name, package.version, package.builtin

    def _versions(self) -> list[tuple[str, str, bool]]:
        return [self._version(n) for n in self.registry.names()]

    def _describe(self, name: str, review: reviews.Review) -> dict[str, Any]:
        component, package = self.registry.get(name), self.registry.package(name)
        return {
            "name": name,
            "description": component.description,
            "package": package.name,
            "version": package.version,
            "builtin": package.builtin,
            "reads": list(component.reads),
            "hosts": list(component.hosts),
            "impact": component.impact,
            "limits": limits_of(component).as_dict(),
            "permissions": permissions(component.reads, component.hosts),
            "status": review.status,
            "reviewed_ms": review.at_ms,
            "review_reason": review.reason,
            "reviewer": review.reviewer,
        }


def _components_of(source: str) -> tuple[str, ...]:
    """The component names a playbook's steps use (a published source is valid YAML)."""
    data = yaml.safe_load(source) or {}
    return tuple(str(s.get("component")) for s in data.get("steps") or [] if isinstance(s, dict))
