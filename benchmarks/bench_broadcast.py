"""Broadcast benchmark: evolvekit's Broadcaster vs a tutorial-style broadcaster.

    python benchmarks/bench_broadcast.py                 # the issue's figures (a)-(d)
    python benchmarks/bench_broadcast.py --consumers 200 --seconds 3 --runs 1   # quick look

This process is the server (its CPU time is what "server CPU per frame" measures); the
consumers are minimal WebSocket clients in separate processes (``--procs``, many connections
each), cheap enough per frame that they are not the bottleneck. Every event carries its
publish time; a consumer takes the receive time as the bytes reach its process.

Latency is reported three ways, because on a shared 2-core machine the scheduler can add
more than the broadcaster does: end to end (p50/p99 over every delivered frame); the fan-out,
the time from the publish call to the last consumer's frame handed to the kernel, with the
CPU time of it (the broadcaster's own share: wall minus CPU is time the server waited for a
core); and how late the consumer processes, mostly idle, wake up from a sleep (the machine's
noise: the server's own lag would include its fan-out).
Each run also prints the busiest consumer process's CPU share (near 100%: the consumers,
not the server, limit the run).

(a) ``--consumers`` consumers, events for ``--seconds``: frames delivered per second, p50/p99
    latency, server CPU per delivered frame. The publisher is closed-loop (at most
    ``--window`` events in flight, judged from the consumers' shared counters) so each server
    runs at the rate it sustains without overflowing anyone. Median of ``--runs`` runs.
(b) a fixed, moderate rate (``--stall-rate``) with and without one extra consumer that stops
    reading, interleaved, median of ``--runs``: evolvekit's p99 for the others and its
    fan-out with and without the stall; then the baseline with the stall for
    ``--stall-deadline`` seconds and what it delivered.
(c) the consumers split over three versions (1.0.0/2.0.0/3.0.0, real migrations through the
    shipped rules) vs all on one version: server CPU per event.
(d) resident memory per idle consumer, for both servers.

Both servers run with compression off on the consumer side (the tutorial's default
permessage-deflate would only make the baseline slower).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import multiprocessing as mp
import os
import resource
import socket
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

SUBJECT = "interaction.completed"
EVENT = {
    "eventType": "interaction.completed",
    "customerId": "CUST-99281",
    "interactionId": "INT-7001",
    "agentEmail": "agent.smith@company.com",
    "callDuration": 245,
    "queueName": "Billing",
}


# ---------------------------------------------------------------------------------------
# consumer processes
#
# Each consumer is a minimal WebSocket client (an asyncio.Protocol that does the opening
# handshake and parses unmasked server frames) rather than websockets' full client: that
# client costs tens of microseconds of Python per frame, so 1,000 of them on this 2-core
# machine saturate their processes and the "latency" measured is the consumers' own queue,
# not the broadcaster's delivery (measured at ~130 ms p99 that way, with or without a stalled
# consumer). The receive time is taken when the bytes reach the consumer's process, and each
# process reports its CPU use so a saturated consumer side is visible in the output.

HANDSHAKE = (
    "GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
SENT_KEY = b'"sent":'


class Tally:
    """What one consumer process measured."""

    def __init__(self, window: Any) -> None:
        self.frames = 0
        self.latencies: list[float] = []
        self.window = window


class FrameReader(asyncio.Protocol):
    """One consumer: handshake, then count data frames and time each against its "sent"."""

    def __init__(self, url: str, tally: Tally, counters: Any, slot: int) -> None:
        parts = urlsplit(url)
        self.request = HANDSHAKE.format(
            path=(parts.path or "/") + (f"?{parts.query}" if parts.query else ""),
            host=parts.hostname, port=parts.port,
            key=base64.b64encode(os.urandom(16)).decode(),
        ).encode()
        self.tally, self.counters, self.slot = tally, counters, slot
        self.buffer = bytearray()
        self.opened: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self.request)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed during the handshake"))

    def data_received(self, data: bytes) -> None:
        received = time.time()
        buffer = self.buffer
        buffer += data
        if not self.opened.done():
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buffer[: buffer.find(b"\r\n")])
            if b" 101 " not in status:
                self.opened.set_exception(ConnectionError(status.decode(errors="replace")))
                return
            self.opened.set_result(None)
            del buffer[: end + 4]
        tally, window = self.tally, self.tally.window
        pos, size, frames = 0, len(buffer), 0
        while size - pos >= 2:
            opcode, length = buffer[pos] & 0x0F, buffer[pos + 1] & 0x7F
            start = pos + 2
            if length == 126:
                length, start = int.from_bytes(buffer[pos + 2 : pos + 4], "big"), pos + 4
            elif length == 127:
                length, start = int.from_bytes(buffer[pos + 2 : pos + 10], "big"), pos + 10
            if start > size or size - start < length:
                break
            end, pos = start + length, start + length
            if opcode == 1:  # text: a data frame when it carries the publisher's "sent"
                at = buffer.find(SENT_KEY, start, end)
                if at >= 0:
                    frames += 1
                    if window[0] <= received <= window[1]:
                        begin = stop = at + len(SENT_KEY)
                        while buffer[stop] not in b",}":
                            stop += 1
                        tally.latencies.append(received - float(buffer[begin:stop]))
            elif opcode == 9 and self.transport is not None:  # ping: a masked pong
                self.transport.write(bytes([0x8A, 0x80 | length]) + b"\0\0\0\0" +
                                     bytes(buffer[start:end]))
            elif opcode == 8 and self.transport is not None:
                self.transport.close()
        del buffer[:pos]
        tally.frames += frames
        self.counters[self.slot] += frames


async def open_reader(url: str, tally: Tally, counters: Any, slot: int,
                      stall: bool = False) -> asyncio.Transport:
    loop = asyncio.get_running_loop()
    parts = urlsplit(url)
    sock = socket.socket()
    if stall:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        # A small MSS keeps the server's send buffer small (Linux sizes it from the MSS), so
        # a stalled reader backs up into user space in seconds instead of after ~3 MB.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
    sock.setblocking(False)
    await loop.sock_connect(sock, (parts.hostname, parts.port))
    transport, protocol = await loop.create_connection(
        lambda: FrameReader(url, tally, counters, slot), sock=sock)
    await asyncio.wait_for(protocol.opened, 60)
    if stall:
        transport.pause_reading()  # never reads again: it stalls
    return transport


def consumer_process(
    url_list: list[str], slot: int, counters: Any, window: Any, ready: Any, stop: Any,
    results: Any, stalled_url: str | None,
) -> None:
    asyncio.run(_consume_all(url_list, slot, counters, window, ready, stop, results, stalled_url))


async def _consume_all(
    urls: list[str], slot: int, counters: Any, window: Any, ready: Any, stop: Any,
    results: Any, stalled_url: str | None,
) -> None:
    tally = Tally(window)
    transports: list[asyncio.Transport] = []
    for start in range(0, len(urls), 50):  # batches: the listen backlog is finite
        transports += await asyncio.gather(
            *(open_reader(u, tally, counters, slot) for u in urls[start : start + 50]))
    if stalled_url is not None:
        transports.append(await open_reader(stalled_url, tally, counters, slot, stall=True))
    ready.release()
    cpu_in_window = 0.0
    lags: list[float] = []  # how late this process wakes from a sleep: the machine's noise
    while not stop.is_set():  # CPU used inside the measuring window, sampled at its edges
        before, now = time.process_time(), time.time()
        await asyncio.sleep(0.05)
        woke = time.time()
        if window[0] <= now and woke <= window[1]:
            cpu_in_window += time.process_time() - before
            lags.append(woke - now - 0.05)
    for transport in transports:
        transport.abort()
    results.put((tally.latencies, cpu_in_window, lags))


@dataclass
class Consumers:
    procs: list[Any]
    counters: Any
    window: Any
    stop: Any
    results: Any

    def delivered(self) -> int:
        return int(sum(self.counters[:]))

    def finish(self) -> tuple[list[float], list[float], list[float]]:
        """Every latency measured, each consumer process's CPU seconds in the window, and
        every wake-up lag the processes saw."""
        self.stop.set()
        latencies: list[float] = []
        cpu: list[float] = []
        lags: list[float] = []
        for _ in self.procs:
            measured, used, lagged = self.results.get(timeout=120)
            latencies += measured
            cpu.append(used)
            lags += lagged
        for proc in self.procs:
            proc.join(30)
        return latencies, cpu, lags


def start_consumers(urls: list[str], procs: int, stalled_url: str | None = None) -> Consumers:
    ctx = mp.get_context("spawn")
    counters = ctx.Array("q", procs, lock=False)
    window = ctx.Array("d", [float("inf"), float("inf")], lock=False)
    ready, stop, results = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    started = []
    for index in range(procs):
        share = urls[index::procs]
        extra = stalled_url if index == 0 else None
        proc = ctx.Process(
            target=consumer_process,
            args=(share, index, counters, window, ready, stop, results, extra),
            daemon=True,
        )
        proc.start()
        started.append(proc)
    for _ in started:
        if not ready.acquire(timeout=180):
            raise RuntimeError("consumers did not connect in time")
    return Consumers(started, counters, window, stop, results)


# ---------------------------------------------------------------------------------------
# servers


class TutorialServer:
    """The tutorial's broadcaster, on the current API: awaits each client's send in turn."""

    def __init__(self) -> None:
        self.clients: set[Any] = set()
        self.server: Any = None
        self.port = 0

    async def start(self) -> None:
        from websockets.asyncio.server import serve

        async def handler(ws: Any) -> None:
            self.clients.add(ws)
            try:
                await ws.wait_closed()
            finally:
                self.clients.discard(ws)

        self.server = await serve(handler, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def publish(self, event: dict[str, Any], version: str) -> None:
        from websockets.exceptions import ConnectionClosed

        message = json.dumps(
            {"schema_version": version, "event_type": event.get("eventType", "custom"),
             "timestamp": event.get("timestamp"), "payload": event}
        )
        gone = set()
        for client in list(self.clients):
            try:
                await client.send(message)
            except ConnectionClosed:
                gone.add(client)
        self.clients -= gone

    async def stop(self) -> None:
        self.server.close()
        await self.server.wait_closed()


class EvolvekitServer:
    def __init__(self, migrator: Any) -> None:
        from evolvekit.broadcast.broadcaster import Broadcaster

        self.b = Broadcaster(rules=migrator, ping_interval=20)

    async def start(self) -> None:
        await self.b.start()
        self.port = self.b.port

    async def publish(self, event: dict[str, Any], version: str) -> None:
        self.b.publish_nowait(event, subject=SUBJECT, version=version)

    async def stop(self) -> None:
        await self.b.stop()


def make_server(kind: str, migrator: Any) -> Any:
    return EvolvekitServer(migrator) if kind == "evolvekit" else TutorialServer()


# ---------------------------------------------------------------------------------------
# one measured run


@dataclass
class Result:
    frames_per_s: float
    p50_ms: float
    p99_ms: float
    cpu_us_per_frame: float
    cpu_us_per_event: float
    events: int
    frames: int
    server_busy: float = 0.0  # the server's CPU time over wall time
    consumer_cpu: float = 0.0  # the busiest consumer process's share of a core
    fanout_p99_ms: float = 0.0  # publish call to the last consumer's bytes handed over
    fanout_cpu_p99_ms: float = 0.0  # the CPU time of that: the rest is waiting for a core
    lag_p99_ms: float = 0.0  # how late the (mostly idle) consumer processes woke from sleeps
    stalled_after_s: float | None = None
    slow_disconnects: int | None = None


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def run_once(
    kind: str, migrator: Any, args: argparse.Namespace, *, versions: list[str],
    rate: float | None, seconds: float, stalled: bool = False, pad: int = 0,
) -> Result:
    server = make_server(kind, migrator)
    await server.start()
    base = f"ws://127.0.0.1:{server.port}/"
    urls = [
        f"{base}?subject={SUBJECT}&version={versions[i % len(versions)]}" if kind == "evolvekit"
        else base
        for i in range(args.consumers)
    ]
    loop = asyncio.get_running_loop()
    consumers = await loop.run_in_executor(
        None, start_consumers, urls, args.procs, base if stalled else None
    )
    n = args.consumers
    published = 0
    padding = "x" * pad
    t0 = float("inf")
    fanouts: list[float] = []  # the broadcaster's own share of each event's latency
    fanout_cpu: list[float] = []

    async def publisher() -> None:
        nonlocal published
        interval = None if rate is None else 1.0 / rate
        next_at = time.monotonic()
        while True:
            if interval is None:
                # Closed loop: no more than `window` events in flight for the average consumer.
                while published - consumers.delivered() / n > args.window:
                    await asyncio.sleep(0.0005)
            else:
                next_at += interval
                delay = next_at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            event = dict(EVENT, sent=time.time())
            if pad:
                event["pad"] = padding
            started, cpu_started = time.perf_counter(), time.thread_time()
            await server.publish(event, "1.0.0")
            if event["sent"] >= t0:
                fanouts.append(time.perf_counter() - started)
                fanout_cpu.append(time.thread_time() - cpu_started)
            published += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(publisher())
    await asyncio.sleep(1.0)  # warm-up
    frames0, events0, cpu0, t0 = consumers.delivered(), published, time.process_time(), time.time()
    consumers.window[0], consumers.window[1] = t0, t0 + seconds
    last_count, last_change = frames0, t0
    while time.time() < t0 + seconds:
        await asyncio.sleep(0.1)
        delivered = consumers.delivered()
        if delivered != last_count:
            last_count, last_change = delivered, time.time()
    frames1, events1, cpu1, t1 = consumers.delivered(), published, time.process_time(), time.time()
    stalled_at = last_change - t0 if t1 - last_change > 1.0 else None
    slow = server.b.stats()["slow_consumer_disconnects"] if kind == "evolvekit" else None
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    latencies, consumer_cpu, consumer_lags = await loop.run_in_executor(None, consumers.finish)
    await server.stop()
    frames, events = frames1 - frames0, events1 - events0
    cpu = cpu1 - cpu0
    return Result(
        frames_per_s=frames / (t1 - t0),
        p50_ms=percentile(latencies, 0.50) * 1000,
        p99_ms=percentile(latencies, 0.99) * 1000,
        cpu_us_per_frame=cpu / frames * 1e6 if frames else float("inf"),
        cpu_us_per_event=cpu / events * 1e6 if events else float("inf"),
        events=events,
        frames=frames,
        server_busy=cpu / (t1 - t0),
        consumer_cpu=max(consumer_cpu) / (t1 - t0),
        fanout_p99_ms=percentile(fanouts, 0.99) * 1000,
        fanout_cpu_p99_ms=percentile(fanout_cpu, 0.99) * 1000,
        lag_p99_ms=percentile(consumer_lags, 0.99) * 1000,
        stalled_after_s=stalled_at,
        slow_disconnects=slow,
    )


def median_result(results: list[Result]) -> Result:
    def med(name: str) -> float:
        return statistics.median(getattr(r, name) for r in results)

    return Result(
        frames_per_s=med("frames_per_s"), p50_ms=med("p50_ms"), p99_ms=med("p99_ms"),
        cpu_us_per_frame=med("cpu_us_per_frame"), cpu_us_per_event=med("cpu_us_per_event"),
        events=int(med("events")), frames=int(med("frames")),
        consumer_cpu=med("consumer_cpu"), server_busy=med("server_busy"),
        fanout_p99_ms=med("fanout_p99_ms"),
        fanout_cpu_p99_ms=med("fanout_cpu_p99_ms"), lag_p99_ms=med("lag_p99_ms"),
    )


def show(label: str, r: Result) -> None:
    print(
        f"  {label:<10} {r.frames_per_s:>9.0f} frames/s  p50 {r.p50_ms:7.1f} ms  "
        f"p99 {r.p99_ms:7.1f} ms  CPU {r.cpu_us_per_frame:6.1f} us/frame  "
        f"({r.events} events, {r.frames} frames)\n"
        f"  {'':<10} fan-out p99 {r.fanout_p99_ms:.1f} ms (publish to the last write; "
        f"{r.fanout_cpu_p99_ms:.1f} ms of it CPU, the rest waiting for a core); "
        f"wake-up lag p99 {r.lag_p99_ms:.1f} ms (machine noise); server busy "
        f"{r.server_busy:.0%} of a core, busiest consumer process {r.consumer_cpu:.0%}",
        flush=True,
    )
    if r.lag_p99_ms > 10:
        print(f"  ! the machine is loaded: sleeping processes woke up to {r.lag_p99_ms:.0f} ms "
              "late, and end-to-end latencies include such delays", flush=True)
    if r.consumer_cpu > 0.8:
        print("  ! a consumer process was near saturation: its latencies include its own "
              "queueing; try more --procs or a lower rate", flush=True)


# ---------------------------------------------------------------------------------------
# memory per idle consumer


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def memory_per_consumer(kind: str, migrator: Any, args: argparse.Namespace) -> float:
    server = make_server(kind, migrator)
    await server.start()
    base = f"ws://127.0.0.1:{server.port}/"
    query = f"?subject={SUBJECT}&version=1.0.0" if kind == "evolvekit" else ""
    before = rss_bytes()
    loop = asyncio.get_running_loop()
    consumers = await loop.run_in_executor(
        None, start_consumers, [base + query] * args.consumers, args.procs, None
    )
    await asyncio.sleep(1.0)
    after = rss_bytes()
    await loop.run_in_executor(None, consumers.finish)
    await server.stop()
    return (after - before) / args.consumers


def memory_process(kind: str, args: argparse.Namespace, answer: Any) -> None:
    from evolvekit.mapping.migrate import Migrator

    migrator = Migrator(schemas=REPO / "schemas", rules=REPO / "rules")
    answer.put(asyncio.run(memory_per_consumer(kind, migrator, args)))


# ---------------------------------------------------------------------------------------


async def main_async(args: argparse.Namespace) -> None:
    from evolvekit.mapping.migrate import Migrator

    migrator = Migrator(schemas=REPO / "schemas", rules=REPO / "rules")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"consumers {args.consumers} in {args.procs} processes, {args.seconds} s per run, "
          f"median of {args.runs}; {os.cpu_count()} CPUs, load average {load}", flush=True)

    parts = set(args.only.split(","))
    rate = args.rate or 0.0
    if "a" in parts or ("c" in parts and not args.rate):
        rate = await part_a(migrator, args)
    if "b" in parts:
        await part_b(migrator, args)
    if "c" in parts:
        await part_c(migrator, args, rate)
    if "d" in parts:
        part_d(args)


async def part_a(migrator: Any, args: argparse.Namespace) -> float:
    """Returns the rate (events/s) that (c) uses: half of evolvekit's."""
    print("(a) throughput, closed-loop publisher (single version)", flush=True)
    best: dict[str, list[Result]] = {"tutorial": [], "evolvekit": []}
    for run in range(args.runs):
        for kind in ("tutorial", "evolvekit"):  # interleaved: drift hits both alike
            r = await run_once(kind, migrator, args, versions=["1.0.0"], rate=None,
                               seconds=args.seconds)
            show(f"{kind}#{run + 1}", r)
            best[kind].append(r)
    base, ek = median_result(best["tutorial"]), median_result(best["evolvekit"])
    print("  median:")
    show("tutorial", base)
    show("evolvekit", ek)
    print(f"  ratio evolvekit/tutorial: rate {ek.frames_per_s / base.frames_per_s:.3f}  "
          f"CPU per frame {ek.cpu_us_per_frame / base.cpu_us_per_frame:.3f}  "
          f"(target: rate >= 0.90, CPU <= 1.10)", flush=True)
    print("  (latencies in (a) are queueing at saturation: the closed loop keeps --window "
          "events in flight)", flush=True)
    if min(base.server_busy, ek.server_busy) < 0.8:
        print("  ! a server was busy well under a full core: its rate was bounded by the closed "
              "loop's round trip on this machine (see the wake-up lag), not by its CPU; the "
              "CPU-per-frame ratio is the comparable figure here", flush=True)

    return args.rate or max(1.0, ek.frames_per_s / args.consumers / 2)


async def part_b(migrator: Any, args: argparse.Namespace) -> None:
    """evolvekit with and without a stalled consumer, interleaved (median of --runs), so that
    the machine's load hits both alike; then the tutorial's broadcaster with the stall."""
    rate, seconds = args.stall_rate, args.stall_deadline
    print(f"(b) one consumer stops reading; {rate:.1f} events/s of {args.stall_pad} extra "
          f"bytes, {seconds:.0f} s per run", flush=True)
    runs: dict[str, list[Result]] = {"no stall": [], "stalled": []}
    for run in range(args.runs):
        for label, stalled in (("no stall", False), ("stalled", True)):
            r = await run_once("evolvekit", migrator, args, versions=["1.0.0"], rate=rate,
                               seconds=seconds, stalled=stalled, pad=args.stall_pad)
            show(f"{label}#{run + 1}", r)
            runs[label].append(r)
    control, stalled_run = median_result(runs["no stall"]), median_result(runs["stalled"])
    disconnects = [r.slow_disconnects for r in runs["stalled"]]
    verdict = "met" if stalled_run.p99_ms < 50 else "NOT met"
    print(f"  evolvekit p99 for the others: {stalled_run.p99_ms:.1f} ms end to end (target "
          f"< 50 ms: {verdict}); {control.p99_ms:.1f} ms without the stalled consumer.\n"
          f"  The broadcaster's own part, publish to the last consumer's write: p99 "
          f"{stalled_run.fanout_p99_ms:.1f} ms wall / {stalled_run.fanout_cpu_p99_ms:.1f} ms CPU "
          f"with the stall vs {control.fanout_p99_ms:.1f} / {control.fanout_cpu_p99_ms:.1f} ms "
          f"without; wake-up lag p99 {stalled_run.lag_p99_ms:.1f} / {control.lag_p99_ms:.1f} "
          f"ms; slow-consumer disconnects (1013) per run: {disconnects}", flush=True)
    if stalled_run.lag_p99_ms >= 50:
        print(f"  ! on this machine sleeping processes woke up to {stalled_run.lag_p99_ms:.0f} ms "
              "late (p99): the end-to-end figure cannot show the 50 ms target here; compare "
              "with and without the stall, and the fan-out CPU time", flush=True)
    r = await run_once("tutorial", migrator, args, versions=["1.0.0"], rate=rate,
                       seconds=seconds, stalled=True, pad=args.stall_pad)
    show("tutorial", r)
    if r.stalled_after_s is not None:
        print(f"  tutorial: every consumer stopped receiving {r.stalled_after_s:.1f} s into "
              f"the {seconds:.0f} s deadline (the stalled client blocks each send)", flush=True)
    else:
        print(f"  tutorial: still delivering at the {seconds:.0f} s deadline", flush=True)


async def part_c(migrator: Any, args: argparse.Namespace, rate: float) -> None:
    print(f"(c) three versions vs one, fixed rate {rate:.1f} events/s", flush=True)
    one = await run_once("evolvekit", migrator, args, versions=["1.0.0"], rate=rate,
                         seconds=args.seconds)
    three = await run_once("evolvekit", migrator, args,
                           versions=["1.0.0", "2.0.0", "3.0.0"], rate=rate,
                           seconds=args.seconds)
    show("1 version", one)
    show("3 versions", three)
    ratio = three.cpu_us_per_event / one.cpu_us_per_event
    print(f"  server CPU per event: {one.cpu_us_per_event:.0f} us vs "
          f"{three.cpu_us_per_event:.0f} us (ratio {ratio:.3f})", flush=True)



def part_d(args: argparse.Namespace) -> None:
    print("(d) resident memory per idle consumer (each server in a fresh process)", flush=True)
    ctx = mp.get_context("spawn")
    for kind in ("tutorial", "evolvekit"):
        answer = ctx.Queue()
        proc = ctx.Process(target=memory_process, args=(kind, args, answer))
        proc.start()
        per = answer.get(timeout=300)
        proc.join(30)
        print(f"  {kind:<10} {per / 1024:.1f} KiB per consumer", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--consumers", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--procs", type=int, default=4, help="consumer processes")
    parser.add_argument("--window", type=int, default=16,
                        help="(a) closed-loop events in flight per consumer (default 16: "
                        "enough to keep a server busy through a slow round trip)")
    parser.add_argument("--rate", type=float, help="events/s for (c) (default: half of "
                        "evolvekit's rate in (a))")
    parser.add_argument("--only", default="a,b,c,d", help="parts to run, e.g. b,c "
                        "(without a, pass --rate)")
    parser.add_argument("--stall-deadline", type=float, default=20.0, help="(b) run length")
    parser.add_argument("--stall-rate", type=float, default=25.0,
                        help="(b) events/s (default 25: 25,000 frames/s, well under what "
                        "(a) sustains, so that queueing at saturation does not pass for "
                        "delivery latency; the stalled consumer's queue still overflows "
                        "within the deadline)")
    parser.add_argument("--stall-pad", type=int, default=1024,
                        help="(b) bytes added to each event so the stalled consumer's queue "
                        "overflows within the deadline")
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.consumers * 2 + 256
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(need, soft)), hard))
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
