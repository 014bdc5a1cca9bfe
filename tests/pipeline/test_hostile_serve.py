"""Issue 11's ReDoS repro against a real ``evolvekit serve``: a rule with a catastrophic-
backtracking pattern and ONE hostile event. The service answers /healthz, dead-letters the
event, and stops on SIGTERM. Timeouts here are hang guards, never speed assertions."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from evolvekit.pipeline.ingest_log import IngestLog

from ..support.servers import RULES, SCHEMAS, SUBJECT, legacy_event
from .test_crash import _read_ingest_url, tail


def _hostile_rules(tmp_path: Path) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    path = rules / SUBJECT / "1.0.0_to_2.0.0.yaml"
    path.write_text(
        path.read_text() + "  - {from: note, to: noteCode, transform: {name: regex, "
        'pattern: "^([a-z]+)+[0-9]$"}}\n'
    )
    return rules


def test_one_hostile_event_neither_freezes_nor_outlives_sigterm(tmp_path: Path) -> None:
    data_dir, log_file = tmp_path / "data", tmp_path / "serve.log"
    argv = ["serve", "--port", "0", "--broadcast-port", "0", "--data-dir", str(data_dir)]
    argv += ["--schemas", str(SCHEMAS), "--rules-dir", str(_hostile_rules(tmp_path))]
    with log_file.open("a", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            [sys.executable, "-m", "evolvekit", *argv],
            stdout=subprocess.PIPE, stderr=stderr, text=True, env=dict(os.environ),
        )  # fmt: skip
    try:
        url = _read_ingest_url(process, log_file)
        with httpx.Client(base_url=url, timeout=10) as http:
            hostile = legacy_event(1, note="a" * 40 + "!")
            assert http.post("/ingest", json=hostile).status_code == 202
            assert http.post("/ingest", json=legacy_event(2)).status_code == 202
            deadline = time.monotonic() + 60
            while (health := http.get("/healthz").json())["pending"] or health["in_flight"]:
                assert time.monotonic() < deadline, f"not drained: {health}\n{tail(log_file)}"
                time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, tail(log_file)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
    with IngestLog(data_dir) as store:
        [letter] = store.dead_letters()
        assert store.counts()["done"] == 1
    assert letter["stage"] == "migrate" and letter["event"]["interactionId"] == "INT-1"
    assert "does not match '^([a-z]+)+[0-9]$'" in letter["reason"]
