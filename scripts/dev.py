"""`make dev`: the whole stack in one terminal.

Starts the Temporal dev server (UI, SQLite in DATA_DIR, search attributes registered)
and Valkey (AOF in DATA_DIR) unless TEMPORAL_ADDRESS / REDIS_URL point elsewhere,
then the worker and the API, which are restarted (with backoff) if they die. Ctrl-C (or
SIGTERM) stops everything it started.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from agents.core.settings import get_settings  # noqa: E402
from devstack import TemporalDevServer, ValkeyServer, held_ports  # noqa: E402
from devstack.supervise import Supervised  # noqa: E402


def main() -> int:
    settings = get_settings()
    data = (ROOT / settings.data_dir) if not settings.data_dir.is_absolute() else settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    servers: list[TemporalDevServer | ValkeyServer] = []
    children: list[Supervised] = []
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    env = dict(os.environ)
    try:
        if not settings.temporal_address:
            later = [settings.api_port, settings.worker_metrics_port]
            with held_ports(*later, *([] if settings.redis_url else [settings.redis_port])):
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
        for name, script in (("worker", "worker.py"), ("api", "api.py")):
            children.append(Supervised(name, [sys.executable, script], cwd=ROOT, env=env))
            children[-1].start()
        ui = f"http://127.0.0.1:{settings.temporal_ui_port}" if not settings.temporal_address else "(external)"
        print(
            f"\n  API          http://{settings.api_host}:{settings.api_port}  (docs at /docs)\n"
            f"  Temporal UI  {ui}\n"
            f"  Temporal     {env['TEMPORAL_ADDRESS']}\n"
            f"  Redis        {env['REDIS_URL']}\n"
            f"  Data         {data}\n\n  A worker or API that dies is restarted. Ctrl-C stops everything.\n",
            flush=True,
        )
        while not stopping:
            if not all(child.check() for child in children):
                break  # crashing at every start: restarting cannot help
            time.sleep(0.2)
    finally:
        for child in children:
            child.stop()
        for server in reversed(servers):
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
