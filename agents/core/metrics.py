"""Prometheus metrics of an agent runtime (one registry per runtime, so several apps in
one process, as in tests, never collide). The API serves them at `/metrics`."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.http_requests = Counter(
            "agents_http_requests", "HTTP requests answered", ["method", "route", "status"], registry=r
        )
        self.http_seconds = Histogram(
            "agents_http_request_seconds", "HTTP request latency", ["method", "route"], registry=r
        )
        self.ws_connections = Gauge("agents_websocket_connections", "WebSocket clients connected now", registry=r)
        self.ws_messages = Counter(
            "agents_websocket_messages_relayed", "Broadcast messages handed to clients", registry=r
        )
        self.workflow_starts = Counter("agents_workflow_starts", "Runs started by agents", ["workflow"], registry=r)
        self.workflow_controls = Counter("agents_workflow_controls", "Controls sent to runs", ["action"], registry=r)
