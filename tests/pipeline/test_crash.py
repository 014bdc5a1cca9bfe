"""The crash test: a real ``evolvekit serve`` killed with SIGKILL in the middle of a run and
restarted on the same data directory ends with the counts of a run that never crashed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx

from evolvekit.pipeline.ingest_log import IngestLog

from .conftest import RULES, SCHEMAS, SIMULATOR_ENV, legacy_event

CALLS = 80  # calls of 8 events: 640 events
PER_CALL = 8
BAD_EVERY = 41  # events the rules cannot map: dead letters


def start_serve(data_dir: Path, simulator: str) -> tuple[subprocess.Popen[str], str]:
    env = dict(os.environ, **SIMULATOR_ENV)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "evolvekit",
            "serve",
            "--port",
            "0",
            "--broadcast-port",
            "0",
            "--data-dir",
            str(data_dir),
            "--cxone-base-url",
            simulator,
            "--schemas",
            str(SCHEMAS),
            "--rules-dir",
            str(RULES),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    url = _read_ingest_url(process.stdout)
    return process, url


def _read_ingest_url(stdout: IO[str] | None) -> str:
    assert stdout is not None
    url = None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = stdout.readline()
        if not line:
            break
        found = re.match(r"ingest\s+(http://\S+)/ingest", line)
        if found:
            url = found[1]
        if line.strip() == "ready":
            assert url is not None
            return url
    raise AssertionError("evolvekit serve did not start")


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


def wait_drained(http: httpx.Client, url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        health = http.get(f"{url}/healthz").json()
        if health["pending"] == 0 and health["outbox"] == 0 and health["in_flight"] == 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"not drained: {health}")


def test_kill_9_then_restart_loses_nothing(tmp_path: Path, simulator_process: str) -> None:
    data = tmp_path / "data"
    # Slow CXone down so that the kill finds events accepted but not yet published.
    httpx.post(
        f"{simulator_process}/_simulator/faults", json={"spec": ",".join(["latency=15"] * 400)}
    ).raise_for_status()
    ids: dict[int, list[int]] = {}
    process, url = start_serve(data, simulator_process)
    try:
        with httpx.Client(timeout=10) as http:
            for call in range(CALLS // 2):
                answer = post(http, url, call)
                assert answer is not None
                ids[call] = answer
            stored_before = len(httpx.get(f"{simulator_process}/_simulator/events").json())
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert stored_before < (CALLS // 2) * PER_CALL  # killed mid-run, work was left over

    process, url = start_serve(data, simulator_process)
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
            wait_drained(http, url)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
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
    published = [e["interactionId"] for e in stored]
    assert len(published) == len(set(published)) == total - bad  # each exactly once
