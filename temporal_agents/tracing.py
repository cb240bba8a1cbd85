"""OpenTelemetry traces for the worker and the API: off unless an OTLP endpoint is set.

With `OTEL_EXPORTER_OTLP_ENDPOINT` (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) unset, nothing
here imports the SDK, no exporter thread starts and the agent layer's spans are no-ops.
Set, the standard variables apply as the OTel SDK defines them (`OTEL_SERVICE_NAME`,
`OTEL_RESOURCE_ATTRIBUTES`, `OTEL_TRACES_SAMPLER`, `OTEL_BSP_*`), over OTLP/HTTP
(`OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf`, the default); the service name defaults to
`temporal-agents-api` or `temporal-agents-worker`. The maintained instrumentations do the
work: Temporal's interceptor (client and worker, context in headers), FastAPI's and
redis-py's; `agents.core.tracing` adds the agent's turn, RPC frames and the relay.
"""

from __future__ import annotations

import os
from typing import Any

_ENDPOINTS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def tracing_configured() -> bool:
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return False
    if os.environ.get("OTEL_TRACES_EXPORTER", "otlp").lower() == "none":
        return False
    return any(os.environ.get(name) for name in _ENDPOINTS)


def configure_tracing(service: str) -> list[Any]:
    """Install the tracer provider and the Redis instrumentation when tracing is
    configured; the Temporal interceptors to pass to the client ([] when it is off)."""
    if not tracing_configured():
        return []
    protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if protocol not in (None, "", "http/protobuf"):
        raise RuntimeError(f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol}: only http/protobuf is supported; unset it")
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.redis import RedisInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
        from temporalio.contrib.opentelemetry import TracingInterceptor
    except ImportError as err:
        raise RuntimeError(
            f"tracing is configured ({', '.join(n for n in _ENDPOINTS if os.environ.get(n))}) but {err.name} is "
            "missing: pip install 'temporal-agents[otel]'"
        ) from err
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME") or service})
    provider = TracerProvider(resource=resource)  # the sampler from OTEL_TRACES_SAMPLER
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    RedisInstrumentor().instrument(tracer_provider=provider)
    return [TracingInterceptor()]


def instrument_app(app: Any) -> None:
    """FastAPI's instrumentation on the API's app, when tracing is configured."""
    if tracing_configured():
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app, excluded_urls="healthz,readyz,metrics")


def shutdown_tracing() -> None:
    """Export what is buffered before the process leaves (it leaves with os._exit)."""
    if tracing_configured():
        from opentelemetry import trace

        shutdown = getattr(trace.get_tracer_provider(), "shutdown", None)
        if shutdown is not None:
            shutdown()
