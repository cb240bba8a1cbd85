"""`make dev` as a newcomer runs it: the whole stack, one run end to end while the worker
is killed and restarted, Ctrl-C, nothing left."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

import httpx

from devstack import free_port

ROOT = Path(__file__).resolve().parent.parent


def _session_members(sid: int) -> list[str]:
    """Processes whose session is `sid` (Ctrl-C reaches exactly these), as 'pid command'."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[3]) == sid and fields[0] != "Z":
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
                found.append(f"{entry.name} {command}")
        except (OSError, ValueError, IndexError):
            continue
    return found


async def test_make_dev_runs_the_stack_and_ctrl_c_leaves_nothing(tmp_path: Path) -> None:
    ports = {
        name: free_port()
        for name in ("API_PORT", "TEMPORAL_PORT", "TEMPORAL_UI_PORT", "REDIS_PORT", "WORKER_METRICS_PORT")
    }
    env = {k: v for k, v in os.environ.items() if k not in ("TEMPORAL_ADDRESS", "REDIS_URL", "TASK_QUEUE")}
    env.update({k: str(v) for k, v in ports.items()}, DATA_DIR=str(tmp_path / "data"))
    log = tmp_path / "dev.log"
    proc = subprocess.Popen(
        ["make", "dev"], cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True
    )
    api = f"http://127.0.0.1:{ports['API_PORT']}"
    try:
        async with httpx.AsyncClient(base_url=api, timeout=5) as http:
            for _ in range(1200):
                assert proc.poll() is None, log.read_text()[-3000:]
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the stack never became ready:\n" + log.read_text()[-3000:])
            started = await http.post(
                "/agents/task-agent/newcomer/workflows",
                json={"workflow": "process_items", "params": {"items": list("abcdefgh"), "delay_ms": 300}},
            )
            assert started.status_code == 201, started.text
            run = started.json()
            # The worker dies mid-run: `make dev` starts it again and the run completes.
            await asyncio.sleep(1)
            workers = [int(m.split()[0]) for m in _session_members(proc.pid) if "temporal_agents worker" in m]
            assert len(workers) == 1, _session_members(proc.pid)
            os.kill(workers[0], signal.SIGKILL)
            for _ in range(600):
                row = (await http.get(f"/agents/task-agent/newcomer/workflows/{run['workflow_id']}")).json()
                if row["status"] == "complete":
                    break
                await asyncio.sleep(0.1)
            assert row["status"] == "complete" and row["result"] == {"processed": 8}, row
            assert "worker exited (killed by SIGKILL); restarting" in log.read_text()
            assert proc.poll() is None
            ui = await http.get(f"http://127.0.0.1:{ports['TEMPORAL_UI_PORT']}/")
            assert ui.status_code == 200
        text = log.read_text()
        assert f"http://127.0.0.1:{ports['TEMPORAL_UI_PORT']}" in text and f"127.0.0.1:{ports['API_PORT']}" in text
        assert _session_members(proc.pid), "the stack's processes should be in the test's session"
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        try:
            proc.wait(60)
        finally:
            await asyncio.sleep(0.5)
            left = _session_members(proc.pid)
            if left:
                os.killpg(proc.pid, signal.SIGKILL)
            assert not left, f"left behind after Ctrl-C: {left}"
    assert (tmp_path / "data" / "temporal.sqlite").exists()  # data kept for the next start
    assert any((tmp_path / "data" / "valkey").glob("appendonly*"))
