"""Publishing throughput against a rate-limited simulator: evolvekit vs a tutorial-style client.

    python benchmarks/bench_publish.py [--events 10000] [--rate-limit 500] [--latency-ms 50]

Starts ``evolvekit simulator --rate-limit N`` in a subprocess (real uvicorn, loopback), then
publishes the same events with ``CXoneClient.publish_many`` (adaptive pacing) once per target
(``events``, ``dfo``, ``workitem``: a row each) and with a tutorial-style client (one event
at a time, sleep on 429). For each it prints the throughput after the first second, the share
of requests answered 429, and the ratio. Target (issues 4, 15): >= 90% of the limit with
<= 2% of requests answered 429, for every target.

Then the same on a simulator adding ``--latency-ms`` (50) to every request, as a distant
tenant would: loopback hides the cost of a round trip, and there the sequential tutorial-style
client is latency-bound (at most 1000/MS events/s) while evolvekit, with
``--latency-concurrency`` requests in flight, must still reach >= 90% of the limit.
Between the two, the loopback rows once more on a simulator that keeps its limit to itself
(no ``X-RateLimit-*`` headers), as NICE documents none: the client's pacing has only 429s to
go by (``--no-hidden-run`` skips it). ``--hide-limit`` hides the limit in every run.

Then the client's CPU per event with 8 and 48 requests in flight (no rate limit), through
evolvekit's pool (``ShardedTransport``: 16 httpcore pools of 4 connections) and through one
httpx pool of 64 connections, what the client used before: httpcore walks every connection
of a pool on every request, so one big pool costs more CPU the more requests are in flight
(``--skip-pool`` skips it).

Then, on the same real server, the exactly-once check of issues 4 and 15 in real time, once
per target: 1,000 events (500 pairs of identical ones) through drop-after drops, 503 bursts,
drop-before drops, revoked tokens and a 2-second token lifetime; it prints what was stored,
under how many distinct keys (``idOnExternalPlatform``, ``workItemID``), and how often the
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
import orjson

from evolvekit.cxone.client import CXoneClient
from evolvekit.cxone.config import CXoneConfig
from evolvekit.cxone.pool import ShardedTransport


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_simulator(
    rate_limit: float, *, hide_limit: bool = False, latency_ms: float = 0.0
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
        *(["--latency", str(latency_ms)] if latency_ms else []),
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


def evolvekit_client(
    target: str, concurrency: int
) -> Callable[[str, list[dict[str, Any]], list[float]], Coroutine[Any, Any, None]]:
    async def run(base: str, events: list[dict[str, Any]], done_at: list[float]) -> None:
        config = CXoneConfig.for_simulator(base, target=target)
        async with CXoneClient(config) as cx:
            results = await cx.publish_many(
                events,
                concurrency=concurrency,
                on_progress=lambda d, t, r: done_at.append(time.monotonic()),
            )
        failed = [r for r in results if not r.ok]
        if failed:
            raise SystemExit(f"{len(failed)} events failed: {failed[0].error}")

    return run


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


def published_event(entry: dict[str, Any]) -> Any:
    """The event a stored entry carries: the body itself, or out of a DFO message's text
    or a work item's payload (the default templates put the event there as JSON)."""
    body = entry["body"]
    if entry["target"] == "dfo":
        return orjson.loads(body["messageContent"]["payload"]["text"])
    if entry["target"] == "workitem":
        return orjson.loads(body["workItemPayload"])
    return body


def exactly_once(base: str, rate_limit: float, target: str = "events", count: int = 1000) -> bool:
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
        base, token_skew_seconds=0.5, max_attempts=10, backoff_base=0.05, target=target
    )

    async def run() -> list[Any]:
        async with CXoneClient(config) as cx:
            return await cx.publish_many(events, concurrency=8)

    started = time.monotonic()
    results = asyncio.run(run())
    took = time.monotonic() - started
    entries = httpx.get(f"{base}/_simulator/events").json()
    stored = [published_event(e) for e in entries]
    keys = {e["key"] for e in entries} - {None}  # each stored under its own key
    stats = httpx.get(f"{base}/_simulator/stats").json()
    restore = {"token_ttl": 3600, "rate_limit": rate_limit}
    httpx.post(f"{base}/_simulator/faults", json=restore).raise_for_status()
    pairs = Counter(event["pair"] for event in stored)
    ok = (
        all(r.ok for r in results)
        and len(stored) == len(keys) == count
        and set(pairs.values()) == {2}
        and len(pairs) == count // 2
    )
    refreshes = stats["token_requests"] - 1 - 24  # beyond the first and the 24 revoked
    print(
        f"exactly-once, {target}: {count} events in {took:.1f} s over a real socket: "
        f"{len(stored)} stored under {len(keys)} distinct keys "
        f"({len(pairs)} identical pairs, each stored twice), "
        f"{stats['duplicates_ignored']} re-sent events recognised by their key, "
        f"{stats['faults_injected']} faults, {stats['requests']} requests, "
        f"{stats['token_requests']} token requests ({refreshes} for 2-second expiry): "
        + ("met" if ok else "NOT met")
    )
    return ok


def pool_cpu(base: str, count: int = 3000) -> None:
    """Client CPU per event: the sharded pool against one httpx pool of 64 connections."""
    events = [{"seq": i, "payload": "x" * 200} for i in range(count)]
    config = CXoneConfig.for_simulator(base, rate_limit_initial=1e6, rate_limit_max=1e6)

    def one_pool() -> httpx.AsyncBaseTransport:
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        return httpx.AsyncHTTPTransport(limits=limits)

    async def cpu_per_event(transport: httpx.AsyncBaseTransport, concurrency: int) -> float:
        async with CXoneClient(config, transport=transport) as cx:
            await cx.publish_many(events[:100], concurrency=concurrency)  # warm up
            started = time.process_time()
            results = await cx.publish_many(events, concurrency=concurrency)
            took = time.process_time() - started
        if not all(r.ok for r in results):
            raise SystemExit("pool_cpu: an event failed")
        return took / count * 1e6

    for concurrency in (8, 48):
        httpx.post(f"{base}/_simulator/faults", json={"rate_limit": None}).raise_for_status()
        ours = asyncio.run(cpu_per_event(ShardedTransport(), concurrency))
        theirs = asyncio.run(cpu_per_event(one_pool(), concurrency))
        print(
            f"client CPU per event, {concurrency} in flight, no rate limit: sharded pool "
            f"{ours:.0f} µs, one httpx pool of 64 {theirs:.0f} µs: ratio {theirs / ours:.2f}x"
        )


def verdict(rate: float, share_429: float, rate_limit: float) -> str:
    share = rate / rate_limit
    ok = share >= 0.9 and share_429 <= 0.02
    return f"{share:.1%} of the limit, {share_429:.2%} answered 429: " + (
        "met" if ok else "NOT met"
    )


def throughput_rows(
    base: str,
    events: list[dict[str, Any]],
    args: argparse.Namespace,
    concurrency: int,
    tutorial: tuple[float, float] | None = None,
) -> dict[str, tuple[float, float]]:
    """A row per evolvekit target, and the tutorial-style row unless ``tutorial`` is given
    (its client reads no limit headers, so a row from another run serves as the baseline)."""
    targets = args.targets.split(",")
    rows = {
        target: measure(
            f"evolvekit {target}",
            base,
            events,
            args.rate_limit,
            evolvekit_client(target, concurrency),
        )
        for target in targets
    }
    if tutorial is None:
        tutorial_events = events[: args.tutorial_events] if args.tutorial_events else events
        tutorial = measure(
            "tutorial-style", base, tutorial_events, args.rate_limit, tutorial_client
        )
    rows["tutorial-style"] = tutorial
    for target in targets:
        rate, share_429 = rows[target]
        ratio = rate / max(tutorial[0], 1e-9)
        print(
            f"  {target:>8}: ratio evolvekit / tutorial-style {ratio:.2f}x; "
            f"target >= 90%, <= 2% 429: {verdict(rate, share_429, args.rate_limit)}"
        )
    return rows


def hidden_run(
    events: list[dict[str, Any]], args: argparse.Namespace, tutorial: tuple[float, float]
) -> None:
    """The evolvekit rows against a simulator that states no limit."""
    process, base = start_simulator(args.rate_limit, hide_limit=True)
    try:
        print(f"--- loopback simulator {base} stating no limit (pacing from 429s alone)")
        throughput_rows(base, events, args, args.concurrency, tutorial)
    finally:
        process.terminate()
        process.wait(timeout=10)


def latency_run(events: list[dict[str, Any]], args: argparse.Namespace) -> None:
    """The same rows against a simulator adding ``--latency-ms`` to every request."""
    process, base = start_simulator(
        args.rate_limit, hide_limit=args.hide_limit, latency_ms=args.latency_ms
    )
    try:
        print(
            f"--- simulator {base} adding {args.latency_ms:g} ms to every request; "
            f"evolvekit concurrency {args.latency_concurrency}, the tutorial-style client "
            f"sends {args.latency_tutorial_events} events"
        )
        args.tutorial_events = args.latency_tutorial_events
        throughput_rows(base, events, args, args.latency_concurrency)
    finally:
        process.terminate()
        process.wait(timeout=10)


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
        "--targets", default="events,dfo,workitem", help="evolvekit rows (events,dfo,workitem)"
    )
    parser.add_argument(
        "--latency-ms", type=float, default=50.0, help="the latency run's delay (50; 0 = skip)"
    )
    parser.add_argument(
        "--latency-concurrency",
        type=int,
        default=48,
        help="publish_many's concurrency in the latency run (48: limit x latency, with room)",
    )
    parser.add_argument(
        "--latency-tutorial-events",
        type=int,
        default=600,
        help="events the latency-bound tutorial-style client sends (600; it is slow)",
    )
    parser.add_argument(
        "--skip-throughput", action="store_true", help="run only the exactly-once check"
    )
    parser.add_argument(
        "--skip-pool", action="store_true", help="skip the client-CPU comparison of pools"
    )
    parser.add_argument(
        "--no-hidden-run",
        action="store_true",
        help="skip the rows against a simulator that states no limit",
    )
    args = parser.parse_args()
    events = [
        {"eventType": "interaction.completed", "seq": i, "agentId": f"a{i % 50}"}
        for i in range(args.events)
    ]
    print(f"{args.events} events, rate limit {args.rate_limit:g} req/s, {os.cpu_count()} CPUs")
    process, base = start_simulator(args.rate_limit, hide_limit=args.hide_limit)
    try:
        print(f"--- loopback simulator {base}")
        if args.skip_throughput:
            met = [exactly_once(base, args.rate_limit, t) for t in args.targets.split(",")]
            return 0 if all(met) else 1
        args.tutorial_events = 0
        rows = throughput_rows(base, events, args, args.concurrency)
        if not args.skip_pool:
            pool_cpu(base)
        for target in args.targets.split(","):
            exactly_once(base, args.rate_limit, target)
    finally:
        process.terminate()
        process.wait(timeout=10)
    if not (args.no_hidden_run or args.hide_limit):
        hidden_run(events, args, rows["tutorial-style"])
    if args.latency_ms:
        latency_run(events, args)
    print(f"(client and simulator share {os.cpu_count()} CPUs with whatever else runs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
