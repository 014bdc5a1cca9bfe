"""Publishing throughput against a rate-limited simulator: evolvekit vs a tutorial-style client.

    python benchmarks/bench_publish.py [--events 10000] [--rate-limit 500]

Starts ``evolvekit simulator --rate-limit N`` in a subprocess (real uvicorn, loopback), then
publishes the same events twice: with ``CXoneClient.publish_many`` (adaptive pacing) and with
a tutorial-style client (one event at a time, sleep on 429). For each it prints the
throughput after the first second, the share of requests answered 429, and the ratio.
Target (issue 4): >= 90% of the limit with <= 2% of requests answered 429.
``--hide-limit`` makes the simulator keep its limit to itself (no ``X-RateLimit-*``
headers), so the client's pacing has only 429s to go by.

Then, on the same real server, the exactly-once check of issue 4 in real time: 1,000 events
(500 pairs of identical ones) through drop-after drops, 503 bursts, drop-before drops,
revoked tokens and a 2-second token lifetime; it prints what was stored and how often the
token was refreshed. ``--skip-throughput`` runs only that.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from typing import Any

import httpx

from evolvekit.cxone.client import CXoneClient
from evolvekit.cxone.config import CXoneConfig


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_simulator(
    rate_limit: float, *, hide_limit: bool = False
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "evolvekit",
        "simulator",
        "--port",
        str(port),
        "--rate-limit",
        str(rate_limit),
        *(["--no-limit-headers"] if hide_limit else []),
    ]
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/_simulator/stats", timeout=1).raise_for_status()
            return process, base
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("simulator did not start")


CONCURRENCY = 8  # set from --concurrency


async def evolvekit_client(base: str, events: list[dict[str, Any]], done_at: list[float]) -> None:
    config = CXoneConfig.for_simulator(base)
    async with CXoneClient(config) as cx:
        results = await cx.publish_many(
            events,
            concurrency=CONCURRENCY,
            on_progress=lambda d, t, r: done_at.append(time.monotonic()),
        )
    failed = [r for r in results if not r.ok]
    if failed:
        raise SystemExit(f"{len(failed)} events failed: {failed[0].error}")


async def tutorial_client(base: str, events: list[dict[str, Any]], done_at: list[float]) -> None:
    """The tutorial's shape: one event at a time; on 429 sleep Retry-After (or 2**attempt)."""
    async with httpx.AsyncClient(base_url=base) as http:
        token = (
            await http.post(
                "/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": "bench",
                    "client_secret": "bench",
                    "scope": "events:ingest events:read",
                },
            )
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        for event in events:
            for attempt in range(5):
                response = await http.post("/api/v2/events", json=event, headers=headers)
                if response.status_code == 429:
                    await asyncio.sleep(float(response.headers.get("Retry-After", 2**attempt)))
                    continue
                response.raise_for_status()
                done_at.append(time.monotonic())
                break


def measure(
    name: str,
    base: str,
    events: list[dict[str, Any]],
    rate_limit: float,
    run: Callable[[str, list[dict[str, Any]], list[float]], Coroutine[Any, Any, None]],
) -> tuple[float, float]:
    httpx.post(f"{base}/_simulator/reset").raise_for_status()
    done_at: list[float] = []
    started = time.monotonic()
    asyncio.run(run(base, events, done_at))
    ended = time.monotonic()
    stats = httpx.get(f"{base}/_simulator/stats").json()
    after_first = [t for t in done_at if t > started + 1.0]
    rate = len(after_first) / max(1e-9, ended - (started + 1.0))
    share_429 = stats["throttled"] / max(1, stats["requests"])
    print(
        f"{name:>20}: {len(done_at)} events in {ended - started:6.2f} s; after the first "
        f"second {rate:7.1f} events/s = {rate / rate_limit:6.1%} of the limit; "
        f"429 answers {stats['throttled']} of {stats['requests']} requests "
        f"({share_429:.2%}); stored {stats['stored']}"
    )
    return rate, share_429


def exactly_once(base: str, rate_limit: float, count: int = 1000) -> bool:
    """At-least-once delivery, exactly-once effect, over a real socket in real time."""
    passing = ["latency=0"] * 4  # requests that pass untouched, spacing the faults out
    block = ["drop-after", *passing, "503x2", *passing, "expire-token", *passing, *passing]
    block += ["drop-before", *passing]
    spec = ",".join(block * 24)
    httpx.post(f"{base}/_simulator/reset").raise_for_status()
    # 100 requests/s stretches the run to about ten seconds: several 2-second token lifetimes.
    settings = {"spec": spec, "token_ttl": 2, "rate_limit": 100}
    httpx.post(f"{base}/_simulator/faults", json=settings).raise_for_status()
    events = [{"pair": i // 2, "payload": "same"} for i in range(count)]
    config = CXoneConfig.for_simulator(
        base, token_skew_seconds=0.5, max_attempts=10, backoff_base=0.05
    )

    async def run() -> list[Any]:
        async with CXoneClient(config) as cx:
            return await cx.publish_many(events, concurrency=8)

    started = time.monotonic()
    results = asyncio.run(run())
    took = time.monotonic() - started
    stored = httpx.get(f"{base}/_simulator/events").json()
    stats = httpx.get(f"{base}/_simulator/stats").json()
    restore = {"token_ttl": 3600, "rate_limit": rate_limit}
    httpx.post(f"{base}/_simulator/faults", json=restore).raise_for_status()
    pairs = Counter(event["pair"] for event in stored)
    ok = (
        all(r.ok for r in results)
        and len(stored) == count
        and set(pairs.values()) == {2}
        and len(pairs) == count // 2
    )
    refreshes = stats["token_requests"] - 1 - 24  # beyond the first and the 24 revoked
    print(
        f"exactly-once: {count} events in {took:.1f} s over a real socket: {len(stored)} stored "
        f"({len(pairs)} identical pairs, each stored twice), "
        f"{stats['duplicates_ignored']} re-sent events recognised by their key, "
        f"{stats['faults_injected']} faults, {stats['requests']} requests, "
        f"{stats['token_requests']} token requests ({refreshes} for 2-second expiry): "
        + ("met" if ok else "NOT met")
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rate-limit", type=float, default=500.0)
    parser.add_argument(
        "--hide-limit",
        action="store_true",
        help="the simulator does not state its limit: pure AIMD pacing from 429s",
    )
    parser.add_argument("--concurrency", type=int, default=8, help="publish_many's (8)")
    parser.add_argument(
        "--skip-throughput", action="store_true", help="run only the exactly-once check"
    )
    args = parser.parse_args()
    global CONCURRENCY
    CONCURRENCY = args.concurrency
    events = [
        {"eventType": "interaction.completed", "seq": i, "agentId": f"a{i % 50}"}
        for i in range(args.events)
    ]
    process, base = start_simulator(args.rate_limit, hide_limit=args.hide_limit)
    try:
        print(
            f"simulator {base}, rate limit {args.rate_limit:g} req/s, {args.events} events, "
            f"{os.cpu_count()} CPUs"
        )
        if args.skip_throughput:
            return 0 if exactly_once(base, args.rate_limit) else 1
        ours, ours_429 = measure("evolvekit", base, events, args.rate_limit, evolvekit_client)
        theirs, _ = measure("tutorial-style", base, events, args.rate_limit, tutorial_client)
        print(f"ratio evolvekit / tutorial-style: {ours / max(theirs, 1e-9):.2f}x")
        share = ours / args.rate_limit
        print(
            f"target (>= 90% of the limit, <= 2% answered 429): {share:.1%} and {ours_429:.2%}: "
            + ("met" if share >= 0.9 and ours_429 <= 0.02 else "NOT met")
            + f" (client and simulator share {os.cpu_count()} CPUs with whatever else runs)"
        )
        exactly_once(base, args.rate_limit)
    finally:
        process.terminate()
        process.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
