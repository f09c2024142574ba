"""A private redis-server on a free loopback port, for the tests and the benchmarks.

Debian's ``redis-server`` (``make test`` installs it). Each server has its own
folder (its append-only file: what Redis acknowledged survives a SIGKILL) and
is stopped at the end; :meth:`RedisServer.kill` and :meth:`RedisServer.start`
take it away and bring it back on the same port.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

from avd.net import free_port
from tests.polling import wait_until


def redis_binary() -> str:
    """The path of ``redis-server``, or a failure saying how to install it."""
    found = shutil.which("redis-server")
    if found is None:
        raise AssertionError("redis-server is not installed: run `make redis` (or `make test`)")
    return found


class RedisServer:
    """One redis-server process; ``url`` stays the same across restarts."""

    def __init__(self, *, persist: bool = True) -> None:
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="avd-redis-"))
        self.persist = persist
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:PORT/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start it and wait until it answers."""
        args = [
            redis_binary(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.folder),
            "--save", "",
            "--daemonize", "no",
            "--logfile", str(self.folder / "redis.log"),
        ]  # fmt: skip
        if self.persist:
            # every write on disk before Redis answers it: a SIGKILL loses nothing acknowledged
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            args += ["--appendonly", "no"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self.answers, lambda: f"redis-server on port {self.port}: {self.log()}")
        return self

    def answers(self) -> bool:
        """Whether it answers PING."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def log(self) -> str:
        """The server's log (for failure messages)."""
        f = self.folder / "redis.log"
        return f.read_text(errors="replace")[-2000:] if f.exists() else "(no log)"

    def kill(self) -> None:
        """SIGKILL: gone at once, like a crash."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> None:
        """Stop it and remove its folder."""
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
            self.proc = None

    def close(self) -> None:
        """Stop it and remove its folder."""
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
