"""Jinja2 templates for messages, in a sandbox (templates come from playbook YAML).

Undefined variables are errors, not empty strings: a letter saying "Hello ," is worse than a
step that fails and names the missing variable.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from crmos.core.errors import PermanentError

TEMPLATES = "crmos.connectors.templates"


@cache
def _environment(autoescape: bool) -> SandboxedEnvironment:
    return SandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=autoescape,
        keep_trailing_newline=True,
        loader=jinja2.FunctionLoader(_load),
    )


def _load(name: str) -> str | None:
    item = resources.files(TEMPLATES).joinpath(*name.split("/"))
    return item.read_text(encoding="utf-8") if item.is_file() else None


def packaged_templates(folder: str) -> list[str]:
    """Names of the templates shipped in ``folder`` (e.g. ``email``), without extensions."""
    names = {
        item.name.split(".", 1)[0]
        for item in resources.files(TEMPLATES).joinpath(folder).iterdir()
        if item.name.endswith(".j2")
    }
    return sorted(names)


def has_template(path: str) -> bool:
    """Whether ``folder/name.ext.j2`` is shipped."""
    return _load(path) is not None


def check_syntax(source: str, what: str) -> None:
    """:class:`ValueError` naming ``what`` and the line when ``source`` is not a valid template."""
    try:
        _environment(False).parse(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ValueError(f"{what}: line {exc.lineno}: {exc.message}") from None


def render(source: str, context: dict[str, Any], *, target: str, html: bool = False) -> str:
    """Render an inline template; a missing variable is a :class:`PermanentError`."""
    return _render(_environment(html).from_string(source), context, target)


def render_packaged(path: str, context: dict[str, Any], *, target: str) -> str:
    """Render a shipped template (``email/notice.html.j2``); HTML ones are autoescaped."""
    template = _environment(path.endswith(".html.j2")).get_template(path)
    return _render(template, context, target)


def _render(template: jinja2.Template, context: dict[str, Any], target: str) -> str:
    try:
        return template.render(context)
    except jinja2.UndefinedError as exc:
        raise PermanentError(
            target, f"template variable missing ({exc.message}); add it to the context"
        ) from exc
    except jinja2.TemplateError as exc:
        raise PermanentError(target, f"template failed: {exc}") from exc
