"""consume(): reconnect and resume from the last seen seq; refusals are not retried."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest

import evolvekit as ek
from evolvekit.broadcast.broadcaster import Broadcaster
from evolvekit.broadcast.client import consume, resume_url
from evolvekit.errors import BroadcastError


def test_resume_url_replaces_since_and_epoch() -> None:
    url = resume_url("ws://h:1/?version=2.0.0&since=3&epoch=old", 9, "new")
    assert url == "ws://h:1/?version=2.0.0&since=9&epoch=new"
    assert resume_url("ws://h:1/", None, "x") == "ws://h:1/"


def test_consume_is_reachable_from_the_package() -> None:
    assert ek.broadcast.consume is consume


async def test_reconnects_and_resumes_without_gaps_or_duplicates(fake_migrator) -> None:
    async with Broadcaster(rules=fake_migrator) as b:
        frames: list[dict[str, Any]] = []
        done = asyncio.Event()

        async def collect() -> None:
            async for frame in consume(b.url + "?version=2.0.0", backoff=0.05):
                frames.append(frame)
                if frame.get("seq") == 6 and "control" not in frame:
                    done.set()
                    return

        task = asyncio.create_task(collect())
        while b.stats()["consumers"] == 0:
            await asyncio.sleep(0.01)
        for n in range(3):
            await b.publish({"agentEmail": f"a{n}"}, subject="demo", version="1.0.0")
        while len(frames) < 3:
            await asyncio.sleep(0.01)
        assert b._server is not None
        for conn in list(b._server.connections):
            conn.transport.abort()  # the network drops the consumer
        for n in range(3, 6):
            await b.publish({"agentEmail": f"a{n}"}, subject="demo", version="1.0.0")
        await asyncio.wait_for(done.wait(), 10)
        await task
    data = [f for f in frames if "control" not in f]
    assert [f["seq"] for f in data] == [1, 2, 3, 4, 5, 6]
    assert data[4]["payload"] == {"agentId": "a4"}
    resumes = [f for f in frames if f.get("control") == "resume"]
    assert resumes and resumes[0]["recovered"] is True and resumes[0]["from_seq"] == 4


async def test_refusal_is_raised_not_retried(fake_migrator) -> None:
    async with Broadcaster(rules=fake_migrator, tokens=["t"]) as b:
        with pytest.raises(BroadcastError, match="HTTP 401"):
            async for _ in consume(b.url):
                pass
        with pytest.raises(BroadcastError, match="versions on offer"):
            async for _ in consume(b.url + "?subject=demo&version=5.0.0", token="t"):
                pass


async def test_gives_up_after_max_retries() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(BroadcastError, match="gave up after 2"):
            async for _ in consume(f"ws://127.0.0.1:{port}/", max_retries=2, backoff=0.01):
                pass


async def test_without_reconnect_it_ends_when_the_server_goes(fake_migrator) -> None:
    b = Broadcaster(rules=fake_migrator)
    await b.start()
    seen: list[dict[str, Any]] = []

    async def collect() -> None:
        async for frame in consume(b.url, reconnect=False):
            seen.append(frame)

    task = asyncio.create_task(collect())
    while b.stats()["consumers"] == 0:
        await asyncio.sleep(0.01)
    await b.publish({"agentEmail": "a"}, subject="demo", version="1.0.0")
    while not seen:
        await asyncio.sleep(0.01)
    await b.stop()
    await asyncio.wait_for(task, 5)
    assert [f["seq"] for f in seen] == [1]


async def test_bad_url_and_unreachable_server_without_reconnect() -> None:
    with pytest.raises(BroadcastError, match="not a ws:// or wss:// URL"):
        async for _ in consume("http://127.0.0.1:1/"):
            pass
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(BroadcastError, match="cannot connect"):
            async for _ in consume(f"ws://127.0.0.1:{port}/", reconnect=False):
                pass
