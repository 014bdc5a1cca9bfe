"""What the end-to-end benchmarks share (bench_pipeline.py, bench_cluster.py): the
repository's folders, the simulator's credentials, the events they post, a free port, a
bounded wait for a server and a bounded stop of a child process.

Imported as ``_load`` by scripts run as ``python benchmarks/bench_X.py`` (their folder is
first on ``sys.path``).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
SCHEMAS = ROOT / "schemas"
RULES = ROOT / "rules"
SUBJECT = "interaction.completed"
CREDENTIALS = {"CXONE_CLIENT_ID": "bench", "CXONE_CLIENT_SECRET": "bench-not-a-secret"}


def legacy_event(n: int, *, timestamp: str | None = None) -> dict[str, Any]:
    """A valid interaction.completed 1.0.0 event, unique by ``n`` (50 agents, 3 channels)."""
    event: dict[str, Any] = {"eventType": SUBJECT}
    if timestamp is not None:
        event["timestamp"] = timestamp
    event.update(
        customerId=f"CUST-{n}",
        interactionId=f"INT-{n}",
        agentEmail=f"agent{n % 50}@company.com",
        callDuration=n % 900,
        channel=("Phone", "chat", "email")[n % 3],
    )
    return event


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_up(url: str, timeout: float = 60.0) -> None:
    """Poll ``url`` until it answers below 500; the benchmark stops if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"{url} did not come up within {timeout:g} s")


def stop_process(process: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    """SIGTERM (a graceful stop), SIGKILL if it has not exited within ``timeout``."""
    if process.poll() is not None:
        return
    os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait()


def serve_args(simulator: str, *extra: str) -> list[str]:
    """``evolvekit serve`` on ephemeral ports with the repository's schemas and rules,
    publishing to the simulator at ``simulator``; ``extra`` options appended."""
    return [
        sys.executable, "-m", "evolvekit", "serve",
        "--port", "0", "--broadcast-port", "0",
        "--schemas", str(SCHEMAS), "--rules-dir", str(RULES),
        "--cxone-base-url", simulator, *extra,
    ]  # fmt: skip
