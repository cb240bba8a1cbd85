"""`temporal-agents dev`: the whole local stack in one terminal.

Checks every port it needs first, then starts the Temporal dev server (UI, SQLite in
DATA_DIR, search attributes registered) and Valkey (AOF in DATA_DIR), unless
TEMPORAL_ADDRESS / REDIS_URL point elsewhere, each in a process group of its own; then
the worker and the API, restarted with backoff if they die. The banner comes once the
API answers `/readyz`. Ctrl-C stops the worker and the API first, then the servers.
Exits non-zero when something cannot start or keeps crashing.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
import urllib.request
from pathlib import Path

from agents import Settings
from devstack import TemporalDevServer, ValkeyServer, held_ports
from devstack.supervise import Supervised

READY_WITHIN = 120.0
"""Seconds the worker and the API have to come up before the stack gives up."""


def run_dev(settings: Settings) -> int:
    if (taken := taken_port(settings)) is not None:
        print(f"temporal-agents dev: {taken}", file=sys.stderr)
        return 1
    data = settings.data_dir.resolve()
    data.mkdir(parents=True, exist_ok=True)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    servers: list[TemporalDevServer | ValkeyServer] = []
    children: list[Supervised] = []
    env = dict(os.environ)
    try:
        try:
            _start_servers(settings, data, servers, env)
        except (RuntimeError, TimeoutError) as err:
            print(f"temporal-agents dev: {err} (its log is in {data})", file=sys.stderr)
            return 1
        env.setdefault("DEMO_SYNC_EVERY", "1 minute")  # the demo's scheduled sync_data
        for name in ("worker", "api"):
            child = Supervised(name, [sys.executable, "-m", "temporal_agents", name], cwd=Path.cwd(), env=env)
            child.start()
            children.append(child)
        deadline = time.monotonic() + READY_WITHIN
        ready = False
        while not stopping:
            if not all(child.check() for child in children):
                return 1  # crashing at every start: restarting cannot help
            if not ready and _api_ready(settings):
                ready = True
                print(_banner(settings, env, data), flush=True)
            elif not ready and time.monotonic() > deadline:
                print(f"temporal-agents dev: the API was not ready within {READY_WITHIN:.0f} s", file=sys.stderr)
                return 1
            time.sleep(0.2)
        return 0
    finally:
        for child in children:  # first what uses the servers, then the servers
            child.stop()
        for server in reversed(servers):
            server.stop()


def taken_port(settings: Settings) -> str | None:
    """The first port the stack needs that is in use, as a line naming its variable."""
    wanted = [("API_PORT", settings.api_port)]
    if settings.worker_metrics_port:
        wanted.append(("WORKER_METRICS_PORT", settings.worker_metrics_port))
    if not settings.temporal_address:
        wanted += [("TEMPORAL_PORT", settings.temporal_port), ("TEMPORAL_UI_PORT", settings.temporal_ui_port)]
    if not settings.redis_url:
        wanted.append(("REDIS_PORT", settings.redis_port))
    for variable, port in wanted:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                return f"port {port} is in use ({variable}); stop what holds it, or set {variable} to a free port"
    return None


def _start_servers(
    settings: Settings, data: Path, servers: list[TemporalDevServer | ValkeyServer], env: dict[str, str]
) -> None:
    if not settings.temporal_address:
        later = [settings.api_port, settings.worker_metrics_port]
        with held_ports(*later, *([] if settings.redis_url else [settings.redis_port])):
            temporal = TemporalDevServer(
                port=settings.temporal_port,
                ui_port=settings.temporal_ui_port,
                db_file=data / "temporal.sqlite",
                namespace=settings.temporal_namespace,
                log_file=data / "temporal.log",
            )
            temporal.own_process_group = True
            servers.append(temporal.start())
        env["TEMPORAL_ADDRESS"] = temporal.address
    if not settings.redis_url:
        valkey = ValkeyServer(port=settings.redis_port, data_dir=data / "valkey", appendonly=True)
        valkey.own_process_group = True
        servers.append(valkey.start())
        env["REDIS_URL"] = valkey.url


def _api_ready(settings: Settings) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{settings.api_port}/readyz", timeout=1) as reply:
            return reply.status == 200
    except OSError:
        return False


def _banner(settings: Settings, env: dict[str, str], data: Path) -> str:
    ui = f"http://127.0.0.1:{settings.temporal_ui_port}" if not settings.temporal_address else "(external)"
    return (
        f"\n  API          http://{settings.api_host}:{settings.api_port}  (docs at /docs)\n"
        f"  Temporal UI  {ui}\n"
        f"  Temporal     {env['TEMPORAL_ADDRESS']}\n"
        f"  Redis        {env['REDIS_URL']}\n"
        f"  App          {settings.agent_modules}\n"
        f"  Data         {data}\n\n  A worker or API that dies is restarted. Ctrl-C stops everything.\n"
    )
