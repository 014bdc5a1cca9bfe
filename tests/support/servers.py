"""What the pipeline and cluster tests share: the repository's folders, a sample event, a free
port, the simulator's credentials, the command line of ``evolvekit serve`` on ephemeral ports,
a bounded wait for a server and a bounded stop of a child process. Imported by
tests/pipeline/conftest.py, tests/cluster/conftest.py and the tests themselves.
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

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
RULES = REPO / "rules"
SUBJECT = "interaction.completed"
SIMULATOR_ENV = {"CXONE_CLIENT_ID": "evolvekit-tests", "CXONE_CLIENT_SECRET": "not-a-secret"}


def legacy_event(n: int, **extra: Any) -> dict[str, Any]:
    """A valid interaction.completed 1.0.0 event, unique by ``n``."""
    event: dict[str, Any] = {
        "eventType": SUBJECT,
        "customerId": f"CUST-{n}",
        "interactionId": f"INT-{n}",
        "agentEmail": f"agent{n}@company.com",
        "callDuration": n % 600,
    }
    event.update(extra)
    return event


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[Any], timeout: float) -> int:
    """SIGTERM by pid (a graceful stop), SIGKILL if it has not exited within ``timeout``
    seconds; the exit code (nothing is sent to a process that already exited)."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
    return int(process.returncode)


def wait_until_up(url: str, timeout: float = 20.0) -> None:
    """Poll ``url`` until it answers below 500 (bounded): a server started by a test is up."""
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not come up within {timeout} s")


def serve_command(data_dir: Path, *options: str, simulator: str | None = None) -> list[str]:
    """``evolvekit serve`` (more ``options`` first) on ephemeral ports, with ``data_dir``, the
    repository's schemas and rules and, given one, the simulator at ``simulator``."""
    args = [
        sys.executable, "-m", "evolvekit", "serve", *options,
        "--port", "0",
        "--broadcast-port", "0",
        "--data-dir", str(data_dir),
        "--schemas", str(SCHEMAS),
        "--rules-dir", str(RULES),
    ]  # fmt: skip
    if simulator is not None:
        args += ["--cxone-base-url", simulator]
    return args
