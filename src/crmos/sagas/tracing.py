"""OpenTelemetry for runs: every run and every step attempt is a span, in one trace per run.

A run's trace id is fixed when the run is created (taken from the caller's ``traceparent``
when there is one), so a run resumed by another process after a crash continues the same trace.
Actions receive the W3C ``traceparent`` of their step's span to pass on (HTTP header).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import ConsoleSpanExporter, SimpleSpanProcessor
from opentelemetry.trace import (
    NonRecordingSpan,
    Span,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
)


def traceparent_of(span: Span) -> str:
    """The W3C ``traceparent`` header value that makes a callee a child of ``span``."""
    ctx = span.get_span_context()
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-01"


def span_id_of(span: Span) -> str:
    """The span's id in hex."""
    return f"{span.get_span_context().span_id:016x}"


def remote_parent(trace_id: str, span_id: str) -> Context:
    """A context whose current span is the (remote) one that created the run."""
    parent = SpanContext(
        trace_id=int(trace_id, 16),
        span_id=int(span_id, 16),
        is_remote=True,
        trace_flags=TraceFlags(TraceFlags.SAMPLED),
    )
    return trace.set_span_in_context(NonRecordingSpan(parent))


class Tracing:
    """The engine's own tracer provider (it never replaces the process's global one)."""

    def __init__(self, console: bool = False) -> None:
        self.provider = TracerProvider(resource=Resource.create({"service.name": "crmos"}))
        if console:
            exporter = ConsoleSpanExporter(out=sys.stderr)
            self.provider.add_span_processor(SimpleSpanProcessor(exporter))
        self.tracer = self.provider.get_tracer("crmos.sagas")

    def add_processor(self, processor: SpanProcessor) -> None:
        """Send spans somewhere else too (an OTLP exporter, an in-memory one in tests)."""
        self.provider.add_span_processor(processor)

    @contextmanager
    def span(self, name: str, parent: Context, **attributes: str | int) -> Iterator[Span]:
        """A span under ``parent``; an exception escaping it marks it as an error."""
        with self.tracer.start_as_current_span(
            name, context=parent, kind=SpanKind.INTERNAL, attributes=attributes
        ) as span:
            yield span

    def shutdown(self) -> None:
        """Flush and stop every span processor."""
        self.provider.shutdown()


def mark(span: Span, status: str, error: str | None) -> None:
    """Record a step's status on its span (an error status unless it is ``ok``)."""
    span.set_attribute("crmos.status", status)
    if status not in ("ok", "skipped"):
        span.set_status(Status(StatusCode.ERROR, error or status))
