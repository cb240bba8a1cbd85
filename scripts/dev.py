"""`make dev`: the whole stack in one terminal.

Starts the Temporal dev server (UI, SQLite in DATA_DIR, search attributes registered)
and Valkey (AOF in DATA_DIR) unless TEMPORAL_ADDRESS / REDIS_URL point elsewhere,
then the worker and the API. Ctrl-C (or SIGTERM) stops everything it started.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agents.settings import get_settings  # noqa: E402
from devstack import TemporalDevServer, ValkeyServer  # noqa: E402


def main() -> int:
    settings = get_settings()
    data = (ROOT / settings.data_dir) if not settings.data_dir.is_absolute() else settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    servers: list[TemporalDevServer | ValkeyServer] = []
    children: list[subprocess.Popen[bytes]] = []
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    env = dict(os.environ)
    try:
        if not settings.temporal_address:
            temporal = TemporalDevServer(
                port=settings.temporal_port,
                ui_port=settings.temporal_ui_port,
                db_file=data / "temporal.sqlite",
                namespace=settings.temporal_namespace,
                log_file=data / "temporal.log",
            ).start()
            servers.append(temporal)
            env["TEMPORAL_ADDRESS"] = temporal.address
        if not settings.redis_url:
            valkey = ValkeyServer(port=settings.redis_port, data_dir=data / "valkey", appendonly=True).start()
            servers.append(valkey)
            env["REDIS_URL"] = valkey.url
        env.setdefault("PYTHONPATH", str(ROOT))
        env.setdefault("DEMO_SYNC_EVERY", "1 minute")  # the demo's scheduled sync_data
        children.append(subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env))
        children.append(subprocess.Popen([sys.executable, "api.py"], cwd=ROOT, env=env))
        ui = f"http://127.0.0.1:{settings.temporal_ui_port}" if not settings.temporal_address else "(external)"
        print(
            f"\n  API          http://{settings.api_host}:{settings.api_port}  (docs at /docs)\n"
            f"  Temporal UI  {ui}\n"
            f"  Temporal     {env['TEMPORAL_ADDRESS']}\n"
            f"  Redis        {env['REDIS_URL']}\n"
            f"  Data         {data}\n\n  Ctrl-C stops everything.\n",
            flush=True,
        )
        while not stopping:
            if any(child.poll() is not None for child in children):
                print("a child process exited; stopping the stack", file=sys.stderr)
                break
            time.sleep(0.2)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(15)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        for server in reversed(servers):
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
