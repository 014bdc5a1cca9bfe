"""The pipeline service, end to end and in-process, against straightforward baselines.

1. End to end on loopback: ``evolvekit serve`` and ``evolvekit simulator`` as separate
   processes, this process posting events to ``/ingest`` (raw HTTP/1.1 keep-alive, so the
   client costs little) while the simulator injects the fault test's mix (429, 503, token
   revocation, dropped connections) and two consumers pinned to 1.0.0 and 3.0.0 listen.
   Reports events/s from the first post to the last publish, and p50/p99 latency from the
   202 to the event being stored by the simulated CXone (polled every 10 ms) and to the
   consumers.
2. In-process, no HTTP: raw JSON events -> evolvekit's Pipeline (detect, migrate, validate)
   -> Broadcaster with 4 WebSocket consumers, compared in the same run with a tutorial-style
   loop: json + jsonschema (a validator built per event, as the tutorial does) + a naive
   dot-path mapping + a serial ``await client.send`` to each consumer.

    python benchmarks/bench_pipeline.py [--events 10000] [--inproc-events 3000]
        [--paced-events 1500 --paced-rate 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
from _load import (
    CREDENTIALS,
    RULES,
    SCHEMAS,
    SUBJECT,
    free_port,
    legacy_event,
    serve_args,
    stop_process,
    wait_up,
)

TIMESTAMP = "2024-01-15T10:30:00Z"  # on every event posted
FAULTS = ("429", "503", "expire-token", "drop-before", "drop-after", "503x3", "429x2")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class RawHTTP:
    """One keep-alive HTTP/1.1 connection: enough for POST /ingest, cheap on the client."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> RawHTTP:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def post(self, path: str, body: bytes, key: str) -> tuple[int, bytes]:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
            f"Idempotency-Key: {key}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        self.writer.write(head.encode() + body)
        status = int((await self.reader.readline()).split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


# --- 1. end to end ---------------------------------------------------------------------------


def start_processes(tmp: Path) -> tuple[list[subprocess.Popen[str]], str, str, str]:
    sim_port = free_port()
    simulator = subprocess.Popen(
        [sys.executable, "-m", "evolvekit", "simulator", "--port", str(sim_port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    sim_url = f"http://127.0.0.1:{sim_port}"
    wait_up(f"{sim_url}/_simulator/stats")
    config = tmp / "evolvekit.toml"
    config.write_text(
        "[pipeline]\nconcurrency = 256\npublish_concurrency = 8\noutbox_interval = 0.05\n"
        "outbox_backoff_base = 0.05\n"
        "outbox_backoff_cap = 0.5\n"
        "[cxone]\nmax_attempts = 4\nbackoff_base = 0.01\nbackoff_cap = 0.1\n"
        "rate_limit_initial = 5000\nrate_limit_min = 1000\nrate_limit_max = 20000\n",
        encoding="utf-8",
    )
    serve = subprocess.Popen(
        serve_args(sim_url, "--config", str(config), "--data-dir", str(tmp / "data")),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=dict(os.environ, **CREDENTIALS),
    )
    assert serve.stdout is not None
    ingest = consumers = ""
    for line in serve.stdout:
        if found := re.match(r"ingest\s+(http://\S+)/ingest", line):
            ingest = found[1]
        if found := re.match(r"consumers\s+(ws://\S+/)\?", line):
            consumers = found[1]
        if line.strip() == "ready":
            break
    if not ingest:
        raise SystemExit("evolvekit serve did not start")
    return [serve, simulator], sim_url, ingest, consumers


async def consumer(url: str, received: dict[str, float], stop: asyncio.Event) -> None:
    from websockets.asyncio.client import connect

    async with connect(url, max_queue=None, max_size=None) as ws:
        while not stop.is_set():
            try:
                message = await asyncio.wait_for(ws.recv(), 0.2)
            except TimeoutError:
                continue
            received.setdefault(
                orjson.loads(message)["payload"]["interactionId"], time.perf_counter()
            )


async def watch_stored(sim_url: str, samples: list[tuple[float, int]], stop: asyncio.Event) -> None:
    async with httpx.AsyncClient(base_url=sim_url) as http:
        while not stop.is_set():
            stored = (await http.get("/_simulator/stats")).json()["stored"]
            samples.append((time.perf_counter(), stored))
            await asyncio.sleep(0.01)


async def end_to_end(
    events: int, concurrency: int, fault_ratio: float, rate: float = 0.0
) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        processes, sim_url, ingest, ws_url = start_processes(Path(tmp))
        try:
            return await _drive(events, concurrency, fault_ratio, sim_url, ingest, ws_url, rate)
        finally:
            for process in processes:  # serve first: it drains while the simulator still answers
                stop_process(process)


async def _drive(
    events: int,
    concurrency: int,
    fault_ratio: float,
    sim_url: str,
    ingest: str,
    ws_url: str,
    rate: float = 0.0,
) -> dict[str, float]:
    rng = random.Random(7)
    items = ["latency=0"] * events + [rng.choice(FAULTS) for _ in range(int(events * fault_ratio))]
    rng.shuffle(items)
    httpx.post(f"{sim_url}/_simulator/faults", json={"spec": ",".join(items)}).raise_for_status()
    stop = asyncio.Event()
    received = {v: {} for v in ("1.0.0", "3.0.0")}  # type: dict[str, dict[str, float]]
    listeners = [
        asyncio.create_task(consumer(f"{ws_url}?subject={SUBJECT}&version={v}", received[v], stop))
        for v in received
    ]
    samples: list[tuple[float, int]] = []
    watcher = asyncio.create_task(watch_stored(sim_url, samples, stop))
    await asyncio.sleep(0.5)
    host, port = ingest.removeprefix("http://").rsplit(":", 1)
    accepted_at: dict[str, float] = {}
    queue = list(range(events))
    queue.reverse()
    started = time.perf_counter()

    async def poster() -> None:
        conn = await RawHTTP.open(host, int(port))
        try:
            while queue:
                n = queue.pop()
                if rate:  # paced: event n leaves at started + n / rate
                    await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
                body = orjson.dumps(legacy_event(n, timestamp=TIMESTAMP))
                status, _ = await conn.post("/ingest", body, f"b-{n}")
                assert status == 202, status
                accepted_at[f"INT-{n}"] = time.perf_counter()
        finally:
            conn.close()

    await asyncio.gather(*(poster() for _ in range(concurrency)))
    posted = time.perf_counter()
    deadline = time.monotonic() + 300
    while (not samples or samples[-1][1] < events) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    while any(len(r) < events for r in received.values()) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(watcher, *listeners)
    async with httpx.AsyncClient(base_url=sim_url) as http:
        stored = (await http.get("/_simulator/events")).json()
        stats = (await http.get("/_simulator/stats")).json()
    ids = [e["body"]["interactionId"] for e in stored]
    assert len(ids) == len(set(ids)) == events, (len(ids), len(set(ids)))
    keys = {e["key"] for e in stored} - {None}  # each stored under its own key
    assert len(keys) == events, len(keys)
    published_at: dict[str, float] = {}
    index = 0
    for when, count in samples:  # the stored count is monotonic: bodies[:count] were in
        while index < count:
            published_at[ids[index]] = when
            index += 1
    finished = max(published_at.values())
    to_cxone = [published_at[i] - accepted_at[i] for i in ids]
    to_consumer = [received["3.0.0"][i] - accepted_at[i] for i in received["3.0.0"]]
    return {
        "events": events,
        "faults_injected": stats["faults_injected"] - items.count("latency=0"),
        "duplicates_ignored": stats["duplicates_ignored"],
        "accept_rate": events / (posted - started),
        "end_to_end_rate": events / (finished - started),
        "cxone_p50_ms": 1000 * percentile(to_cxone, 0.50),
        "cxone_p99_ms": 1000 * percentile(to_cxone, 0.99),
        "consumer_p50_ms": 1000 * percentile(to_consumer, 0.50),
        "consumer_p99_ms": 1000 * percentile(to_consumer, 0.99),
        "consumers_complete": float(all(len(r) == events for r in received.values())),
    }


# --- 2. in-process ---------------------------------------------------------------------------


def inline_refs(schema: Any, defs: dict[str, Any]) -> Any:
    """The 3.0.0 schema with its cross-file refs inlined (the tutorial resolves no $ref)."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and "#/$defs/" in ref:
            return defs[ref.rsplit("/", 1)[1]]
        return {k: inline_refs(v, defs) for k, v in schema.items()}
    if isinstance(schema, list):
        return [inline_refs(v, defs) for v in schema]
    return schema


def naive_map(payload: dict[str, Any], rules: dict[str, Any]) -> dict[str, Any]:
    """The tutorial's shape: read each legacy dot path, write it to its target path."""
    out: dict[str, Any] = {}
    for source, target in rules.items():
        value: Any = payload
        for key in source.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            continue
        path, convert = target if isinstance(target, tuple) else (target, None)
        if convert is not None:
            value = convert(value)
        here = out
        keys = path.split(".")
        for key in keys[:-1]:
            here = here.setdefault(key, {})
        here[keys[-1]] = value
    return out


CONSUMER_SCRIPT = """
import asyncio, sys
from websockets.asyncio.client import connect

async def one(url, events):
    async with connect(url, max_queue=None, max_size=None) as ws:
        print("connected", flush=True)
        seen = 0
        while seen < events:
            message = await ws.recv()
            if '"control"' not in message:
                seen += 1

async def main(url, events, consumers):
    await asyncio.gather(*(one(url, events) for _ in range(consumers)))
    print("done", flush=True)

asyncio.run(main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
"""


class Consumers:
    """``consumers`` WebSocket clients in another process (so they do not share this
    process's CPU with the loop being measured); ``wait()`` returns when all have every event."""

    def __init__(self, url: str, events: int, consumers: int) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", CONSUMER_SCRIPT, url, str(events), str(consumers)],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.consumers = consumers

    async def connected(self) -> None:
        assert self.process.stdout is not None
        for _ in range(self.consumers):
            line = await asyncio.to_thread(self.process.stdout.readline)
            assert line.strip() == "connected", line

    async def wait(self) -> None:
        assert self.process.stdout is not None
        line = await asyncio.to_thread(self.process.stdout.readline)
        assert line.strip() == "done", line
        self.process.wait(timeout=30)


async def in_process(events: int, consumers: int) -> dict[str, float]:
    import jsonschema
    from websockets.asyncio.server import serve

    from evolvekit.broadcast.broadcaster import Broadcaster
    from evolvekit.pipeline.pipeline import Pipeline, Prepared

    raw = [orjson.dumps(legacy_event(n, timestamp=TIMESTAMP)) for n in range(events)]

    # evolvekit: detect + migrate + validate, then one encoding per version for everyone.
    pipeline = Pipeline(SCHEMAS, RULES)
    pipeline.prepare(orjson.loads(raw[0]))  # compile the chain and validators
    async with Broadcaster(schemas=pipeline.migrator, replay_size=0, queue_size=10**6) as hub:
        readers = Consumers(f"{hub.url}?subject={SUBJECT}&version=3.0.0", events, consumers)
        await readers.connected()
        while hub.hub.consumer_count() < consumers:
            await asyncio.sleep(0.01)
        started = time.perf_counter()
        for index, data in enumerate(raw):
            result = pipeline.prepare(orjson.loads(data))
            assert isinstance(result, Prepared)
            hub.publish_nowait(result.event, subject=result.subject, version=result.target_version)
            if index % 100 == 0:
                await asyncio.sleep(0)  # let the transports flush, as a live service would
        evolvekit_handed = time.perf_counter() - started
        await readers.wait()
        evolvekit_seconds = time.perf_counter() - started

    # The tutorial's loop: json, a validator built per event, a naive mapping, serial sends.
    defs = json.loads((SCHEMAS / "_defs" / "common.json").read_text())["$defs"]
    target = inline_refs(json.loads((SCHEMAS / SUBJECT / "3.0.0.json").read_text()), defs)
    channels = {"phone": "voice", "chat": "chat", "email": "email"}
    rules: dict[str, Any] = {
        "eventType": "eventType",
        "timestamp": "timestamp",
        "customerId": "customerId",
        "interactionId": "interactionId",
        "agentEmail": "agent.id",
        "callDuration": ("durationMs", lambda v: v * 1000),
        "channel": ("channel", lambda v: channels[v.strip().lower()]),
    }
    clients: set[Any] = set()

    async def handler(ws: Any) -> None:
        clients.add(ws)
        await ws.wait_closed()

    async with serve(handler, "127.0.0.1", 0, compression=None) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        readers = Consumers(f"ws://127.0.0.1:{port}/", events, consumers)
        await readers.connected()
        while len(clients) < consumers:
            await asyncio.sleep(0.01)
        started = time.perf_counter()
        for data in raw:
            payload = json.loads(data)
            mapped = naive_map(payload, rules)
            jsonschema.Draft202012Validator(target).validate(mapped)
            message = json.dumps(
                {
                    "schema_version": "3.0.0",
                    "event_type": mapped["eventType"],
                    "timestamp": mapped.get("timestamp"),
                    "payload": mapped,
                }
            )
            for client in list(clients):
                await client.send(message)
        tutorial_handed = time.perf_counter() - started
        await readers.wait()
        tutorial_seconds = time.perf_counter() - started
    return {
        "events": events,
        "consumers": consumers,
        "evolvekit_rate": events / evolvekit_seconds,
        "tutorial_rate": events / tutorial_seconds,
        "evolvekit_handed_rate": events / evolvekit_handed,
        "tutorial_handed_rate": events / tutorial_handed,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--fault-ratio", type=float, default=0.15)
    parser.add_argument("--inproc-events", type=int, default=3000)
    parser.add_argument("--consumers", type=int, default=4)
    parser.add_argument("--paced-events", type=int, default=1500)
    parser.add_argument("--paced-rate", type=float, default=100.0)
    parser.add_argument("--skip-end-to-end", action="store_true")
    args = parser.parse_args()

    inproc = asyncio.run(in_process(args.inproc_events, args.consumers))
    print(
        f"in-process, no HTTP, {inproc['events']} events, {inproc['consumers']} consumers in "
        "another process (detect + migrate 1.0.0 -> 3.0.0 + validate + broadcast):"
    )
    print("                                    processed+handed over   delivered to all")
    for label, key in (
        ("evolvekit Pipeline + Broadcaster", "evolvekit"),
        ("tutorial-style loop", "tutorial"),
    ):
        print(
            f"  {label:<33} {inproc[key + '_handed_rate']:9.0f} events/s    "
            f"{inproc[key + '_rate']:9.0f} events/s"
        )
    handed = inproc["evolvekit_handed_rate"] / inproc["tutorial_handed_rate"]
    delivered = inproc["evolvekit_rate"] / inproc["tutorial_rate"]
    print(f"  {'ratio':<33} {handed:9.1f}x             {delivered:9.1f}x")
    if args.skip_end_to_end:
        return
    e2e = asyncio.run(end_to_end(args.events, args.concurrency, args.fault_ratio))
    paced = asyncio.run(
        end_to_end(args.paced_events, args.concurrency, args.fault_ratio, args.paced_rate)
    )
    print(
        f"end to end on loopback, {e2e['events']:.0f} events posted one per request by "
        f"{args.concurrency} connections; simulator faults injected: "
        f"{e2e['faults_injected']:.0f}, re-sends it ignored: {e2e['duplicates_ignored']:.0f}"
    )
    print(f"  accepted (202)                    {e2e['accept_rate']:9.0f} events/s")
    print(f"  published to CXone + consumers    {e2e['end_to_end_rate']:9.0f} events/s")
    print(
        f"  accept -> stored by CXone         p50 {e2e['cxone_p50_ms']:7.1f} ms   "
        f"p99 {e2e['cxone_p99_ms']:7.1f} ms  (10 ms polling)"
    )
    print(
        f"  accept -> consumer (3.0.0)        p50 {e2e['consumer_p50_ms']:7.1f} ms   "
        f"p99 {e2e['consumer_p99_ms']:7.1f} ms"
    )
    print(f"  both consumers got every event    {'yes' if e2e['consumers_complete'] else 'NO'}")
    print("  every event stored exactly once   yes (asserted)")
    print(
        f"paced at {args.paced_rate:.0f} events/s (below capacity), {args.paced_events} events, "
        "same faults: the latency without a queue"
    )
    print(
        f"  accept -> stored by CXone         p50 {paced['cxone_p50_ms']:7.1f} ms   "
        f"p99 {paced['cxone_p99_ms']:7.1f} ms"
    )
    print(
        f"  accept -> consumer (3.0.0)        p50 {paced['consumer_p50_ms']:7.1f} ms   "
        f"p99 {paced['consumer_p99_ms']:7.1f} ms"
    )


if __name__ == "__main__":
    main()
