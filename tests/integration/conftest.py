"""API fixtures: the real app on the real store, driven in-process through HTTP semantics."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from crmos.api import create_app
from crmos.bootstrap import Container
from crmos.web.session import COOKIE


@dataclass(frozen=True)
class Tenant:
    """A workspace with its keys."""

    workspace_id: str
    write_key: str
    admin_key: str

    @property
    def basic(self) -> dict[str, str]:
        """Segment-style HTTP Basic auth: the write key as user name."""
        token = base64.b64encode(f"{self.write_key}:".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    @property
    def bearer(self) -> dict[str, str]:
        """Management API auth with the admin key."""
        return {"Authorization": f"Bearer {self.admin_key}"}


def make_tenant(container: Container, name: str) -> Tenant:
    """Create a workspace and return its keys."""
    ws, write, admin = container.workspaces.create(name)
    return Tenant(ws.id, write.secret, admin.secret)


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    """A client of the app; the intake writer runs for the client's lifetime."""
    with TestClient(create_app(container)) as test_client:
        yield test_client


@pytest.fixture
def tenant(container: Container) -> Tenant:
    """The workspace most tests work in."""
    return make_tenant(container, "acme")


def sign_in(node: TestClient, key: str) -> str:
    """Sign in to the console through its form; the session token the cookie then holds."""
    node.cookies.clear()
    form = node.get("/sign-in").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    answer = node.post("/sign-in", data={"key": key, "csrf": csrf.group(1)}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    token = answer.cookies.get(COOKIE)
    assert token
    return str(token)
