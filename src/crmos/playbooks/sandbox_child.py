"""The child process a sandboxed component runs in (started by ``sandbox_pool``).

Before the component is imported the child drops the parent's environment and installs an
audit hook (``sys.addaudithook``: it cannot be removed) that refuses, and records, every write
outside the scratch directory, every read outside code and library roots, every connection or
DNS look-up of an undeclared host, every new process, ``ctypes`` call and ``setrlimit``.
``socket.getaddrinfo`` is wrapped so the addresses a declared name resolves to may be reached.
The component sees only its declared profile fields; touching any other is refused too. Its
``act`` and ``tag`` calls go back to the parent, which runs the connector action there.
Each refused attempt is reported with the call's answer, so a component that catches the
error still fails its step.
"""

from __future__ import annotations

import importlib
import os
import socket
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import FrameType
from typing import Any

import orjson

from crmos.core.errors import ActionError, PermanentError, TransientError
from crmos.playbooks.components import Component, Ports, Sandbox, limits_of, ref_of
from crmos.playbooks.sandbox_policy import Policy, frame, is_write, unframe_length

Violations = list[dict[str, str]]
BLOCKED = {
    "subprocess.Popen": "start a process",
    "os.system": "run a shell command",
    "os.exec": "replace its process",
    "os.posix_spawn": "start a process",
    "os.spawn": "start a process",
    "os.fork": "fork",
    "os.forkpty": "fork",
    "os.kill": "signal a process",
    "os.killpg": "signal a process group",
    "pty.spawn": "start a process",
    "ctypes.dlopen": "load native code",
    "ctypes.dlsym": "load native code",
    "ctypes.call_function": "call native code",
    "resource.setrlimit": "change its limits",
    "resource.prlimit": "change its limits",
    "socket.bind": "listen on a socket",
    "sys.settrace": "remove the sandbox's tracer",
    "sys.setprofile": "install a profiler",
    "gc.get_objects": "search the process's objects",
    "gc.get_referrers": "search the process's objects",
    "gc.get_referents": "search the process's objects",
}
PATH_EVENTS = (
    "os.remove",
    "os.rename",
    "os.mkdir",
    "os.rmdir",
    "os.chmod",
    "os.chown",
    "os.link",
    "os.symlink",
    "os.truncate",
    "os.utime",
    "shutil.rmtree",
)


class SandboxRefusal(PermissionError):
    """What the component sees when the guard refuses an attempt (the parent then fails the
    step with ``SandboxViolation``; this one never leaves the child)."""


class FieldRefused(KeyError):
    """A profile field the component did not declare (a KeyError, so ``.get`` still works;
    it never leaves the child)."""

    def __init__(self, path: str) -> None:
        self.path = path
        super().__init__(f"field {path} is not declared in the component's `reads`")


class Wire:
    """Frames on two file descriptors."""

    def __init__(self, rfd: int, wfd: int) -> None:
        self.rfd, self.wfd = rfd, wfd

    def send(self, message: Mapping[str, Any]) -> None:
        """Write one frame."""
        data = memoryview(frame(message))
        while data:
            data = data[os.write(self.wfd, data) :]

    def receive(self) -> dict[str, Any]:
        """Read one frame (``EOFError`` when the parent closed the pipe)."""
        body = self._exactly(unframe_length(self._exactly(4)))
        message: dict[str, Any] = orjson.loads(body)
        return message

    def ask(self, message: Mapping[str, Any]) -> Any:
        """Send a request to the parent and return its answer (or raise its error)."""
        self.send(message)
        answer = self.receive()
        if "error" in answer:
            e = answer["error"]
            kind = TransientError if e.get("transient") else PermanentError
            error: ActionError = kind(str(e["target"]), str(e["reason"]))
            # Marks the error as the parent's own (by its position there), so that if the
            # component lets it through, the parent raises its original again.
            setattr(error, "relayed_from", int(e["origin"]))  # noqa: B010
            raise error
        return answer.get("ok")

    def _exactly(self, n: int) -> bytes:
        chunks, left = [], n
        while left:
            chunk = os.read(self.rfd, left)
            if not chunk:
                raise EOFError("the parent closed the sandbox pipe")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)


def declared(path: str, reads: tuple[str, ...]) -> bool:
    """Whether dotted ``path`` is a declared field, on the way to one, or inside one."""
    return path == "id" or any(
        r == path or r.startswith(path + ".") or path.startswith(r + ".") for r in reads
    )


class Fields(Mapping[str, Any]):
    """The profile as the component sees it: declared fields only; asking for another records
    a refusal (the value was never sent to this process)."""

    def __init__(
        self, data: Mapping[str, Any], reads: tuple[str, ...], violations: Violations, at: str = ""
    ) -> None:
        self._data, self._reads, self._violations, self._at = data, reads, violations, at

    def __getitem__(self, key: str) -> Any:
        path = f"{self._at}{key}"
        if key in self._data:
            value = self._data[key]
            if isinstance(value, Mapping):
                return Fields(value, self._reads, self._violations, path + ".")
            return value
        if not declared(path, self._reads):
            self._violations.append(
                {"kind": "field", "detail": f"tried to read the undeclared field {path}"}
            )
            raise FieldRefused(path)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


@dataclass(frozen=True, slots=True)
class StepView:
    """What the child knows of the saga step (the parent keeps the real context)."""

    run_id: str
    step_id: str
    attempt: int
    idempotency_key: str
    workspace_id: str | None = None


class ChildSandbox(Sandbox):
    """The component's sandbox in the child: ``act`` and ``tag`` ask the parent."""

    wire: Wire | None = None

    def act(self, action: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Ask the parent to run a connector action (the parent checks the host again)."""
        self._allow(action.split(".", 1)[0])
        assert self.wire is not None
        result: dict[str, Any] = self.wire.ask({"op": "act", "action": action, "params": params})
        return result

    def tag(self, traits: Mapping[str, Any]) -> None:
        """Ask the parent to set traits through the event stream."""
        self._allow("crmos")
        assert self.wire is not None
        self.wire.ask({"op": "tag", "traits": dict(traits)})


class Guard:
    """The audit hook: each audited event the policy does not allow is recorded and refused."""

    def __init__(self, policy: Policy, violations: Violations) -> None:
        self.policy, self.violations = policy, violations

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        if event == "open":
            self._open(*args)
        elif event in ("socket.connect", "socket.sendto", "socket.sendmsg"):
            self._connect(args[1])
        elif event == "socket.getaddrinfo":
            self._resolve(args[0], args[1])
        elif event in BLOCKED:
            self.refuse("process", f"tried to {BLOCKED[event]} ({event})")
        elif event in PATH_EVENTS:
            for path in args[:2]:
                if isinstance(path, (str, bytes, os.PathLike)):
                    self._change(os.fsdecode(path))

    def refuse(self, kind: str, detail: str, target: str = "") -> None:
        """Record the attempt, then stop it."""
        self.violations.append({"kind": kind, "detail": detail, "target": target})
        raise SandboxRefusal(f"sandbox refused: {detail}")

    def _open(self, path: Any, mode: Any, flags: Any) -> None:
        if not isinstance(path, (str, bytes, os.PathLike)):
            return  # an open file descriptor: already checked when it was opened
        name = os.fsdecode(path)
        if is_write(mode, flags):
            if not self.policy.may_write(name):
                detail = f"tried to write {name} outside its scratch directory"
                self.refuse("filesystem", detail, name)
        elif not self.policy.may_read(name):
            self.refuse("filesystem", f"tried to read {name}", name)

    def _connect(self, address: Any) -> None:
        if address is not None and not self.policy.may_connect(address):
            shown = _shown(address)
            self.refuse("network", f"tried to connect to {shown}, not a declared host", shown)

    def _resolve(self, host: Any, port: Any) -> None:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if not self.policy.may_resolve(name) and not self.policy.may_connect((name, port)):
            self.refuse("network", f"tried to reach {name}, not a declared host", name)

    def _change(self, path: str) -> None:
        if not self.policy.may_write(path):
            self.refuse("filesystem", f"tried to change {path} outside its scratch", path)


def guard(policy: Policy, violations: Violations) -> None:
    """Install the audit hook, the resolver wrapper and the MemoryError tracer; from here on
    the policy holds."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        found = real(host, port, *args, **kwargs)
        name = host.decode() if isinstance(host, bytes) else str(host)
        policy.learn(name, [str(entry[4][0]) for entry in found])
        return found

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        # A MemoryError raised by the address-space limit is an ordinary exception: a component
        # can swallow it. The tracer sees it raised (line events stay off, so it costs one call
        # per Python call) and records the attempt, so the step fails all the same.
        if event == "call":
            frame.f_trace_lines = False
        elif event == "exception" and arg[0] is MemoryError:
            note_memory(violations)
        return tracer

    sys.settrace(tracer)
    sys.addaudithook(Guard(policy, violations))
    socket.getaddrinfo = getaddrinfo


def note_memory(violations: Violations) -> None:
    """Record an allocation the address-space limit refused (once per attempt)."""
    if not violations or violations[-1]["kind"] != "memory":
        detail = "tried to allocate past its memory limit"
        violations.append({"kind": "memory", "detail": detail, "target": ""})


def _shown(address: Any) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        return f"{address[0]}:{address[1]}"
    return str(address)


def load(ref: str) -> Component:
    """The component ``module:qualname`` names (a class is instantiated)."""
    module, _, qualname = ref.partition(":")
    target: Any = importlib.import_module(module)
    for part in qualname.split("."):
        target = getattr(target, part)
    component: Component = target() if isinstance(target, type) else target
    return component


def call(
    component: Component, message: dict[str, Any], wire: Wire, out: Violations
) -> dict[str, Any]:
    """Run one call; the answer frame (result or error, with what was refused)."""
    refusals: list[str] = []
    ports = Ports(
        profile=lambda _w, _p: {},
        action=lambda name: None,
        refused=lambda r: refusals.append(r.host),
        base_urls=message.get("base_urls", {}),
    )
    ctx = StepView(**message["ctx"])
    fields = Fields(message["profile"], tuple(component.reads), out)
    sandbox = ChildSandbox(component, ctx, fields, ports)  # type: ignore[arg-type]
    sandbox.wire = wire
    answer: dict[str, Any]
    try:
        typed = component.params.model_validate(message["params"])
        if message.get("op") == "undo":  # compensation runs in the sandbox too
            getattr(component, "undo")(ctx, typed, message["result"])  # noqa: B009
            result: Any = {}
        else:
            result = component.run(sandbox, typed)
        answer = {"op": "done", "result": orjson.loads(orjson.dumps(result))}
    except MemoryError:
        note_memory(out)
        answer = {"op": "failed", "error": {"target": component.name, "reason": "out of memory"}}
    except ActionError as exc:
        if hasattr(exc, "relayed_from"):  # the parent's own error: it raises it again as is
            error: dict[str, Any] = {"origin": getattr(exc, "relayed_from")}  # noqa: B009
        else:
            kind = "transient" if isinstance(exc, TransientError) else "permanent"
            error = {"kind": kind, "target": exc.target, "reason": exc.reason}
        answer = {"op": "failed", "error": error}
    except Exception as exc:  # the component's own bug: the step fails with its words
        reason = f"{type(exc).__name__}: {exc}"
        answer = {"op": "failed", "error": {"target": component.name, "reason": reason}}
    return answer | {"violations": list(out), "refusals": refusals}


def manifest(component: Component, ref: str) -> dict[str, Any]:
    """What the parent needs to know of a component it will not import."""
    return {
        "name": component.name,
        "description": component.description,
        "params_schema": component.params.model_json_schema(),
        "reads": list(component.reads),
        "hosts": list(component.hosts),
        "impact": component.impact,
        "limits": limits_of(component).as_dict(),
        "ref": ref_of(component) if ":" not in ref else ref,
    }


def _scrub_environment(scratch: str) -> None:
    # The parent's environment can hold secrets (database URLs, keys); the child gets none.
    os.environ.clear()
    os.environ.update({"HOME": scratch, "TMPDIR": scratch, "PATH": "/usr/bin:/bin"})


def main() -> None:
    """Serve calls of one component until the parent closes the pipe."""
    wire = Wire(0, os.dup(1))
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # a component's print() must not corrupt frames
    init = wire.receive()
    policy = Policy.from_dict(init["policy"])
    violations: Violations = []
    os.chdir(policy.scratch)
    _scrub_environment(policy.scratch)
    guard(policy, violations)
    # A staged wheel's folder goes first only now, under the guard: the zygote that forked
    # this child never saw it, so its code cannot shadow what crmos itself imported.
    sys.path[:0] = [str(p) for p in init.get("path") or ()]
    try:
        component = load(init["ref"])
    except BaseException as exc:  # import-time code of a hostile component
        reason = f"cannot be loaded: {type(exc).__name__}: {exc}"
        wire.send(
            {
                "op": "failed",
                "error": {"target": init["ref"], "reason": reason},
                "violations": violations,
            }
        )
        return
    ready: dict[str, Any] = {"op": "ready", "violations": violations}
    if init.get("describe"):
        try:
            ready["manifest"] = manifest(component, init["ref"])
        except Exception as exc:  # a component that cannot describe itself is not loaded
            ready = {"op": "failed", "error": {"target": init["ref"], "reason": str(exc)}}
    wire.send(ready)
    while True:
        try:
            message = wire.receive()
        except EOFError:
            return
        violations.clear()
        wire.send(call(component, message, wire, violations))
