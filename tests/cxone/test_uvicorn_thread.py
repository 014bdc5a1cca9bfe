from __future__ import annotations

import socket

import httpx
import pytest

from evolvekit.cxone.simulator import create_app
from evolvekit.cxone.uvicorn_thread import SimulatorServer
from evolvekit.errors import ConfigError


def test_server_reports_a_port_it_cannot_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(ConfigError, match=f"could not listen on 127.0.0.1:{port}"):
            SimulatorServer(create_app(), port=port).start()


def test_start_and_stop() -> None:
    server = SimulatorServer(create_app())
    base = server.start()
    assert base == server.base_url and server.port != 0
    assert httpx.get(f"{base}/_simulator/stats").status_code == 200
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/_simulator/stats")
