"""Keep `make dev`'s worker and API running: a child that dies is started again with
backoff, and the terminal says so. Only repeated crashes right after starting (a broken
module, a port in use) give up, since restarting cannot help those."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

QUICK_CRASH = 5.0
"""A child that exits within this many seconds of starting crashed at once."""
GIVE_UP_AFTER = 5
"""Quick crashes in a row after which the stack stops."""
MAX_BACKOFF = 30.0


class Supervised:
    """One child process, restarted with backoff (1, 2, 4 ... 30 s) whenever it exits."""

    def __init__(self, name: str, argv: Sequence[str], *, cwd: Path, env: dict[str, str]) -> None:
        self.name, self._argv, self._cwd, self._env = name, list(argv), cwd, env
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._quick_crashes = 0
        self._started = 0.0
        self._restart_at: float | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(self._argv, cwd=self._cwd, env=self._env)
        self._started = time.monotonic()
        self._restart_at = None

    def check(self) -> bool:
        """Restart the child if it is due; False once it keeps crashing at start."""
        now = time.monotonic()
        if self._restart_at is not None:
            if now >= self._restart_at:
                self.restarts += 1
                self.start()
            return True
        if self.proc is None or (code := self.proc.poll()) is None:
            return True
        quick = now - self._started < QUICK_CRASH
        self._quick_crashes = self._quick_crashes + 1 if quick else 0
        if self._quick_crashes >= GIVE_UP_AFTER:
            print(f"{self.name} crashed {GIVE_UP_AFTER} times right after starting; stopping", file=sys.stderr)
            return False
        delay = min(MAX_BACKOFF, 2.0 ** max(0, self._quick_crashes - 1))
        print(f"{self.name} exited ({_describe(code)}); restarting in {delay:.0f} s", file=sys.stderr, flush=True)
        self._restart_at = now + delay
        return True

    def stop(self, timeout: float = 15) -> None:
        self._restart_at = None
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _describe(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"
