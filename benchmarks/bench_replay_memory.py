"""Resident memory of ``evolvekit serve`` fed 12,000 events of 30 KB (issue 11): the replay
ring bounded in bytes (``[broadcast] replay_bytes``, 64 MiB by default) vs the same service
with the ring bounded by event count only (what main did: ``replay_bytes`` set out of reach).

    python benchmarks/bench_replay_memory.py                   # 12,000 x 30 KB, both modes
    python benchmarks/bench_replay_memory.py --events 3000     # quicker look

Each mode starts its own ``evolvekit serve`` process (sinks: broadcast only, so CXone
publishing costs nothing and holds nothing) with one WebSocket consumer pinned to 3.0.0
(each event then costs its payload plus one migrated frame in the ring). Events are posted
in batches of 100; when nothing is pending any more, the process's VmRSS and VmHWM (peak)
are read from /proc. Printed: the resident memory at start, after the run, the peak, and the
ratio of the count-bounded peak to the byte-bounded one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import connect

REPO = Path(__file__).resolve().parents[1]
MIB = 1024 * 1024


def event(n: int, size: int) -> dict[str, Any]:
    return {
        "eventType": "interaction.completed",
        "customerId": f"C{n}",
        "interactionId": f"INT-{n}",
        "agentEmail": f"agent{n}@x.com",
        "callDuration": n % 600,
        "notes": "x" * size,
    }


def rss_kib(pid: int) -> dict[str, int]:
    text = Path(f"/proc/{pid}/status").read_text()
    return {k: int(re.search(rf"{k}:\s+(\d+)", text)[1]) for k in ("VmRSS", "VmHWM")}  # type: ignore[index]


def start(work: Path, replay_bytes: int) -> tuple[subprocess.Popen[str], str, str]:
    config = work / "evolvekit.toml"
    config.write_text(
        f'data_dir = "{work / "data"}"\n[ingest]\nport = 0\n'
        f"[broadcast]\nport = 0\nreplay_bytes = {replay_bytes}\n"
        '[pipeline]\nsinks = ["broadcast"]\n',
        encoding="utf-8",
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "evolvekit", "serve", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=REPO,
    )
    ingest = consumers = ""
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("ingest"):
            ingest = line.split()[1].removesuffix("/ingest")
        elif line.startswith("consumers"):
            consumers = line.split()[1].split("?")[0]
        elif line.strip() == "ready":
            return process, ingest, consumers
    raise SystemExit("evolvekit serve did not start")


async def feed(ingest: str, consumers: str, events: int, size: int) -> int:
    received = 0

    async def consume() -> None:
        nonlocal received
        url = f"{consumers}?subject=interaction.completed&version=3.0.0"
        async with connect(url, max_size=None) as ws:
            async for _ in ws:
                received += 1

    reader = asyncio.create_task(consume())
    await asyncio.sleep(0.5)
    async with httpx.AsyncClient(base_url=ingest, timeout=120) as http:
        for first in range(0, events, 100):
            batch = [event(n, size) for n in range(first, min(first + 100, events))]
            answer = await http.post("/ingest", json=batch)
            answer.raise_for_status()
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            health = (await http.get("/healthz")).json()
            if health["pending"] == 0 and health["in_flight"] == 0:
                break
            await asyncio.sleep(0.5)
    await asyncio.sleep(1.0)
    reader.cancel()
    return received


def run(replay_bytes: int, events: int, size: int) -> dict[str, int]:
    with tempfile.TemporaryDirectory() as tmp:
        process, ingest, consumers = start(Path(tmp), replay_bytes)
        try:
            before = rss_kib(process.pid)
            received = asyncio.run(feed(ingest, consumers, events, size))
            after = rss_kib(process.pid)
        finally:
            process.terminate()
            process.wait(timeout=60)
    return {
        "start": before["VmRSS"],
        "end": after["VmRSS"],
        "peak": after["VmHWM"],
        "received": received,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=12_000)
    parser.add_argument("--size", type=int, default=30_000, help="bytes of each event's notes")
    parser.add_argument("--replay-bytes", type=int, default=64 * MIB)
    args = parser.parse_args()
    print(
        f"{args.events} events of ~{args.size // 1000} KB, one consumer at 3.0.0, "
        f"replay_size 10000; machine: {os.cpu_count()} cores"
    )
    bounded = run(args.replay_bytes, args.events, args.size)
    baseline = run(2**62, args.events, args.size)  # count-bounded only: main's behaviour
    for name, r in (("replay_bytes 64 MiB", bounded), ("count only (main)", baseline)):
        print(
            f"{name:<22} start {r['start'] / 1024:7.1f} MiB  end {r['end'] / 1024:7.1f} MiB"
            f"  peak {r['peak'] / 1024:7.1f} MiB  frames received {r['received']}"
        )
    growth = (bounded["peak"] - bounded["start"]) / 1024
    print(
        f"byte-bounded peak growth over start: {growth:.1f} MiB "
        f"(replay_bytes {args.replay_bytes / MIB:.0f} MiB)"
    )
    print(f"ratio count-only peak / byte-bounded peak: {baseline['peak'] / bounded['peak']:.2f}x")


if __name__ == "__main__":
    main()
