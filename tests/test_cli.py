"""`temporal-agents` as a user runs it: from a folder of their own, outside this
repository, with their app package there and no PYTHONPATH."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from devstack import free_port

CLI = str(Path(sys.executable).parent / "temporal-agents")

GREETER = """
from agents import Agent, callable_method


class Greeter(Agent):
    initial_state = {"greeted": 0}

    @callable_method
    async def greet(self, name: str) -> str:
        await self.merge_state({"greeted": self.state["greeted"] + 1})
        return f"hello {name}"
"""


def _user_folder(tmp_path: Path) -> Path:
    home = tmp_path / "project"
    (home / "myapp").mkdir(parents=True)
    (home / "myapp" / "__init__.py").write_text("")
    (home / "myapp" / "agents.py").write_text(GREETER)
    (home / "broken").mkdir()
    (home / "broken" / "__init__.py").write_text("import a_dependency_nobody_installed\n")
    return home


def _env(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TEMPORAL_ADDRESS", "REDIS_URL")}
    env.pop("AGENT_MODULES", None)
    env.update(settings)
    return env


def _run(args: list[str], cwd: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([CLI, *args], cwd=cwd, env=_env(**settings), capture_output=True, text=True, timeout=60)


def test_an_app_that_does_not_import_fails_in_one_line_naming_the_module_and_the_fix(tmp_path: Path) -> None:
    home = _user_folder(tmp_path)
    for command in ("worker", "api", "dev"):
        done = _run([command, "--app", "broken"], home)
        assert done.returncode == 2, done
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert (
            "'broken'" in lines[0] and "ModuleNotFoundError" in lines[0] and "a_dependency_nobody_installed" in lines[0]
        )
    missing = _run(["worker", "--app", "nosuch.agents"], home)
    assert missing.returncode == 2 and len(missing.stderr.strip().splitlines()) == 1, missing
    assert "run from the folder that holds the package" in missing.stderr


def test_help_lists_every_setting_with_its_variable(tmp_path: Path) -> None:
    done = _run(["dev", "--help"], tmp_path)
    assert done.returncode == 0, done
    for variable in ("AGENT_MODULES", "TEMPORAL_ADDRESS", "REDIS_URL", "API_PORT", "WS_QUEUE_BYTES", "JWT_SECRET"):
        assert variable in done.stdout
    assert "Comma-separated import paths" in done.stdout  # each with what it does


def test_a_taken_port_is_named_in_one_line_before_anything_starts(tmp_path: Path) -> None:
    home = _user_folder(tmp_path)
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        done = _run(["dev", "--app", "myapp.agents"], home, API_PORT=str(port), DATA_DIR=str(tmp_path / "data"))
    assert done.returncode == 1, done
    assert done.stderr.strip().splitlines() == [
        f"temporal-agents dev: port {port} is in use (API_PORT); stop what holds it, or set API_PORT to a free port"
    ]
    assert not (tmp_path / "data").exists()  # nothing started


async def test_dev_serves_the_users_app_and_ctrl_c_stops_it_quietly(tmp_path: Path) -> None:
    home = _user_folder(tmp_path)
    ports = {n: free_port() for n in ("API_PORT", "TEMPORAL_PORT", "TEMPORAL_UI_PORT", "REDIS_PORT")}
    env = _env(**{k: str(v) for k, v in ports.items()}, WORKER_METRICS_PORT="0", DATA_DIR=str(tmp_path / "data"))
    log = tmp_path / "dev.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [CLI, "dev", "--app", "myapp.agents"],
            cwd=home,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports['API_PORT']}", timeout=10) as http:
            for _ in range(1200):
                assert proc.poll() is None, log.read_text()[-3000:]
                if "Ctrl-C stops everything" in log.read_text():
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("no banner:\n" + log.read_text()[-3000:])
            assert (await http.get("/readyz")).status_code == 200  # the banner comes once it is up
            reply = await http.post("/agents/greeter/ada/rpc/greet", json={"args": ["ada"]})
            assert reply.json() == {"result": "hello ada"}, reply.text
            assert (await http.get("/agents/greeter/ada/state")).json()["state"] == {"greeted": 1}
    finally:
        before_stop = len(log.read_text())
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        code = proc.wait(60)
    assert code == 0
    after = log.read_text()[before_stop:]
    # The worker and the API stop before the servers they use: no lost pub/sub, no gRPC
    # retries, no warning of any kind on the way out.
    noisy = [line for line in after.splitlines() if '"level": "warning"' in line or '"level": "error"' in line]
    assert noisy == [], after[-3000:]
    for port in ports.values():  # nothing left listening
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0, port
