"""``evolvekit cluster status`` and the cluster half of ``evolvekit serve --redis URL``."""

from __future__ import annotations

import argparse
import asyncio
import signal
from collections.abc import Callable
from typing import Any

from evolvekit.errors import InputError, StoreError
from evolvekit.pipeline.config import REDIS_URL_ENV, ServiceConfig, load_config


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cluster = subparsers.add_parser(
        "cluster",
        help="inspect a cluster of serve nodes sharing Redis",
        description="A cluster is a set of 'evolvekit serve --redis URL --role ...' processes "
        "sharing Redis Streams (docs/cluster.md).",
    )
    sub = cluster.add_subparsers(dest="action", metavar="ACTION", required=True)
    status = sub.add_parser(
        "status",
        help="streams, the workers' lag and pending entries, outbox, dead letters, live nodes",
    )
    status.add_argument(
        "--redis", metavar="URL", help=f"the cluster's Redis (default: config, ${REDIS_URL_ENV})"
    )
    status.add_argument("--config", metavar="FILE", help="the nodes' TOML settings")
    status.add_argument("--format", choices=("text", "json"), default="text")
    status.set_defaults(func=run_status)


def run_status(args: argparse.Namespace) -> int:
    from evolvekit.cluster.connection import connect, unreachable_errors
    from evolvekit.cluster.keys import Keys
    from evolvekit.cluster.status import cluster_status, render_status
    from evolvekit.jsonio import dumps_str

    config = load_config(args.config, {"cluster.redis_url": args.redis})
    url = config.cluster.redis_url
    if not url:
        raise InputError(f"no Redis URL: give --redis URL, [cluster] redis_url or {REDIS_URL_ENV}")

    async def read() -> dict[str, Any]:
        client = connect(url, socket_timeout=5.0)
        try:
            return await cluster_status(client, Keys(config.cluster.name))
        except unreachable_errors() as exc:
            raise StoreError(f"Redis is unreachable: {exc}") from None
        finally:
            await client.aclose()

    status = asyncio.run(read())
    print(dumps_str(status, indent=True) if args.format == "json" else render_status(status))
    return 0


def serve_node(config: ServiceConfig, announce: Callable[[str], None]) -> int:
    from evolvekit.cluster.node import ClusterNode

    node = ClusterNode(config, announce=announce)
    asyncio.run(_serve(node, announce))
    return 0


async def _serve(node: Any, announce: Callable[[str], None]) -> None:
    from evolvekit.cluster.connection import redacted

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await node.start()
    try:
        print(f"node      {node.node_id}  role {node.role_text}", flush=True)
        print(f"cluster   {node.config.cluster.name} on {redacted(node.redis_url)}", flush=True)
        ingest = "/ingest, " if node.endpoint is not None else ""
        print(f"http      {node.ingest_url}  ({ingest}/healthz, /metrics)", flush=True)
        if node.broadcaster is not None:
            print(f"consumers {node.broadcaster.url}?subject=S&version=V", flush=True)
        if node.cxone is not None:
            simulated = " (simulator)" if node.simulator is not None else ""
            print(f"cxone     {node.cxone.config.api_base_url}{simulated}", flush=True)
        print("ready", flush=True)
        await stop.wait()
    finally:
        announce("stopping: no new events accepted, finishing those in flight")
        await node.stop()
        announce("stopped")
