"""Fixtures for the CXone tests: an in-process simulator and fast client settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from evolvekit.cxone.client import CXoneClient
from evolvekit.cxone.config import CXoneConfig
from evolvekit.cxone.simulator import SimulatorApp, create_app

SIM_URL = "http://simulator.test"


class SleepRecorder:
    """Stands in for asyncio.sleep: records the waits, returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sim() -> SimulatorApp:
    return create_app()


@pytest.fixture
def fast_config() -> CXoneConfig:
    # Zero backoff keeps retry-heavy tests fast; Retry-After waits go to a SleepRecorder.
    # Pacing starts high so the in-process tests are not slowed by the ramp-up.
    return CXoneConfig.for_simulator(
        SIM_URL, backoff_base=0.0, max_attempts=6, rate_limit_initial=5000.0, rate_limit_max=5000.0
    )


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
def make_client(
    sim: SimulatorApp, fast_config: CXoneConfig, sleeps: SleepRecorder
) -> Callable[..., CXoneClient]:
    def make(app: Any = None, config: CXoneConfig | None = None, **kwargs: Any) -> CXoneClient:
        transport = httpx.ASGITransport(app=app or sim)
        kwargs.setdefault("sleep", sleeps)
        return CXoneClient(config or fast_config, transport=transport, **kwargs)

    return make
