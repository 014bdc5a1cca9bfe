"""Version negotiation with the real Migrator over the shipped interaction.completed schemas
and rules: consumers of different versions receive the same event in their own shapes, each
valid against its own schema."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from evolvekit.broadcast.broadcaster import Broadcaster

SUBJECT = "interaction.completed"
LEGACY = {
    "eventType": "interaction.completed",
    "timestamp": "2024-05-20T08:15:31Z",
    "customerId": "CUST-1",
    "interactionId": "INT-1",
    "agentEmail": "agent.smith@company.com",
    "callDuration": 245,
}


async def test_each_version_gets_its_own_valid_shape(real_migrator: Any) -> None:
    registry = real_migrator.registry
    versions = registry.versions(SUBJECT)
    assert {"1.0.0", "2.0.0", "3.0.0"} <= set(versions)
    async with Broadcaster(rules=real_migrator) as b:
        base = f"{b.url}?subject={SUBJECT}&version="
        sockets = [await connect(base + v) for v in versions]
        try:
            await asyncio.sleep(0.05)
            seq = await b.publish(LEGACY, subject=SUBJECT, version="1.0.0")
            frames = [orjson.loads(await asyncio.wait_for(ws.recv(), 5)) for ws in sockets]
        finally:
            for ws in sockets:
                await ws.close()
    shapes = {}
    for version, frame in zip(versions, frames, strict=True):
        assert "control" not in frame, frame
        assert frame["seq"] == seq and frame["schema_version"] == version
        assert frame["event_type"] == "interaction.completed"
        assert frame["timestamp"] == LEGACY["timestamp"]
        validator = registry.validator(SUBJECT, version)
        assert validator.errors(frame["payload"]) == [], (version, frame["payload"])
        shapes[version] = frame["payload"]
    assert shapes["1.0.0"]["agentEmail"] == "agent.smith@company.com"
    assert shapes["2.0.0"]["agentId"] == "agent.smith@company.com"
    assert "agentEmail" not in shapes["2.0.0"]
    assert shapes["3.0.0"]["agent"]["id"] == "agent.smith@company.com"


async def test_downgrade_and_detection(real_migrator: Any) -> None:
    """A 3.0.0 event published without a version is detected, and reaches a 1.0.0 consumer
    down the rule chain."""
    examples = real_migrator.registry.root / SUBJECT / "examples" / "3.0.0.jsonl"
    newest = orjson.loads(examples.read_bytes().splitlines()[0])
    async with Broadcaster(rules=real_migrator) as b, connect(b.url + "?version=1.0.0") as v1:
        await asyncio.sleep(0.05)
        await b.publish(newest, subject=SUBJECT)
        frame = orjson.loads(await asyncio.wait_for(v1.recv(), 5))
    assert frame.get("control") is None, frame
    assert frame["schema_version"] == "1.0.0"
    assert real_migrator.registry.validator(SUBJECT, "1.0.0").errors(frame["payload"]) == []
    assert frame["payload"]["agentEmail"] == newest["agent"]["id"]


async def test_unknown_version_refused_with_the_offer(real_migrator: Any) -> None:
    async with Broadcaster(rules=real_migrator) as b:
        with pytest.raises(InvalidStatus) as info:
            async with connect(f"{b.url}?subject={SUBJECT}&version=9.0.0"):
                pass
    response = info.value.response
    assert response.status_code == 400
    assert "versions on offer: 1.0.0, 2.0.0, 2.1.0, 3.0.0" in response.body.decode()


async def test_folders_and_a_built_registry_are_accepted(real_migrator: Any) -> None:
    from evolvekit.schema.registry import SchemaRegistry

    schemas, rules = real_migrator.registry.root, real_migrator.rules_root
    for given in (
        {"schemas": str(schemas), "rules": str(rules)},
        {"schemas": SchemaRegistry(schemas), "rules": rules},
    ):
        async with Broadcaster(**given) as b, connect(b.url + "?version=2.0.0") as v2:
            await asyncio.sleep(0.05)
            await b.publish(LEGACY, subject=SUBJECT, version="1.0.0")
            frame = orjson.loads(await asyncio.wait_for(v2.recv(), 5))
        assert frame["payload"]["agentId"] == LEGACY["agentEmail"], given
