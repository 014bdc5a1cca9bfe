"""BackgroundBroadcaster: its own thread and loop keep serving while the caller blocks."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from evolvekit.broadcast.background import BackgroundBroadcaster
from evolvekit.errors import BroadcastError

# A consumer in another process: counts frames until it has `want`, then prints a summary
# with the wall-clock time of the last one.
CONSUMER = r"""
import asyncio, json, sys, time
from websockets.asyncio.client import connect

async def main(url, want):
    seqs = []
    async with connect(url, max_size=None) as ws:
        print("connected", flush=True)
        while len(seqs) < want:
            frame = json.loads(await ws.recv())
            seqs.append(frame["seq"])
    print(json.dumps({"seqs": seqs, "last_at": time.time()}), flush=True)

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""


def wait_for(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def test_subprocess_consumer_receives_while_the_caller_sleeps(fake_migrator) -> None:
    pad = "x" * 65536  # 100 of these overflow the kernel's socket buffers: the loop must drain
    with BackgroundBroadcaster(rules=fake_migrator, queue_size=1000) as b:
        assert b.port > 0 and b.url == f"ws://127.0.0.1:{b.port}/"
        consumer = subprocess.Popen(
            [sys.executable, "-c", CONSUMER, b.url + "?version=2.0.0", "101"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert consumer.stdout is not None
            assert consumer.stdout.readline().strip() == "connected"
            wait_for(lambda: b.stats()["consumers"] == 1)
            for _ in range(100):
                b.publish({"agentEmail": "a", "pad": pad}, subject="demo", version="1.0.0")
            late = threading.Timer(
                0.3,
                b.publish,
                args=({"agentEmail": "late"},),
                kwargs={"subject": "demo", "version": "1.0.0"},
            )
            late.start()
            sleep_started = time.time()
            time.sleep(2.0)  # the caller blocks; the broadcaster's thread keeps serving
            sleep_ended = time.time()
            late.join()
            summary = json.loads(consumer.stdout.readline())
            consumer.wait(10)
        finally:
            consumer.kill()
        assert summary["seqs"] == list(range(1, 102))
        assert sleep_started < summary["last_at"] < sleep_ended
        assert b.stats()["frames_sent"] == 101


def test_start_stop_idempotent_and_errors(fake_migrator) -> None:
    b = BackgroundBroadcaster(rules=fake_migrator)
    with pytest.raises(BroadcastError):
        b.publish({"agentEmail": "a"}, subject="demo", version="1.0.0")
    port = b.start()
    assert b.start() == port
    assert b.publish({"agentEmail": "a"}, subject="demo", version="1.0.0") == 1
    with pytest.raises(BroadcastError):
        b.publish({"agentEmail": "a"}, subject="", version="1.0.0")
    b.stop()
    b.stop()
    with pytest.raises(BroadcastError):
        b.stats()
    holder = BackgroundBroadcaster(rules=fake_migrator, port=0)
    holder_port = holder.start()
    try:
        clash = BackgroundBroadcaster(rules=fake_migrator, port=holder_port)
        with pytest.raises(BroadcastError, match="cannot listen"):
            clash.start()
    finally:
        holder.stop()


def test_publish_from_many_threads_gives_distinct_gapless_seqs(fake_migrator) -> None:
    with BackgroundBroadcaster(rules=fake_migrator) as b:
        seqs: list[int] = []
        lock = threading.Lock()

        def publish_some() -> None:
            for _ in range(50):
                seq = b.publish({"agentEmail": "a"}, subject="demo", version="1.0.0")
                with lock:
                    seqs.append(seq)

        threads = [threading.Thread(target=publish_some) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(seqs) == list(range(1, 201))
        assert b.stats()["events_published"] == 200
