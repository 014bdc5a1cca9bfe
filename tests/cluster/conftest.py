"""The cluster tests' real components: a ``redis-server`` of their own (free port, temporary
directory, ``--appendonly yes --appendfsync always --save ''``, stopped by its pid), the CXone
simulator and ``evolvekit serve --redis URL --role ...`` nodes, each an OS process.

Without ``redis-server`` the tests skip with how to install it; tests/conftest.py turns that
skip into a failure under ``CI=true`` (where .ci/run installs it).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ..support.servers import SIMULATOR_ENV, free_port, serve_command, stop_process, wait_until_up

INSTALL_HINT = (
    "redis-server is not installed: apt-get install -y redis-server "
    "(.ci/run installs it; the cluster tests need a real Redis >= 6.2)"
)


class RedisServer:
    """One redis-server process on a free port, its data in ``directory``."""

    def __init__(self, binary: str, directory: Path) -> None:
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = (self.directory / "redis.log").open("ab")
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.directory),
                "--appendonly", "yes",
                "--appendfsync", "always",
                "--save", "",
                "--daemonize", "no",
                "--protected-mode", "yes",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited: {self.log_tail()}")
            if self.ping():
                return
            time.sleep(0.05)
        raise TimeoutError(f"redis-server did not answer within 20 s: {self.log_tail()}")

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def kill9(self) -> None:
        """SIGKILL by pid: only what Redis fsynced survives."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()

    def stop(self) -> None:
        """SIGTERM by pid (Redis flushes its AOF), bounded; SIGKILL after that."""
        process, self.process = self.process, None
        if process is not None:
            stop_process(process, timeout=20)

    def log_tail(self) -> str:
        try:
            return (self.directory / "redis.log").read_text(errors="replace")[-2000:]
        except OSError:
            return ""


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip(INSTALL_HINT)
    server = RedisServer(binary, tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Process:
    """A child process with its stdout read by a thread (bounded waits) and its stderr in a
    log file shown when a test fails."""

    def __init__(self, args: list[str], log_file: Path, env: dict[str, str] | None = None) -> None:
        self.log_file = log_file
        with log_file.open("ab") as stderr:
            self.popen = subprocess.Popen(
                args,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                env=dict(os.environ, **(env or {})),
            )
        self.lines: queue.Queue[str] = queue.Queue()
        stdout = self.popen.stdout
        assert stdout is not None
        threading.Thread(target=lambda: [self.lines.put(x) for x in stdout], daemon=True).start()

    def read_until(self, marker: str, timeout: float = 60) -> list[str]:
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            seen.append(line.rstrip("\n"))
            if line.strip() == marker:
                return seen
        raise TimeoutError(f"no {marker!r} from {self.popen.args!r}; stderr:\n{self.log_tail()}")

    def log_tail(self, size: int = 3000) -> str:
        try:
            return self.log_file.read_text(errors="replace")[-size:]
        except OSError:
            return ""

    def kill9(self) -> None:
        os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait()

    def terminate(self, timeout: float = 30) -> int:
        return stop_process(self.popen, timeout)


class Node(Process):
    """``evolvekit serve --redis URL --role ROLE``; ``http`` and ``ws`` once ready."""

    def __init__(self, args: list[str], log_file: Path) -> None:
        super().__init__(args, log_file, SIMULATOR_ENV)
        self.http = ""
        self.ws: str | None = None

    def wait_ready(self) -> Node:
        lines = self.read_until("ready")
        fields = {x.split()[0]: x.split()[1] for x in lines if len(x.split()) > 1}
        self.http = fields["http"]
        self.ws = fields.get("consumers", "").split("?")[0] or None
        return self


class Cluster:
    """Starts nodes (and a simulator) against one Redis; stops them all at the end."""

    def __init__(self, tmp_path: Path, redis: RedisServer) -> None:
        self.tmp_path = tmp_path
        self.redis = redis
        self.processes: list[Process] = []
        self.simulator_url: str | None = None
        self.config = tmp_path / "cluster.toml"
        self.config.write_text(
            "[cluster]\n"
            "claim_idle = 2.0\n"
            "max_deliveries = 5\n"
            "heartbeat_interval = 0.5\n"
            "[pipeline]\n"
            "outbox_interval = 0.1\n"
            "outbox_backoff_base = 0.1\n"
            "outbox_backoff_cap = 0.5\n"
            "shutdown_grace = 5.0\n"
            "[cxone]\n"
            "backoff_base = 0.05\n"
            "backoff_cap = 0.5\n",
            encoding="utf-8",
        )

    def simulator(self, faults: str = "", latency_ms: float | None = None) -> str:
        port = free_port()
        args = [sys.executable, "-m", "evolvekit", "simulator", "--port", str(port)]
        if faults:
            args += ["--faults", faults]
        if latency_ms is not None:
            args += ["--latency", str(latency_ms)]
        process = Process(args, self.tmp_path / f"simulator-{port}.log")
        self.processes.append(process)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(f"{url}/_simulator/stats", timeout=30)
        except TimeoutError:
            raise TimeoutError(f"simulator did not start: {process.log_tail()}") from None
        self.simulator_url = url
        return url

    def node(self, role: str, *extra: str) -> Node:
        return self.start_node(role, *extra).wait_ready()

    def nodes(self, *roles: str) -> list[Node]:
        """Start several nodes at once (a loaded machine starts them in parallel)."""
        started = [self.start_node(role) for role in roles]
        return [node.wait_ready() for node in started]

    def start_node(self, role: str, *extra: str) -> Node:
        name = f"{role.replace(',', '+')}-{len(self.processes)}"
        args = serve_command(
            self.tmp_path / "data",
            "--config", str(self.config),
            "--redis", self.redis.url,
            "--role", role,
            simulator=self.simulator_url,
        )  # fmt: skip
        node = Node([*args, *extra], self.tmp_path / f"node-{name}.log")
        self.processes.append(node)
        return node

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.log_file.name}\n{p.log_tail(1500)}" for p in self.processes if p.log_tail()
        )

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.terminate()


@pytest.fixture
def cluster(tmp_path: Path, redis_server: RedisServer) -> Iterator[Cluster]:
    started = Cluster(tmp_path, redis_server)
    try:
        yield started
    finally:
        started.stop()


def evolvekit(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run an ``evolvekit`` command (bounded), output captured."""
    return subprocess.run(
        [sys.executable, "-m", "evolvekit", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, **(env or {})),
    )


async def collect(url: str, count: int, *, timeout: float, **params: Any) -> list[dict[str, Any]]:
    """Data frames from a consumer of ``url`` until ``count`` arrived (or the timeout)."""
    from evolvekit.broadcast import consume

    frames: list[dict[str, Any]] = []

    async def run() -> None:
        async for frame in consume(url, control=False, **params):
            frames.append(frame)
            if len(frames) >= count:
                return

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(run(), timeout)
    return frames
