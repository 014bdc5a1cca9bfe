"""Cluster mode end to end: events/s with 1, 2 and 3 worker processes on Redis Streams, and
the same load on the single-node SQLite service (the baseline), in the same run.

Every configuration gets a fresh ``evolvekit simulator --latency MS`` (each CXone request
waits MS milliseconds, as a distant tenant would) and a fresh store (redis-server in a
temporary directory, ``appendonly yes``, ``appendfsync always``; or a fresh SQLite data
directory). This process posts EVENTS events in batches to the ingest node and measures from
the first post until the simulator stored the last event. Cluster runs: one ingest node and
N worker nodes (``evolvekit serve --redis URL --role ingest|worker``).

Goals (issue 16): 3 workers >= 2.5x one worker; one Redis worker >= 0.8x single-node SQLite.

    python benchmarks/bench_cluster.py [--events 3000] [--latency 20] [--batch 50]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from _load import CREDENTIALS, free_port, legacy_event, serve_args, stop_process, wait_up


class Processes:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.started: list[subprocess.Popen[str]] = []

    def start(self, args: list[str], name: str) -> subprocess.Popen[str]:
        log = (self.tmp / f"{name}.log").open("a")
        process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=log, text=True, env=dict(os.environ, **CREDENTIALS)
        )
        log.close()
        self.started.append(process)
        return process

    def stop(self) -> None:
        for process in reversed(self.started):
            stop_process(process)


def ready_http(process: subprocess.Popen[str]) -> str:
    """The ingest/http URL a serve process prints before ``ready``."""
    assert process.stdout is not None
    url = ""
    for line in process.stdout:
        words = line.split()
        if words and words[0] in ("ingest", "http"):
            url = words[1].removesuffix("/ingest")
        if line.strip() == "ready":
            return url
    raise RuntimeError("serve exited before it was ready")


async def drive(ingest: str, sim: str, events: int, batch: int) -> float:
    """Post every event (4 posters, ``batch`` a call); events/s first post -> last stored."""
    calls = [list(range(i, min(i + batch, events))) for i in range(0, events, batch)]
    work = iter(calls)
    start = time.perf_counter()

    async def poster(http: httpx.AsyncClient) -> None:
        for call in work:
            body = [legacy_event(n) for n in call]
            response = await http.post(f"{ingest}/ingest", json=body)
            assert response.status_code == 202, response.text

    async with httpx.AsyncClient(timeout=60) as http:
        await asyncio.gather(*(poster(http) for _ in range(4)))
        while (await http.get(f"{sim}/_simulator/stats")).json()["stored"] < events:
            await asyncio.sleep(0.02)
    return events / (time.perf_counter() - start)


def run_one(workers: int | None, events: int, latency: float, batch: int) -> float:
    """events/s for ``workers`` worker processes on Redis, or single-node SQLite (None)."""
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as name:
        tmp = Path(name)
        procs = Processes(tmp)
        try:
            port = free_port()
            procs.start(
                [sys.executable, "-m", "evolvekit", "simulator", "--port", str(port),
                 "--latency", str(latency)],
                "simulator",
            )  # fmt: skip
            sim = f"http://127.0.0.1:{port}"
            wait_up(f"{sim}/_simulator/stats")
            if workers is None:
                node = procs.start(serve_args(sim, "--data-dir", str(tmp / "data")), "single")
                ingest = ready_http(node)
            else:
                ingest = start_cluster(procs, tmp, sim, workers)
            return asyncio.run(drive(ingest, sim, events, batch))
        finally:
            procs.stop()


def start_cluster(procs: Processes, tmp: Path, sim: str, workers: int) -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed: apt-get install -y redis-server")
    port = free_port()
    procs.start(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(tmp),
         "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
        "redis",
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 20
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    ingest_node = procs.start(serve_args(sim, "--redis", url, "--role", "ingest"), "ingest")
    nodes = [
        procs.start(serve_args(sim, "--redis", url, "--role", "worker"), f"worker-{i}")
        for i in range(workers)
    ]
    ingest = ready_http(ingest_node)
    for node in nodes:
        ready_http(node)
    return ingest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--latency", type=float, default=20.0, help="ms per CXone request")
    parser.add_argument("--batch", type=int, default=50, help="events per ingest call")
    args = parser.parse_args()
    print(f"{args.events} events, CXone latency {args.latency:g} ms, batches of {args.batch}")
    rates: dict[str, float] = {}
    for label, workers in (("sqlite", None), ("redis-1", 1), ("redis-2", 2), ("redis-3", 3)):
        rates[label] = run_one(workers, args.events, args.latency, args.batch)
        print(f"  {label:<8} {rates[label]:8.0f} events/s", flush=True)
    print(f"3 workers / 1 worker:       {rates['redis-3'] / rates['redis-1']:.2f}x (goal >= 2.5)")
    print(f"2 workers / 1 worker:       {rates['redis-2'] / rates['redis-1']:.2f}x")
    print(f"1 Redis worker / SQLite:    {rates['redis-1'] / rates['sqlite']:.2f}x (goal >= 0.8)")


if __name__ == "__main__":
    main()
