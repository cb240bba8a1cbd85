"""Trace context in the agent layer, through OpenTelemetry's API alone (no SDK, no I/O):
every call here is a no-op, costing a context lookup, unless the process configured a
tracer provider (`temporal_agents.tracing`, when an `OTEL_EXPORTER_OTLP_*` endpoint is set).

What it adds to the maintained instrumentations (FastAPI, redis-py, Temporal's
interceptor): the agent's turn and WebSocket RPC frames as spans, the trace that caused a
message carried in its envelope (`tp`, a W3C traceparent) so the API process that relays
it to WebSocket clients links its span to that trace, and trace and span ids on log lines.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import trace
from opentelemetry.trace import Link
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

tracer = trace.get_tracer("temporal-agents")
_PROPAGATOR = TraceContextTextMapPropagator()


def agent_attributes(agent_type: str, name: str) -> dict[str, str]:
    return {"agent.type": agent_type, "agent.name": name}


def traceparent() -> str | None:
    """The current span's W3C traceparent, or None when no span is being recorded."""
    if not trace.get_current_span().get_span_context().is_valid:
        return None
    carrier: dict[str, str] = {}
    _PROPAGATOR.inject(carrier)
    return carrier.get("traceparent")


def links_to(parent: str | None) -> list[Link]:
    """A link to the span `parent` names (a traceparent), for work it caused elsewhere."""
    if not parent:
        return []
    context = trace.get_current_span(_PROPAGATOR.extract({"traceparent": parent})).get_span_context()
    return [Link(context)] if context.is_valid else []


def add_trace_ids(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: `trace_id` and `span_id` on a line logged inside a span."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event["trace_id"] = format(context.trace_id, "032x")
        event["span_id"] = format(context.span_id, "016x")
    return event
