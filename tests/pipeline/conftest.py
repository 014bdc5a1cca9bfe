"""Fixtures for the pipeline tests: the repository's schemas/rules, sample events, a Service
on loopback with ephemeral ports publishing to an in-process simulator."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from evolvekit.pipeline.config import (
    BroadcastSettings,
    IngestSettings,
    PipelineSettings,
    ServiceConfig,
    SimulatorSettings,
)
from evolvekit.pipeline.service import Service, wait_until

from ..support.servers import RULES, SCHEMAS, free_port, stop_process, wait_until_up


async def eventually(condition: Callable[[], object], timeout: float = 30.0) -> bool:
    """A bounded wait on a state, generous enough for a loaded 2-core CI machine (never a
    fixed sleep that a slow run could outlast)."""
    return await wait_until(condition, timeout)


def service_config(data_dir: Path, **sections: Any) -> ServiceConfig:
    """Loopback, ephemeral ports, the repository's folders, fast retries."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "schemas": str(SCHEMAS),
        "rules": str(RULES),
        "ingest": IngestSettings(port=0),
        "broadcast": BroadcastSettings(port=0),
        "pipeline": PipelineSettings(
            outbox_interval=0.05,
            outbox_backoff_base=0.05,
            outbox_backoff_cap=0.2,
            shutdown_grace=5.0,
        ),
        "simulator": SimulatorSettings(),
        "cxone": {},
    }
    values.update(sections)
    return ServiceConfig(**values)


@pytest.fixture
def make_service(tmp_path: Path) -> Callable[..., Any]:
    """``async with make_service(**sections) as svc``: a started Service, stopped after."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def make(
        data_dir: Path | None = None, environ: dict[str, str] | None = None, **sections: Any
    ) -> AsyncIterator[Service]:
        config = service_config(data_dir or tmp_path / "data", **sections)
        service = Service(config, announce=lambda message: None, environ=environ or {})
        await service.start()
        try:
            yield service
        finally:
            await service.stop()

    return make


@pytest.fixture
def simulator_process() -> Iterator[str]:
    """``evolvekit simulator`` in its own process (its own core and GIL): the base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "evolvekit", "simulator", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/_simulator/stats")
        yield url
    finally:
        stop_process(process, timeout=10)
        if process.stderr is not None:
            process.stderr.close()
