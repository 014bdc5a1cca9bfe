"""The one outbox retrier (evolvekit.cxone.outbox), as the CLI and the service use it."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import pytest

from evolvekit.cxone.client import CXoneClient
from evolvekit.cxone.outbox import OutboxRetrier
from evolvekit.cxone.retry import backoff_delay
from evolvekit.cxone.simulator import SimulatorApp
from evolvekit.store import Store

MakeClient = Callable[..., CXoneClient]


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path)


async def test_a_failed_entry_waits_at_least_min_delay_plus_backoff(
    make_client: MakeClient, sim: SimulatorApp, store: Store
) -> None:
    store.outbox_put({"n": 1}, "k-1", "HTTP 503")
    sim.state.set_faults("503x6")  # every attempt of this pass fails
    async with make_client() as cx:
        retrier = OutboxRetrier(cx, store, rng=random.Random(3), clock=lambda: 1000.0)
        counts = await retrier.run_once()
    assert (counts.attempted, counts.retried, counts.remaining) == (1, 1, 1)
    [entry] = store.outbox_due(now=10**9)
    expected = 1000.0 + 30.0 + backoff_delay(1, 30.0, 3600.0, random.Random(3))
    assert entry["next_attempt_at"] == pytest.approx(expected)
    assert entry["next_attempt_at"] >= 1030.0 and entry["attempts"] == 1


async def test_outcomes_are_reported_and_refusals_dead_lettered(
    make_client: MakeClient, sim: SimulatorApp, store: Store
) -> None:
    store.outbox_put({"n": 1}, "k-1", "HTTP 503")
    store.outbox_put({"n": 2}, "k-2", "HTTP 503")
    sim.state.set_faults("422")  # the first is refused for good, the second goes through
    seen: list[tuple[str, str]] = []
    async with make_client() as cx:
        retrier = OutboxRetrier(
            cx,
            store,
            concurrency=1,
            on_outcome=lambda entry, what: seen.append((entry["key"], what)),
        )
        counts = await retrier.run_once()
    assert seen == [("k-1", "dead_lettered"), ("k-2", "published")]
    assert (counts.published, counts.dead_lettered, counts.remaining) == (1, 1, 0)
    [letter] = store.dead_letters()
    assert letter["stage"] == "publish" and "422" in letter["reason"]
    assert sim.state.events() == [{"n": 2}]
