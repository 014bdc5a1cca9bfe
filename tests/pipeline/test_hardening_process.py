"""Issue 11 against a real ``evolvekit serve`` process on loopback: no secret in any log
line at ``-vv`` or any file of the data directory, and slow clients cannot hold up others."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from evolvekit.pipeline.config import IngestSettings

from ..support.servers import RULES, SCHEMAS, legacy_event
from .test_crash import _read_ingest_url

INGEST_TOKEN = "CANARY-ingest-6d1c9e"
BROADCAST_TOKEN = "CANARY-broadcast-2b7f04"
CXONE_SECRET = "CANARY-cxone-a93e51"
CANARIES = (INGEST_TOKEN, BROADCAST_TOKEN, CXONE_SECRET)
SLOW_CLIENTS = 200


def serve(
    tmp_path: Path, *extra: str, env: dict[str, str] | None = None, verbose: bool = False
) -> tuple[subprocess.Popen[str], str, Path]:
    """``evolvekit serve`` on ephemeral loopback ports: (process, ingest URL, stderr file)."""
    log_file = tmp_path / "serve.log"
    argv = [sys.executable, "-m", "evolvekit", *(["-vv"] if verbose else []), "serve"]
    argv += ["--port", "0", "--broadcast-port", "0", "--data-dir", str(tmp_path / "data")]
    argv += ["--schemas", str(SCHEMAS), "--rules-dir", str(RULES), *extra]
    with log_file.open("a", encoding="utf-8") as stderr:
        process = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, **(env or {})},
        )
    try:
        return process, _read_ingest_url(process, log_file), log_file
    except BaseException:
        process.kill()
        process.wait()
        raise


def stop(process: subprocess.Popen[str]) -> None:
    """SIGTERM, bounded wait (stdout is drained by the start-up reader's thread)."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def _exercise_secrets(ingest: str, consumers: str) -> None:
    """Every path a secret travels: ingest bearer token (right and wrong), broadcast token
    in the query and in the header, a refused handshake carrying a token."""
    bearer = {"Authorization": f"Bearer {INGEST_TOKEN}"}
    async with httpx.AsyncClient(base_url=ingest, timeout=10) as http:
        assert (await http.post("/ingest", json=legacy_event(1), headers=bearer)).status_code == 202
        wrong = await http.post("/ingest", json=legacy_event(2), headers={"Authorization": "x"})
        assert wrong.status_code == 401
    async with connect(f"{consumers}?token={BROADCAST_TOKEN}&since=0", open_timeout=10) as ws:
        await asyncio.wait_for(ws.recv(), 30)  # the resume frame
    auth = {"Authorization": f"Bearer {BROADCAST_TOKEN}"}
    async with connect(consumers, additional_headers=auth, open_timeout=10):
        pass
    with pytest.raises(InvalidStatus):
        async with connect(f"{consumers}?token={BROADCAST_TOKEN}&version=9.9.9", open_timeout=10):
            pass


def test_no_secret_in_logs_at_debug_level_or_in_the_data_dir(
    tmp_path: Path, simulator_process: str
) -> None:
    env = {
        "EVOLVEKIT_INGEST_TOKEN": INGEST_TOKEN,
        "EVOLVEKIT_BROADCAST_TOKENS": BROADCAST_TOKEN,
        "CXONE_CLIENT_ID": "evolvekit-tests",
        "CXONE_CLIENT_SECRET": CXONE_SECRET,
    }
    process, ingest, log_file = serve(
        tmp_path, "--cxone-base-url", simulator_process, env=env, verbose=True
    )
    try:
        consumers = _broadcast_url_from(log_file)
        asyncio.run(_exercise_secrets(ingest, consumers))
        _wait_published(simulator_process)
    finally:
        stop(process)
    text = log_file.read_text(encoding="utf-8", errors="replace")
    assert "< GET /?token=***" in text  # websockets did log the request line: redacted
    leaks = [c for c in CANARIES if c in text]
    assert not leaks, f"secrets in the log: {leaks}"
    for file in (tmp_path / "data").rglob("*"):
        if file.is_file():
            data = file.read_bytes()
            assert not [c for c in CANARIES if c.encode() in data], file


def _broadcast_url_from(log_file: Path) -> str:
    # The broadcaster logs its URL at info level (the run is at -vv).
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for line in log_file.read_text(encoding="utf-8", errors="replace").splitlines():
            if "broadcasting on ws://" in line:
                return line.split("broadcasting on ")[1].split()[0]
        time.sleep(0.05)
    raise AssertionError("the broadcaster's URL never appeared in the log")


def _wait_published(simulator: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if httpx.get(f"{simulator}/_simulator/stats").json()["stored"] >= 1:
            return
        time.sleep(0.05)
    raise AssertionError("the event never reached the simulator")


@pytest.fixture
def slow_sockets() -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    yield opened
    for sock in opened:
        sock.close()


def test_slow_clients_cannot_block_a_normal_post(
    tmp_path: Path, slow_sockets: list[socket.socket]
) -> None:
    config = tmp_path / "evolvekit.toml"
    config.write_text("[ingest]\nbody_timeout = 3\n", encoding="utf-8")
    process, ingest, _log_file = serve(tmp_path, "--config", str(config), "--sinks", "broadcast")
    try:
        host, port = ingest.removeprefix("http://").rsplit(":", 1)
        head = (
            b"POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100000\r\n\r\n{"
        )
        for _ in range(SLOW_CLIENTS):  # each promises 100 KB and sends one byte
            sock = socket.create_connection((host, int(port)), timeout=10)
            sock.sendall(head)
            slow_sockets.append(sock)
        stop_trickling = threading.Event()

        def trickle() -> None:  # a byte per client per second, like the attack
            while not stop_trickling.wait(1.0):
                for sock in slow_sockets:
                    with contextlib.suppress(OSError):
                        sock.send(b" ")

        threading.Thread(target=trickle, daemon=True).start()
        with httpx.Client(base_url=ingest, timeout=10) as http:
            timings = []
            for n in range(5):
                started = time.monotonic()
                answer = http.post("/ingest", json=legacy_event(n))
                timings.append(time.monotonic() - started)
                assert answer.status_code == 202, answer.text
        assert max(timings) < 1.0, timings
        # ... and the slow ones are cut off after body_timeout with a 408.
        first = slow_sockets[0]
        first.settimeout(30)
        assert first.recv(100).startswith(b"HTTP/1.1 408")
        stop_trickling.set()
    finally:
        stop(process)


async def test_the_connection_cap_is_enforced(make_service: object) -> None:
    async with make_service(  # type: ignore[operator]
        ingest=IngestSettings(port=0, max_connections=20)
    ) as service:
        writers = []
        for _ in range(25):
            _, writer = await asyncio.open_connection("127.0.0.1", service.ingest_port)
            writer.write(b"POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n{")
            writers.append(writer)
        statuses: list[int] = []
        async with httpx.AsyncClient(base_url=service.ingest_url) as http:

            async def refused() -> bool:
                statuses.append((await http.post("/ingest", json=legacy_event(1))).status_code)
                return statuses[-1] == 503

            for _ in range(100):  # bounded: the server registers the 25 as it accepts them
                if await refused():
                    break
                await asyncio.sleep(0.05)
        for writer in writers:
            writer.close()
    assert statuses[-1] == 503, statuses


async def test_headers_that_never_finish_are_cut_off(make_service: object) -> None:
    async with make_service(  # type: ignore[operator]
        ingest=IngestSettings(port=0, body_timeout=0.5)
    ) as service:
        silent = await asyncio.open_connection("127.0.0.1", service.ingest_port)
        partial = await asyncio.open_connection("127.0.0.1", service.ingest_port)
        partial[1].write(b"POST /ingest HTTP/1.1\r\nHost: x\r\nContent-Ty")
        kept_alive = await asyncio.open_connection("127.0.0.1", service.ingest_port)
        reader, writer = kept_alive
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert (await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)).startswith(
            b"HTTP/1.1 200"
        )
        writer.write(b"GET /healthz HTTP/1.1\r\nHo")  # a second request that stalls
        for conn_reader, _ in (silent, partial):
            assert await asyncio.wait_for(conn_reader.read(), 10) == b""  # closed by the server
        rest = await asyncio.wait_for(reader.read(), 10)
        assert rest.endswith(b"}") or rest == b""  # the first body, then closed
        async with httpx.AsyncClient(base_url=service.ingest_url) as http:  # others unharmed
            assert (await http.post("/ingest", json=legacy_event(1))).status_code == 202
        for _, conn_writer in (silent, partial, kept_alive):
            conn_writer.close()
