"""Start-up steps shared by the single-node service (``pipeline/service.py``) and a cluster
node (``cluster/node.py``): secrets out of the logs and ports checked before anything
listens, the CXone target (or a built-in simulator when none is configured), and the
uvicorn server of an ingest port (its socket, settings and start-up). One copy, so the two
kinds of node cannot drift apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import uvicorn

from evolvekit import logsafe
from evolvekit.errors import ConfigError
from evolvekit.pipeline.config import ServiceConfig
from evolvekit.pipeline.guards import check_exposure
from evolvekit.pipeline.http_protocol import HeaderDeadlineProtocol

if TYPE_CHECKING:
    from evolvekit.cxone.config import CXoneConfig
    from evolvekit.cxone.uvicorn_thread import SimulatorServer
    from evolvekit.pipeline.config import IngestSettings


def resolve_cxone(
    section: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> CXoneConfig | None:
    """CXone settings from the config's ``[cxone]`` (flags included), completed by
    ``CXONE_*`` variables; None when there are none at all (publish to a simulator)."""
    from evolvekit.cxone.config import ENV_VARS, CXoneConfig

    env = os.environ if environ is None else environ
    values: dict[str, Any] = {k: v for k, v in section.items() if v is not None}
    for name, var in ENV_VARS.items():
        raw = env.get(var, "").strip()
        if raw and name not in values:
            values[name] = raw
    credentials = ("client_id", "client_secret", "token", "access_key_id", "access_key_secret")
    if "base_url" not in values and not any(k in values for k in credentials):
        return None
    if "auth_mode" not in values:
        if "access_key_id" in values or "access_key_secret" in values:
            values["auth_mode"] = "cxone_password"
        elif "token" in values and "client_id" not in values:
            values["auth_mode"] = "bearer"
    config = CXoneConfig.from_mapping(values, source="[cxone] settings")
    config.require_credentials()
    return config


def guard_ports(
    config: ServiceConfig, *, ingest_label: str, broadcast: bool, warn: Callable[[str], None]
) -> None:
    """Register the configured tokens as secrets (no log line shows them) and refuse a port
    bound off loopback without a token unless ``insecure`` (docs/security.md)."""
    logsafe.register_secret(config.ingest.token)
    logsafe.register_secrets(config.broadcast.tokens)
    logsafe.install()
    check_exposure(
        ingest_label,
        config.ingest.host,
        config.ingest.token is not None,
        insecure=config.insecure,
        warn=warn,
        how="[ingest] token or EVOLVEKIT_INGEST_TOKEN",
    )
    if broadcast:
        check_exposure(
            "the broadcaster",
            config.broadcast.host,
            bool(config.broadcast.tokens),
            insecure=config.insecure,
            warn=warn,
            how="[broadcast] tokens or EVOLVEKIT_BROADCAST_TOKENS",
        )


async def open_cxone_target(
    config: ServiceConfig, environ: Mapping[str, str] | None
) -> tuple[CXoneConfig, SimulatorServer | None]:
    """The CXone settings of ``[cxone]`` and ``CXONE_*``; with none at all, a built-in
    simulator started for this process (returned, to be stopped). Every credential is
    registered as a secret, so no log line shows it."""
    from evolvekit.cxone.config import CXoneConfig

    simulator = None
    cxone = resolve_cxone(config.cxone, environ)
    if cxone is None:
        from evolvekit.cxone.simulator import create_app
        from evolvekit.cxone.uvicorn_thread import SimulatorServer

        settings = config.simulator
        simulator = SimulatorServer(
            create_app(faults=settings.faults, rate_limit=settings.rate_limit)
        )
        url = await asyncio.to_thread(simulator.start)
        # Tuning keys of [cxone] (retries, timeouts, pacing) apply to the simulator too.
        cxone = CXoneConfig.for_simulator(url, **config.cxone)
    for name in ("client_secret", "token", "access_key_secret"):
        secret = getattr(cxone, name, None)  # a cxone.config.Secret, or None
        logsafe.register_secret(secret.reveal() if secret is not None else None)
    return cxone, simulator


def ingest_server_config(app: Any, settings: IngestSettings) -> uvicorn.Config:
    """uvicorn settings of an ingest port: past ``max_connections`` new requests get 503,
    idle keep-alives close after ``keep_alive_timeout``, and a client trickling its request
    line and headers is cut off after ``body_timeout`` (slow bodies: the ingest handler)."""
    return uvicorn.Config(
        app,
        log_level="warning",
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=5,
        server_header=False,
        limit_concurrency=settings.max_connections,
        timeout_keep_alive=max(1, round(settings.keep_alive_timeout)),
        http=HeaderDeadlineProtocol.with_timeout(settings.body_timeout),
    )


class IngestServer(uvicorn.Server):
    """uvicorn without its signal handling: the node owns SIGTERM/SIGINT (uvicorn would
    re-raise them after its own shutdown, killing the process before ours is done)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def listen_socket(host: str, port: int, *, label: str) -> socket.socket:
    """A listening, non-blocking TCP socket on ``host:port`` (0: a free port); a port that
    cannot be bound is a ConfigError naming ``label`` and the address."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only for
    # sockets that say so, and without it every answer waits for a delayed ACK (~40 ms).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"the {label} cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from None
    sock.listen(1024)
    sock.setblocking(False)
    return sock


async def start_ingest_server(
    app: Any, settings: IngestSettings, *, label: str, task_name: str
) -> tuple[IngestServer, asyncio.Task[None], int]:
    """Serve ``app`` on the ingest host and port (``ingest_server_config``); returns once it
    accepts connections: the server (``should_exit`` stops it), its task and the bound port."""
    sock = listen_socket(settings.host, settings.port, label=label)
    port = int(sock.getsockname()[1])
    server = IngestServer(ingest_server_config(app, settings))
    task = asyncio.create_task(server.serve(sockets=[sock]), name=task_name)
    while not server.started:
        if task.done():
            task.result()
            raise ConfigError(f"the {label} stopped during start-up")
        await asyncio.sleep(0.01)
    return server, task, port
