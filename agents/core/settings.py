"""Settings shared by the worker, the API and `make dev`, read from the environment."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_MODULES = "agents.demo,workflows.demo,activities.demo"
_RESERVED_PATHS = frozenset({"workflows", "healthz", "readyz", "metrics", "docs", "redoc", "openapi.json"})
"""The API's own top-level paths, which an AGENTS_PREFIX must not start with."""


class Settings(BaseSettings):
    """Every setting (docs/reference/configuration.md); the environment variable is the upper-case name."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", use_attribute_docstrings=True)

    api_host: str = "127.0.0.1"
    """Where the API listens."""
    api_port: int = 8000
    """Port of the API."""

    temporal_address: str | None = None
    """Temporal frontend `host:port`; unset means the embedded dev server on `temporal_port`."""
    temporal_port: int = 7233
    """Port of the embedded Temporal dev server."""
    temporal_ui_port: int = 8233
    """Port of the embedded dev server's UI."""
    worker_metrics_port: int = 9464
    """Where the worker serves the Temporal SDK's Prometheus metrics (0 turns them off)."""
    temporal_namespace: str = "default"
    """Temporal namespace for every run."""
    task_queue: str = "agents"
    """Task queue the worker polls and the agents start runs on."""

    redis_url: str | None = None
    """`redis://host:port/db`; unset means the embedded server on `redis_port`."""
    redis_cluster: bool = False
    """`redis_url` names one node of a Redis Cluster (or Valkey cluster): every process
    uses redis-py's cluster client, which finds the other nodes and follows slot moves
    and failovers. Each agent's keys share one hash slot and its messages one shard."""
    redis_socket_timeout: float = 10.0
    """Seconds a Redis command may wait for its reply (and a connect for its handshake)
    before it fails with a timeout (503): a half-open connection (a server gone without a
    FIN) would otherwise hold a request for as long as the kernel keeps the socket.
    Pub/sub reads wait without limit, as they should."""
    redis_wait_replicas: int = 0
    """After each state write, wait (WAIT, up to 200 ms) until this many replicas have
    it, so a write acknowledged to a caller survives its primary's death (Redis
    replication is otherwise asynchronous). 0: do not wait."""
    redis_port: int = 6380
    """Port of the embedded Redis-compatible server (6379 is often taken)."""
    redis_key_prefix: str = "ta:"
    """Prefix of every Redis key and channel the framework writes, so deployments can share a server."""

    ws_queue_size: int = 1024
    """Messages queued for one WebSocket client before it counts as too slow and is closed."""
    ws_queue_bytes: int = 4 * 1024 * 1024
    """Characters of messages (bytes, for ASCII JSON) queued for one WebSocket client
    before it counts as too slow and is cut off, whichever of this and `ws_queue_size`
    comes first: one stalled reader of an agent with a 500 KB state held 1,024 of them."""
    ws_max_frame_bytes: int = 1024 * 1024
    """Largest WebSocket frame a client may send; a bigger one closes with 1009."""
    ws_compression: bool = False
    """Offer permessage-deflate to WebSocket clients. Off by default: agent messages are
    small JSON, and compression costs a zlib context per client and CPU per message for
    every client a broadcast reaches (measured in bench/broadcast.py)."""

    agent_turn_wait: float = Field(default=10.0, gt=0)
    """Seconds a call waits for its agent's turn (one call at a time per agent) before
    failing with 503 `agent_busy` (an RPC error frame over WebSocket)."""
    agent_turn_lease: float = Field(default=5.0, ge=0.5)
    """Seconds a turn is leased for; the holder renews it every third of that while it
    works, so a process that dies in a turn frees the agent within this time."""

    max_body_bytes: int = 1024 * 1024
    """Largest HTTP request body; a bigger one is refused with 413 before it is read."""

    api_keys: dict[str, str] = Field(default_factory=dict, repr=False)
    """Static API keys and their scopes, as JSON: `{"<key>": "control:task-agent/* read:*/*"}`."""
    jwt_secret: SecretStr | None = None
    """HS256 secret of bearer JWTs (claims `sub`, `exp`, and `scope` like an API key's)."""
    jwt_audience: str | None = None
    """When set, a JWT's `aud` claim must name it."""
    jwt_issuer: str | None = None
    """When set, a JWT's `iss` claim must equal it."""

    agents_prefix: str = "/agents"
    """Where agents are addressed, over HTTP and WebSocket: `{AGENTS_PREFIX}/{agent}/{name}`
    (Cloudflare's `routeAgentRequest` prefix), one or more path segments (`/api/agents`)."""

    cors_origins: str = ""
    """Origins whose browser pages may call the HTTP API, comma-separated
    (`https://app.example.com,http://localhost:5173`), or `*` for any; empty: none (pages
    served by the API itself need none). WebSocket connections are not subject to CORS."""
    cors_credentials: bool = False
    """Let those pages send cookies and HTTP auth (`Access-Control-Allow-Credentials`);
    refused with `*`, which would let any site act as the signed-in user."""

    log_level: str = "INFO"
    """Level of the worker's and the API's logs (DEBUG, INFO, WARNING, ERROR)."""

    web_root: str = "agents.demo:web"
    """Static files served at `/`, as `package:folder` (the demo page by default); empty for none."""

    data_dir: Path = Path(".data")
    """Where the embedded servers keep their data."""
    agent_modules: str = Field(default=DEMO_MODULES)
    """Comma-separated import paths whose agents, workflows and activities are loaded."""

    @field_validator("jwt_secret")
    @classmethod
    def _jwt_secret_long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None  # JWT_SECRET= (empty) means no JWTs
        if len(value.get_secret_value().encode()) < 32:
            raise ValueError("JWT_SECRET must be at least 32 bytes (HS256 with a shorter key is guessable)")
        return value

    @field_validator("agents_prefix")
    @classmethod
    def _agents_prefix_is_a_path(cls, value: str) -> str:
        value = value.rstrip("/") if value != "/" else value
        if not re.fullmatch(r"(/[A-Za-z0-9._~-]+)+", value):
            raise ValueError(f"AGENTS_PREFIX must be a path such as /agents or /api/agents, not {value!r}")
        if value.split("/")[1] in _RESERVED_PATHS:
            raise ValueError(f"AGENTS_PREFIX {value!r} would hide the API's own /{value.split('/')[1]} routes")
        return value

    @model_validator(mode="after")
    def _cors_credentials_need_named_origins(self) -> Settings:
        if self.cors_credentials and "*" in self.cors_origin_list:
            raise ValueError("CORS_CREDENTIALS needs the origins named in CORS_ORIGINS, not '*'")
        return self

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def redis_target(self) -> str:
        return self.redis_url or f"redis://127.0.0.1:{self.redis_port}/0"

    @property
    def auth_configured(self) -> bool:
        return bool(self.api_keys) or self.jwt_secret is not None

    @property
    def loopback_bind(self) -> bool:
        return self.api_host in ("127.0.0.1", "localhost", "::1") or self.api_host.startswith("127.")

    @property
    def module_list(self) -> list[str]:
        return [m.strip() for m in self.agent_modules.split(",") if m.strip()]


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
