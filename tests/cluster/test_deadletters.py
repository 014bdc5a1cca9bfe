"""The Redis dead-letter store against a real redis-server: records, requeue, purge."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from evolvekit.cluster.connection import Scripts, connect
from evolvekit.cluster.deadletters import RedisDeadLetters, letter_json
from evolvekit.cluster.keys import GROUP, Keys

from ..support.servers import legacy_event
from .conftest import RedisServer


def test_requeue_keeps_the_idempotency_key_and_happens_once(redis_server: RedisServer) -> None:
    keys = Keys("t")

    async def scenario() -> None:
        client = connect(redis_server.url)
        try:
            scripts = Scripts(client)
            await client.xgroup_create(keys.ingest, GROUP, id="0", mkstream=True)
            entry = await client.xadd(keys.ingest, {"id": "1", "event": "{}"})
            await client.xreadgroup(GROUP, "w", {keys.ingest: ">"})
            record, at = letter_json("publish", "refused", legacy_event(1), "s", "1.0.0", "k-1")
            args = [GROUP, entry, record, at]
            dead = [keys.ingest, keys.dead_ids, keys.dead, keys.dead_index]
            assert await scripts.dead(keys=dead, args=args) == 1
            assert await scripts.dead(keys=dead, args=args) == -1  # acknowledged once only
            letters = RedisDeadLetters(client, keys)
            [letter] = await letters.dead_letters()
            assert set(letter) == {"id", "at", "stage", "reason", "subject", "version", "event"}
            assert letter["event"] == legacy_event(1)
            new_id = await letters.requeue_dead_letter(1, letter["event"], "s")
            assert new_id == 1  # the ingest id counter's first value
            assert await letters.requeue_dead_letter(1, letter["event"], "s") is None
            [(_, fields)] = await client.xrange(keys.ingest, min=f"({entry}")
            assert fields["key"] == "k-1" and fields["subject"] == "s"
            assert await letters.count() == 0
        finally:
            await client.aclose()

    asyncio.run(scenario())


def test_purge_by_age(redis_server: RedisServer) -> None:
    keys = Keys()

    async def scenario() -> None:
        client = connect(redis_server.url)
        try:
            for letter_id, age in ((1, 3600.0), (2, 10.0)):
                record, at = letter_json("validate", "bad", {"n": letter_id}, None, None)
                await client.hset(keys.dead, str(letter_id), record)
                await client.zadd(keys.dead_index, {str(letter_id): at - age})
            letters = RedisDeadLetters(client, keys)
            assert await letters.purge(timedelta(minutes=30)) == 1
            assert [x["id"] for x in await letters.dead_letters()] == [2]
            assert await letters.purge(timedelta(0)) == 1
            assert await letters.dead_letters() == []
        finally:
            await client.aclose()

    asyncio.run(scenario())
