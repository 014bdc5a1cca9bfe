"""The crash test: a real ``evolvekit serve`` killed with SIGKILL in the middle of a run and
restarted on the same data directory ends with the counts of a run that never crashed."""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from evolvekit.pipeline.ingest_log import IngestLog

from ..support.servers import SIMULATOR_ENV, legacy_event, serve_command

CALLS = 80  # calls of 8 events: 640 events
PER_CALL = 8
BAD_EVERY = 41  # events the rules cannot map: dead letters


def start_serve(
    data_dir: Path, simulator: str, log_file: Path
) -> tuple[subprocess.Popen[str], str]:
    """``evolvekit serve`` on ephemeral ports, its stderr kept in ``log_file`` (shown when
    an assertion fails); returns once it printed ``ready`` (bounded), with the ingest URL."""
    env = dict(os.environ, **SIMULATOR_ENV)
    with log_file.open("a", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            serve_command(data_dir, simulator=simulator),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env=env,
        )
    try:
        return process, _read_ingest_url(process, log_file)
    except BaseException:
        process.kill()
        process.wait()
        raise


def _read_ingest_url(process: subprocess.Popen[str], log_file: Path) -> str:
    """The ingest URL from serve's start-up lines; a reader thread keeps the wait bounded
    (a bare readline would block for ever on a serve that hangs)."""
    assert process.stdout is not None
    lines: queue.Queue[str] = queue.Queue()
    stdout = process.stdout
    threading.Thread(target=lambda: [lines.put(x) for x in stdout], daemon=True).start()
    url = None
    deadline = time.monotonic() + 60
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        found = re.match(r"ingest\s+(http://\S+)/ingest", line)
        if found:
            url = found[1]
        if line.strip() == "ready":
            assert url is not None
            return url
    raise AssertionError(f"evolvekit serve did not start:\n{tail(log_file)}")


def tail(log_file: Path, lines: int = 40) -> str:
    return "\n".join(log_file.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def call_events(call: int) -> list[dict[str, Any]]:
    numbers = range(call * PER_CALL, (call + 1) * PER_CALL)
    return [legacy_event(n, channel="fax" if n % BAD_EVERY == 0 else "chat") for n in numbers]


def post(http: httpx.Client, url: str, call: int) -> list[int] | None:
    """The call's ids, or None when the service did not answer (it was killed)."""
    try:
        answer = http.post(
            f"{url}/ingest", json=call_events(call), headers={"Idempotency-Key": f"call-{call}"}
        )
    except httpx.TransportError:
        return None
    assert answer.status_code == 202, answer.text
    return [r["id"] for r in answer.json()["results"]]


def wait_drained(http: httpx.Client, url: str, log_file: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = http.get(f"{url}/healthz").json()
        if health["pending"] == 0 and health["outbox"] == 0 and health["in_flight"] == 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"not drained: {health}\n{tail(log_file)}")


HOLD_MS = 4000  # how long the simulator holds the first publishes: the kill lands inside


def publishes_started(simulator: str) -> bool:
    return int(httpx.get(f"{simulator}/_simulator/stats").json()["requests"]) > 0


def test_kill_9_then_restart_loses_nothing(tmp_path: Path, simulator_process: str) -> None:
    data = tmp_path / "data"
    log_file = tmp_path / "serve.log"
    # The first publishes hang in the simulator (filling every publish slot), the rest are
    # slow: whenever the kill comes once publishing has begun, accepted events are unfinished.
    spec = ",".join([f"latency={HOLD_MS}"] * 16 + ["latency=15"] * 400)
    httpx.post(f"{simulator_process}/_simulator/faults", json={"spec": spec}).raise_for_status()
    ids: dict[int, list[int]] = {}
    process, url = start_serve(data, simulator_process, log_file)
    try:
        with httpx.Client(timeout=10) as http:
            # Post until publishing is under way (condition-based, bounded), then kill -9.
            for call in range(CALLS // 2):
                answer = post(http, url, call)
                assert answer is not None
                ids[call] = answer
                if call >= 10 and publishes_started(simulator_process):
                    break
            deadline = time.monotonic() + 30
            while not publishes_started(simulator_process):
                assert time.monotonic() < deadline, tail(log_file)
                time.sleep(0.02)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    with IngestLog(data) as log:
        left = log.status_counts()
    assert left.get("pending", 0) > 0, left  # killed mid-run: accepted work was unfinished

    process, url = start_serve(data, simulator_process, log_file)
    try:
        with httpx.Client(timeout=10) as http:
            # The caller retries every call (CXone Studio retries failed calls): the ones
            # answered before the crash come back as duplicates with their original ids.
            for call in range(CALLS):
                answer = post(http, url, call)
                assert answer is not None
                if call in ids:
                    assert answer == ids[call]
                ids[call] = answer
            wait_drained(http, url, log_file)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, tail(log_file)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()

    total = CALLS * PER_CALL
    bad = len(range(0, total, BAD_EVERY))
    all_ids = [i for call_ids in ids.values() for i in call_ids]
    assert len(set(all_ids)) == total
    with IngestLog(data) as log:
        assert log.status_counts() == {"done": total - bad, "dead_letter": bad}
        assert log.dead_letter_count() == bad  # no dead letter written twice
        assert log.outbox_size() == 0
    stored = httpx.get(f"{simulator_process}/_simulator/events").json()
    published = [e["body"]["interactionId"] for e in stored]
    assert len(published) == len(set(published)) == total - bad  # each exactly once
    keys = [e["key"] for e in stored]  # each under its own idempotency key
    assert None not in keys and len(set(keys)) == total - bad
