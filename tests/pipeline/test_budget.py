"""Per-event work off the event loop under a budget (issue 11): a hostile or slow event can
stall neither /healthz, nor ingest, nor shutdown; over budget it becomes a dead letter."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from evolvekit.mapping.transforms import register_transform
from evolvekit.pipeline.budget import BoundedPrepare, budget_reason
from evolvekit.pipeline.config import PipelineSettings
from evolvekit.pipeline.pipeline import Pipeline, Rejected

from ..support.servers import RULES, SCHEMAS, SUBJECT, legacy_event
from .conftest import eventually

Factory = Callable[..., Any]
RELEASE = threading.Event()  # set by a test to let blocked transforms return
ENTERED = threading.Event()  # set when a worker is inside the slow transform


@register_transform("tests.block_until_released", replace=True)
def _block_until_released(value: Any) -> Any:
    """Stands for any work that takes long on one event (bounded here so no test can hang)."""
    ENTERED.set()
    RELEASE.wait(timeout=30)
    return value


@pytest.fixture
def slow_rules(tmp_path: Path) -> Iterator[Path]:
    """The shipped rules, with 1.0.0 -> 2.0.0 also mapping ``note`` through a hostile regex
    and ``slow`` through the blocking transform."""
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    path = rules / SUBJECT / "1.0.0_to_2.0.0.yaml"
    path.write_text(
        path.read_text()
        + "  - {from: note, to: noteCode, transform: {name: regex, "
        + 'pattern: "^([a-z]+)+[0-9]$"}}\n'
        + "  - {from: slow, to: slow, transform: tests.block_until_released}\n"
    )
    RELEASE.clear()
    ENTERED.clear()
    yield rules
    RELEASE.set()


async def test_over_budget_preparation_is_rejected_at_its_stage(slow_rules: Path) -> None:
    pipeline = Pipeline(SCHEMAS, slow_rules)
    pipeline.warm_up()  # compiled once, as the service does at start: not event work
    bounded = BoundedPrepare(pipeline, 500)
    try:
        result = await bounded.prepare(legacy_event(1, slow="x"))
        assert result == Rejected("migrate", budget_reason("migrate", 500))
        assert str(result.reason) == "migrate exceeded the per-event budget of 500 ms"
        # The stuck worker is left alone; the next events get a fresh one, in order.
        assert bounded.abandoned == 1 and not RELEASE.is_set()
        results = await asyncio.gather(*(bounded.prepare(legacy_event(n)) for n in (2, 3, 4)))
        assert [getattr(r, "event", {}).get("interactionId") for r in results] == [
            "INT-2", "INT-3", "INT-4",
        ]  # fmt: skip
    finally:
        RELEASE.set()
        bounded.close()


async def test_health_and_ingest_answer_while_an_event_is_stuck(
    make_service: Factory, slow_rules: Path
) -> None:
    settings = PipelineSettings(outbox_interval=0.05, shutdown_grace=2.0, event_budget_ms=1000)
    async with make_service(rules=str(slow_rules), pipeline=settings) as service:
        async with httpx.AsyncClient(base_url=service.ingest_url, timeout=10) as http:
            assert (await http.post("/ingest", json=legacy_event(1, slow="x"))).status_code == 202
            assert await eventually(ENTERED.is_set, 10)
            # The worker is inside the transform (it returns only once RELEASE is set), yet
            # the loop answers; the client timeout is a hang guard, not a speed assertion.
            health = await http.get("/healthz", timeout=5)
            assert health.status_code == 200 and not RELEASE.is_set()
            hostile = legacy_event(2, note="a" * 40 + "!")
            assert (await http.post("/ingest", json=hostile, timeout=5)).status_code == 202
            assert (await http.post("/ingest", json=legacy_event(3))).status_code == 202
            assert await eventually(lambda: service.counts().get("dead_letter") == 2, 20)
            assert await eventually(lambda: service.counts().get("done") == 1, 20)
        assert service.store is not None
        letters = {d["event"]["interactionId"]: d for d in service.store.dead_letters()}
        assert letters["INT-1"]["stage"] == "migrate"
        assert letters["INT-1"]["reason"] == "migrate exceeded the per-event budget of 1000 ms"
        assert letters["INT-2"]["stage"] == "migrate"
        assert "does not match '^([a-z]+)+[0-9]$'" in letters["INT-2"]["reason"]
    assert not RELEASE.is_set()  # the service stopped although a worker is still stuck


def test_budget_setting_is_checked() -> None:
    from evolvekit.errors import ConfigError
    from evolvekit.pipeline.config import build_config

    config = build_config({"pipeline": {"event_budget_ms": 250}})
    assert config.pipeline.event_budget_ms == 250
    assert PipelineSettings().event_budget_ms == 1000
    with pytest.raises(ConfigError, match="event_budget_ms: must be at least 1"):
        build_config({"pipeline": {"event_budget_ms": 0}})


def test_warm_up_leaves_broken_files_to_the_events_that_meet_them(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    (rules / SUBJECT / "1.0.0_to_2.0.0.yaml").write_text("rules:\n  - {from: a, too: b}\n")
    pipeline = Pipeline(SCHEMAS, rules)
    pipeline.warm_up()  # does not raise: other subjects and versions are still built
    result = pipeline.prepare(legacy_event(1))
    assert isinstance(result, Rejected) and result.stage == "migrate"
    assert "unknown key 'too'" in result.reason
    assert not isinstance(pipeline.prepare({"eventType": "agent.session", "AgentId": "1",
                                            "SessionId": "s", "IsActive": "True",
                                            "StartDate": "2024-01-01"}), Rejected)  # fmt: skip
