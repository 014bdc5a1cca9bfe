"""The broadcaster over real loopback connections (fake Migrator; the real one is exercised
in test_versions.py)."""

from __future__ import annotations

import asyncio
import gc
import socket
from typing import Any

import httpx
import orjson
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import Frame, Opcode

from evolvekit.broadcast.broadcaster import Broadcaster, within_write_limit
from evolvekit.errors import BroadcastError, ConfigError

EVENT = {"agentEmail": "a@example.com", "eventType": "call.done"}


async def recv_json(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    return orjson.loads(await asyncio.wait_for(ws.recv(), timeout))


async def refusal(url: str, **kwargs: Any) -> tuple[int, str]:
    with pytest.raises(InvalidStatus) as info:
        async with connect(url, open_timeout=5, **kwargs):
            pass
    response = info.value.response
    return response.status_code, response.body.decode()


async def test_each_consumer_gets_its_version_and_filters(fake_migrator) -> None:
    async with Broadcaster(rules=fake_migrator) as b:
        async with (
            connect(b.url + "?version=1.0.0") as v1,
            connect(b.url + "?version=v2.0.0") as v2,
            connect(b.url) as raw,
            connect(b.url + "?subject=other") as other,
        ):
            await asyncio.sleep(0.05)
            seq = await b.publish(EVENT, subject="demo", version="1.0.0")
            got1, got2, got_raw = await recv_json(v1), await recv_json(v2), await recv_json(raw)
            assert got1["payload"] == EVENT and got1["schema_version"] == "1.0.0"
            assert got2["payload"] == {"agentId": "a@example.com", "eventType": "call.done"}
            assert got2["schema_version"] == "2.0.0"
            assert got_raw["payload"] == EVENT and got_raw["schema_version"] == "1.0.0"
            assert got1["seq"] == got2["seq"] == got_raw["seq"] == seq
            assert got1["epoch"] == b.epoch and got1["event_type"] == "call.done"
            assert fake_migrator.calls == 1  # once for the v2 consumer, none for the rest
            seq2 = await b.publish({"agentEmail": "z"}, subject="other", version="1.0.0")
            assert (await recv_json(other))["subject"] == "other"
            # "other" has no 2.0.0: the v2 consumer (no subject filter) is told it was skipped
            assert (await recv_json(v2))["control"] == "skipped"
            assert (await recv_json(v1))["seq"] == seq2
        stats = b.stats()
        assert stats["frames_sent"] == 7 and stats["events_published"] == 2
        assert stats["skipped"] == 1


async def test_unmigratable_event_is_a_skipped_frame(fake_migrator) -> None:
    async with Broadcaster(rules=fake_migrator) as b, connect(b.url + "?version=2.0.0") as ws:
        await asyncio.sleep(0.05)
        seq = await b.publish({"agentEmail": "a", "poison": 1}, subject="demo", version="1.0.0")
        frame = await recv_json(ws)
        assert frame["control"] == "skipped" and frame["seq"] == seq
        assert "poisoned event" in frame["reason"]
        await b.publish({"agentEmail": "b"}, subject="demo", version="1.0.0")
        assert (await recv_json(ws))["payload"] == {"agentId": "b"}
        assert b.stats()["skipped"] == 1 and b.stats()["migration_failures"] == 1


async def test_handshake_refusals(fake_migrator) -> None:
    async with Broadcaster(rules=fake_migrator, origins=["https://app.example"]) as b:
        status, body = await refusal(b.url + "?subject=demo&version=9.9.9")
        assert status == 400 and "versions on offer: 1.0.0, 2.0.0" in body
        assert (await refusal(b.url + "?since=-3"))[0] == 400
        assert (await refusal(b.url + "?sinse=3"))[0] == 400
        assert (await refusal(b.url + "nowhere"))[0] == 404
        status, body = await refusal(b.url, origin="https://evil.example")
        assert status == 403 and "evil.example" in body
        async with connect(b.url, origin="https://app.example") as ok:
            await b.publish(EVENT, subject="demo", version="1.0.0")
            assert (await recv_json(ok))["seq"] == 1
        async with connect(b.url) as no_origin:  # not a browser: no Origin header
            assert no_origin.protocol.state.name == "OPEN"
        assert b.stats()["handshakes_refused"] == 5


async def test_tokens_header_and_query(fake_migrator) -> None:
    async with Broadcaster(rules=fake_migrator, tokens=["s3cret", "other"]) as b:
        status, body = await refusal(b.url)
        assert status == 401 and "token" in body
        assert (await refusal(b.url + "?token=wrong"))[0] == 401
        assert (await refusal(b.url, additional_headers={"Authorization": "Bearer nope"}))[0] == 401
        async with connect(b.url + "?token=other"):
            pass
        async with connect(b.url, additional_headers={"Authorization": "Bearer s3cret"}):
            pass
        async with httpx.AsyncClient() as http:
            stats_url = f"http://127.0.0.1:{b.port}/stats"
            assert (await http.get(stats_url)).status_code == 401
            answer = await http.get(stats_url, headers={"Authorization": "Bearer s3cret"})
            assert answer.status_code == 200
    with pytest.raises(ConfigError):
        Broadcaster(rules=fake_migrator, tokens=[])


async def test_plain_http_request_is_refused_and_forgotten(fake_migrator) -> None:
    async with Broadcaster(rules=fake_migrator) as b, httpx.AsyncClient() as http:
        for _ in range(3):
            answer = await http.get(f"http://127.0.0.1:{b.port}/?version=1.0.0")
            assert answer.status_code == 426  # websockets: Upgrade Required
        await asyncio.sleep(0.05)
        gc.collect()
        assert len(b._handshakes) == 0


async def test_stats_endpoint_serves_counters(fake_migrator) -> None:
    async with Broadcaster(rules=fake_migrator) as b, connect(b.url + "?version=2.0.0"):
        await asyncio.sleep(0.05)
        await b.publish(EVENT, subject="demo", version="1.0.0")
        async with httpx.AsyncClient() as http:
            answer = await http.get(f"http://127.0.0.1:{b.port}/stats")
        assert answer.headers["content-type"] == "application/json"
        stats = answer.json()
        assert stats["consumers_by_version"] == {"2.0.0": 1}
        assert stats["events_published"] == 1 and stats["epoch"] == b.epoch
        assert set(stats) >= {"frames_sent", "skipped", "slow_consumer_disconnects"}


async def test_resume_complete(fake_migrator) -> None:
    async with Broadcaster(rules=fake_migrator) as b:
        for n in range(5):
            await b.publish({"agentEmail": f"a{n}"}, subject="demo", version="1.0.0")
        async with connect(f"{b.url}?since=2&epoch={b.epoch}&version=2.0.0") as ws:
            resume = await recv_json(ws)
            assert resume == {
                "control": "resume",
                "recovered": True,
                "from_seq": 3,
                "epoch": b.epoch,
            }
            replayed = [await recv_json(ws) for _ in range(3)]
            assert [f["seq"] for f in replayed] == [3, 4, 5]
            assert replayed[0]["payload"] == {"agentId": "a2"}
            await b.publish({"agentEmail": "live"}, subject="demo", version="1.0.0")
            assert (await recv_json(ws))["seq"] == 6


async def test_resume_incomplete_ring_overflow_and_wrong_epoch(fake_migrator) -> None:
    async with Broadcaster(rules=fake_migrator, replay_size=2) as b:
        for n in range(5):
            await b.publish({"agentEmail": f"a{n}"}, subject="demo", version="1.0.0")
        async with connect(f"{b.url}?since=1&epoch={b.epoch}") as ws:
            resume = await recv_json(ws)
            assert (resume["recovered"], resume["from_seq"]) == (False, 4)
            assert [(await recv_json(ws))["seq"] for _ in range(2)] == [4, 5]
        async with connect(f"{b.url}?since=4&epoch=stale") as ws:
            resume = await recv_json(ws)
            assert (resume["recovered"], resume["epoch"]) == (False, b.epoch)
            assert [(await recv_json(ws))["seq"] for _ in range(2)] == [4, 5]


async def test_live_subscribe_changes_filters(fake_migrator) -> None:
    async with Broadcaster(rules=fake_migrator) as b, connect(b.url) as ws:
        await ws.send(orjson.dumps({"subscribe": {"subject": "other", "version": "1.0.0"}}))
        ack = await recv_json(ws)
        assert ack == {"control": "subscribed", "subject": "other", "event_type": None}
        await b.publish(EVENT, subject="demo", version="1.0.0")
        await b.publish({"agentEmail": "o"}, subject="other", version="1.0.0")
        assert (await recv_json(ws))["subject"] == "other"
        assert b.stats()["consumers_by_version"] == {"1.0.0": 1}


async def test_bad_or_oversized_inbound_messages_close_the_consumer(fake_migrator) -> None:
    async with Broadcaster(rules=fake_migrator, max_message_size=256) as b:
        async with connect(b.url) as ws:
            await ws.send("hello")
            with pytest.raises(ConnectionClosed) as info:
                await recv_json(ws)
            assert info.value.rcvd is not None and info.value.rcvd.code == 1008
        async with connect(b.url) as ws:
            await ws.send(orjson.dumps({"subscribe": {"subject": "x" * 1000}}))
            with pytest.raises(ConnectionClosed) as info:
                await recv_json(ws)
            assert info.value.rcvd is not None and info.value.rcvd.code == 1009
        async with connect(b.url) as ws:
            await ws.send(orjson.dumps({"subscribe": {"version": "7.0.0"}}))
            with pytest.raises(ConnectionClosed) as info:
                await recv_json(ws)
            assert info.value.rcvd is not None and info.value.rcvd.code == 1008
            assert "versions on offer" in info.value.rcvd.reason


async def test_slow_consumer_is_closed_with_1013_while_others_keep_up(fake_migrator) -> None:
    payload = "x" * 65536
    async with Broadcaster(
        rules=fake_migrator, queue_size=8, write_limit=2**15, close_timeout=10
    ) as b:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills fast
        sock.connect(("127.0.0.1", b.port))
        sock.setblocking(False)
        async with (
            connect(b.url, sock=sock, max_queue=1, max_size=None) as stalled,
            connect(b.url, max_size=None) as healthy,
        ):
            await asyncio.sleep(0.05)
            received: list[int] = []

            async def keep_reading() -> None:
                while True:
                    received.append((await recv_json(healthy))["seq"])

            reader = asyncio.create_task(keep_reading())
            seq = 0
            for _ in range(400):
                seq = await b.publish(
                    {"agentEmail": "a", "pad": payload}, subject="demo", version="1.0.0"
                )
                await asyncio.sleep(0)
                if b.stats()["slow_consumer_disconnects"]:
                    break
            assert b.stats()["slow_consumer_disconnects"] == 1
            assert b.stats()["consumers"] == 1
            for _ in range(3):
                seq = await b.publish({"agentEmail": "after"}, subject="demo", version="1.0.0")
            for _ in range(200):
                if received and received[-1] == seq:
                    break
                await asyncio.sleep(0.01)
            reader.cancel()
            assert received == list(range(1, seq + 1))  # every event, in order, no gap
            # The stalled consumer reads again: buffered frames, then the 1013 close.
            seen = 0
            with pytest.raises(ConnectionClosed) as info:
                while True:
                    seen = orjson.loads(await asyncio.wait_for(stalled.recv(), 5))["seq"]
            assert info.value.rcvd is not None and info.value.rcvd.code == 1013
            assert "since" in info.value.rcvd.reason
        # ... and comes back with since: nothing lost, since the ring still holds the rest.
        async with connect(f"{b.url}?since={seen}&epoch={b.epoch}", max_size=None) as back:
            resume = await recv_json(back)
            assert (resume["recovered"], resume["from_seq"]) == (True, seen + 1)
            replayed = [(await recv_json(back))["seq"] for _ in range(seq - seen)]
            assert replayed == list(range(seen + 1, seq + 1))


async def test_shutdown_closes_consumers_with_1001(fake_migrator) -> None:
    b = Broadcaster(rules=fake_migrator)
    await b.start()
    async with connect(b.url) as ws:
        await asyncio.sleep(0.05)
        await b.stop()
        await b.stop()  # idempotent
        with pytest.raises(ConnectionClosed) as info:
            await recv_json(ws)
        assert info.value.rcvd is not None and info.value.rcvd.code == 1001
    with pytest.raises(BroadcastError):
        await b.publish(EVENT, subject="demo", version="1.0.0")


async def test_every_start_is_a_new_epoch(fake_migrator) -> None:
    b = Broadcaster(rules=fake_migrator)
    async with b:
        first = b.epoch
        await b.publish(EVENT, subject="demo", version="1.0.0")
    async with b:
        assert b.epoch != first
        assert await b.publish(EVENT, subject="demo", version="1.0.0") == 1


async def test_shutdown_is_bounded_with_a_consumer_that_never_reads(fake_migrator) -> None:
    b = Broadcaster(rules=fake_migrator, queue_size=10_000, write_limit=1024, close_timeout=0.3)
    await b.start()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)  # small server send buffer
    sock.connect(("127.0.0.1", b.port))
    sock.setblocking(False)
    async with connect(b.url, sock=sock, max_queue=1, max_size=None) as stalled:
        while b.stats()["consumers"] == 0:
            await asyncio.sleep(0.01)
        for _ in range(200):
            await b.publish({"agentEmail": "a", "pad": "x" * 4096}, subject="demo", version="1.0.0")
            await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await b.stop()  # the queue cannot drain and the close handshake cannot complete
        assert loop.time() - started < 3.0
        assert b.stats()["slow_consumer_disconnects"] == 0  # queued, not dropped
        stalled.transport.abort()


HANDSHAKE = (
    b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


async def raw_consumer(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A consumer that completes the handshake and then reads nothing, not even pings; its
    small receive buffer fills fast."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(HANDSHAKE)
    assert b" 101 " in await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    return reader, writer


async def test_control_replies_to_a_stalled_consumer_are_bounded_too(fake_migrator) -> None:
    """A consumer that stops reading but keeps sending subscribe messages cannot grow its
    queue with the acknowledgements: it is closed like any consumer that falls behind."""
    async with Broadcaster(rules=fake_migrator, queue_size=4, write_limit=1024) as b:
        _, writer = await raw_consumer(b.port)
        while b.stats()["consumers"] == 0:
            await asyncio.sleep(0.01)
        consumer = next(c for group in b.hub.groups.values() for c in group)
        while len(consumer.queue) < 3:  # the socket buffers are full: frames are queued
            await b.publish({"agentEmail": "a", "pad": "x" * 8192}, subject="demo", version="1.0.0")
            await asyncio.sleep(0.01)
        assert b.stats()["slow_consumer_disconnects"] == 0
        subscribe = Frame(Opcode.TEXT, orjson.dumps({"subscribe": {"subject": "demo"}}))
        for _ in range(50):
            if b.stats()["slow_consumer_disconnects"]:
                break
            writer.write(subscribe.serialize(mask=True))
            await asyncio.sleep(0.01)
        assert b.stats()["slow_consumer_disconnects"] == 1
        assert len(consumer.queue) == 0 and b.stats()["consumers"] == 0
        writer.transport.abort()


async def test_keepalive_pings_drop_a_consumer_that_never_answers(fake_migrator) -> None:
    async with Broadcaster(rules=fake_migrator, ping_interval=0.1, close_timeout=0.2) as b:
        _, writer = await raw_consumer(b.port)
        loop = asyncio.get_running_loop()
        while b.stats()["consumers"] == 0:
            await asyncio.sleep(0.01)
        started = loop.time()
        while b.stats()["consumers"] and loop.time() - started < 5:  # pings go unanswered
            await asyncio.sleep(0.02)
        assert b.stats()["consumers"] == 0
        writer.transport.abort()


def test_bad_settings_are_refused(fake_migrator) -> None:
    for settings, message in [
        ({"port": 70000}, "port must be"),
        ({"queue_size": 0}, "queue_size"),
        ({"write_limit": 0}, "write_limit"),
    ]:
        with pytest.raises(ConfigError, match=message):
            Broadcaster(rules=fake_migrator, **settings)
    with pytest.raises(BroadcastError, match="replay_size"):
        Broadcaster(rules=fake_migrator, replay_size=-1)


def test_the_write_limit_is_inclusive() -> None:
    assert within_write_limit(1024, 1024) is True  # exactly at the limit: still writable
    assert within_write_limit(1025, 1024) is False
    assert within_write_limit(0, 1) is True


async def test_frames_sent_counts_frames_that_went_through_the_queue(fake_migrator) -> None:
    """A consumer that falls behind gets its frames from the slow-consumer queue once it
    reads again; every frame it receives is counted in frames_sent."""
    async with Broadcaster(rules=fake_migrator, queue_size=10_000, write_limit=1024) as b:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
        sock.connect(("127.0.0.1", b.port))
        sock.setblocking(False)
        async with connect(b.url, sock=sock, max_queue=1, max_size=None) as slow:
            while b.stats()["consumers"] == 0:
                await asyncio.sleep(0.01)
            queued = 0
            for _ in range(100):
                await b.publish({"agentEmail": "a", "pad": "x" * 8192}, subject="demo",
                                version="1.0.0")  # fmt: skip
                queued = max(queued, b.stats()["queued_frames"])
            assert queued > 0, "the socket took everything: the queue was not exercised"
            received = [await recv_json(slow, timeout=10) for _ in range(100)]
            assert [r["seq"] for r in received] == list(range(1, 101))
            assert b.stats()["frames_sent"] == 100 and b.stats()["queued_frames"] == 0


async def test_a_consumer_is_dropped_when_its_queue_would_exceed_queue_size(
    fake_migrator,
) -> None:
    async with Broadcaster(rules=fake_migrator, queue_size=4, write_limit=1024) as b:
        _, writer = await raw_consumer(b.port)
        while b.stats()["consumers"] == 0:
            await asyncio.sleep(0.01)
        most = 0
        for _ in range(500):
            await b.publish({"agentEmail": "a", "pad": "x" * 8192}, subject="demo", version="1.0.0")
            if b.stats()["slow_consumer_disconnects"]:
                break
            most = max(most, b.stats()["queued_frames"])
            await asyncio.sleep(0.005)
        assert b.stats()["slow_consumer_disconnects"] == 1
        assert most == 4  # the queue held queue_size frames, never more
        writer.transport.abort()
async def test_browser_origins_are_refused_unless_listed(fake_migrator) -> None:
    """Any web page could otherwise open ws://127.0.0.1:8765/?since=0 and read the ring."""
    async with Broadcaster(rules=fake_migrator) as b:
        await b.publish(EVENT, subject="demo", version="1.0.0")
        status, body = await refusal(b.url + "?since=0", origin="https://evil.example")
        assert status == 403 and "evil.example" in body
        stats_page = b.url.replace("ws://", "http://") + "stats"
        async with httpx.AsyncClient() as http:
            answer = await http.get(stats_page, headers={"Origin": "https://evil.example"})
            assert answer.status_code == 403
        async with connect(b.url + "?since=0") as not_a_browser:
            assert (await recv_json(not_a_browser))["control"] == "resume"
    async with (
        Broadcaster(rules=fake_migrator, origins=["*"]) as anyone,
        connect(anyone.url, origin="https://app.example") as ws,
    ):
        assert ws.protocol.state.name == "OPEN"
