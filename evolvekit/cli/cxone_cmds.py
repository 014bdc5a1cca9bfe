"""``evolvekit simulator`` and ``evolvekit publish``: the CXone commands.

Parsing and printing only; the work is done by ``evolvekit.cxone``. ``publish`` exits 0 when
every event was published, 1 when any went to the outbox or failed, 2 on bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from evolvekit.cxone.config import CREDENTIAL_VARS, ENV_VARS, TARGETS, CXoneConfig
from evolvekit.cxone.simulator import FAULT_SPEC_HELP, create_app, parse_fault_spec
from evolvekit.errors import InputError
from evolvekit.jsonio import iter_jsonl, loads
from evolvekit.pipeline.config import IngestSettings

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
DEFAULT_MAX_EVENT_BYTES = IngestSettings().max_event_bytes  # the service's limit


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sim = subparsers.add_parser(
        "simulator",
        help="run the built-in CXone simulator (uvicorn, foreground)",
        description=(
            "Run a local CXone: OAuth token endpoint, events API, fault injection and\n"
            "inspection endpoints (GET /_simulator/events, GET /_simulator/stats,\n"
            "POST /_simulator/reset, POST /_simulator/faults). Accepts any client id and\n"
            "secret unless --client-id/--client-secret are given.\n\n"
            "GET /_simulator/events lists every stored entry in order as\n"
            '{"path", "key", "target", "body"}: the request path, the idempotency key it\n'
            "was stored under (null if none), events|dfo|workitem, and the body as stored;\n"
            "?bodies=true lists only the bodies.\n\n"
            'At run time, POST /_simulator/faults {"spec": SPEC} replaces the faults, and\n'
            'the keys "rate_limit", "token_ttl", "scopes", "retry_after" and "latency_ms"\n'
            'change those settings (e.g. {"rate_limit": 50, "token_ttl": 2}).'
        ),
        epilog=FAULT_SPEC_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _simulator_options(sim)
    sim.set_defaults(func=run_simulator)
    _register_publish(subparsers)
    from evolvekit.cli import cxone_checks

    cxone_checks.register(subparsers)


def _simulator_options(sim: argparse.ArgumentParser) -> None:
    # Three groups, added in the order --help has always listed them.
    _simulator_server_options(sim)
    _simulator_fault_options(sim)
    _simulator_pacing_options(sim)


def _simulator_server_options(sim: argparse.ArgumentParser) -> None:
    """Where it listens, which auth profile it speaks, its rate limit and token lifetime."""
    sim.add_argument("--host", default="127.0.0.1", help="listen address (127.0.0.1)")
    sim.add_argument("--port", type=int, default=8088, help="listen port (8088; 0 = any free)")
    sim.add_argument(
        "--profile",
        choices=("tutorial", "cxone"),
        default="tutorial",
        help="tutorial: /oauth/token client credentials; cxone: OpenID discovery, "
        "password grant, api_endpoint discovery, Accept quirk",
    )
    sim.add_argument(
        "--rate-limit",
        type=float,
        metavar="N",
        help="requests per second per client (token bucket, burst = 1 s)",
    )
    sim.add_argument(
        "--token-ttl",
        type=float,
        default=3600,
        metavar="S",
        help="token lifetime in seconds (3600)",
    )


def _simulator_fault_options(sim: argparse.ArgumentParser) -> None:
    """The failures it injects: fault SPEC, scope limit, form of Retry-After."""
    sim.add_argument("--faults", default="", metavar="SPEC", help="fault SPEC (see below)")
    sim.add_argument(
        "--scopes",
        metavar="SCOPES",
        help="the most a token may hold, e.g. 'events:read' to provoke 403",
    )
    sim.add_argument(
        "--retry-after",
        choices=("seconds", "date", "none"),
        default="seconds",
        help="form of Retry-After on 429 (seconds; none: no header, as the platform often)",
    )


def _simulator_pacing_options(sim: argparse.ArgumentParser) -> None:
    """Data Extraction pacing, limit headers, latency and required credentials."""
    sim.add_argument(
        "--extraction-spacing",
        type=float,
        default=30.0,
        metavar="S",
        help="Data Extraction: seconds required between calls (30)",
    )
    sim.add_argument(
        "--extraction-url-ttl",
        type=float,
        default=30.0,
        metavar="S",
        help="Data Extraction: seconds a download URL stays valid (30)",
    )
    sim.add_argument(
        "--no-limit-headers",
        action="store_true",
        help="do not state the rate limit in X-RateLimit-* headers",
    )
    sim.add_argument(
        "--latency",
        type=float,
        default=0.0,
        metavar="MS",
        help="add MS milliseconds to every API request (0), as a distant server would",
    )
    sim.add_argument("--client-id", help="require this client id")
    sim.add_argument("--client-secret", help="require this client secret")


def _register_publish(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    pub = subparsers.add_parser(
        "publish",
        help="publish JSONL events to CXone (or to a simulator started for the purpose)",
        description="Publish each line of EVENTS.jsonl. With no --base-url and no CXONE_* "
        "credentials, a built-in simulator is started for the run. Events that still fail "
        "after their retries go to the outbox in --data-dir; --retry-outbox sends them again. "
        "Exit 0 when every event was published, 1 when any went to the outbox or failed.",
        epilog="Credentials: " + ", ".join(ENV_VARS.values()),
    )
    pub.add_argument("events", metavar="EVENTS.jsonl", nargs="?", help="one JSON event a line")
    pub.add_argument("--base-url", help="CXone API base URL (default: $CXONE_BASE_URL)")
    pub.add_argument("--concurrency", type=int, default=8, metavar="N", help="in flight (8)")
    pub.add_argument(
        "--key-field",
        metavar="PATH",
        help="dot path of the field holding each event's idempotency key",
    )
    pub.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where the outbox lives ($EVOLVEKIT_DATA_DIR or ./.evolvekit)",
    )
    pub.add_argument(
        "--max-attempts",
        type=int,
        metavar="N",
        help="HTTP attempts per event before it goes to the outbox (6)",
    )
    pub.add_argument(
        "--max-event-bytes",
        type=int,
        default=DEFAULT_MAX_EVENT_BYTES,
        metavar="N",
        help=f"larger events are not sent but dead-lettered, as the service does "
        f"({DEFAULT_MAX_EVENT_BYTES})",
    )
    pub.add_argument(
        "--retry-outbox",
        action="store_true",
        help="send the outbox's due events again (before EVENTS, if given)",
    )
    add_target_options(pub)
    pub.set_defaults(func=run_publish)


def add_target_options(parser: argparse.ArgumentParser) -> None:
    """--target, --template, --dfo-channel: shared by publish, cxone doctor and verify."""
    parser.add_argument(
        "--target",
        choices=TARGETS,
        help="events (the tutorial API), dfo (DFO 3.0 messages) or workitem "
        "(default: $CXONE_TARGET, else dfo for the platform's auth modes, else events)",
    )
    parser.add_argument(
        "--template",
        metavar="FILE",
        help="template mapping event fields to the DFO message / work item "
        "(default: $CXONE_TEMPLATE, else the built-in one; examples in templates/cxone/)",
    )
    parser.add_argument(
        "--dfo-channel", metavar="ID", help="DFO channel id (default: $CXONE_DFO_CHANNEL_ID)"
    )


def apply_target_options(config: CXoneConfig, args: argparse.Namespace) -> CXoneConfig:
    changes = {
        "target": args.target,
        "template": args.template,
        "dfo_channel_id": args.dfo_channel,
    }
    changes = {k: v for k, v in changes.items() if v is not None}
    return config.replace(**changes) if changes else config


def run_simulator(args: argparse.Namespace) -> int:
    import uvicorn

    parse_fault_spec(args.faults)  # a bad SPEC is exit 2 before anything listens
    app = create_app(
        args.profile,
        rate_limit=args.rate_limit,
        token_ttl=args.token_ttl,
        faults=args.faults,
        client_id=args.client_id,
        client_secret=args.client_secret,
        scopes=args.scopes,
        retry_after=args.retry_after,
        limit_headers=not args.no_limit_headers,
        latency_ms=args.latency,
        extraction_spacing=args.extraction_spacing,
        extraction_url_ttl=args.extraction_url_ttl,
    )
    print(
        f"CXone simulator (profile {args.profile}) on http://{args.host}:{args.port}",
        file=sys.stderr,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", lifespan="off")
    return 0


def _dig(event: Any, path: str) -> Any:
    value = event
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def read_events(path: str, key_field: str | None) -> tuple[list[Any], list[str | None]]:
    """Events of a JSONL file, and their keys from ``key_field`` (InputError names the line)."""
    events: list[Any] = []
    keys: list[str | None] = []
    try:
        stream = Path(path).open("rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=path) from None
    with stream:
        for line, raw in iter_jsonl(stream):
            event = loads(raw, source=path, line=line)
            key: str | None = None
            if key_field:
                value = _dig(event, key_field)
                if value is None or isinstance(value, dict | list | bool):
                    raise InputError(
                        f"no usable idempotency key at {key_field!r}", file=path, line=line
                    )
                key = str(value)
            events.append(event)
            keys.append(key)
    return events, keys


def _drop_oversized(
    path: str | None,
    events: list[Any],
    keys: list[str | None],
    args: argparse.Namespace,
    store: Any,
) -> tuple[list[Any], list[str | None], int]:
    """Events over ``--max-event-bytes`` are not sent (the service refuses them too): each
    gets an error line and a dead letter (stage ``publish``). The rest, and how many went."""
    if path is None:
        return events, keys, 0
    limit = args.max_event_bytes
    with Path(path).open("rb") as stream:  # the same lines read_events parsed, in order
        sizes = [(line, len(raw)) for line, raw in iter_jsonl(stream)]
    kept: list[Any] = []
    kept_keys: list[str | None] = []
    for event, key, (line, size) in zip(events, keys, sizes, strict=True):
        if size <= limit:
            kept.append(event)
            kept_keys.append(key)
            continue
        reason = f"{path}: line {line}: {size} bytes, over max_event_bytes {limit}; not sent"
        store.dead_letter("publish", reason, event)
        print(f"evolvekit: {reason} (kept as a dead letter)", file=sys.stderr)
    return kept, kept_keys, len(events) - len(kept)


def _choose_target(args: argparse.Namespace) -> tuple[CXoneConfig | None, str]:
    """The config to use, or None meaning "start a simulator"; plus a note for the user."""
    env_config = CXoneConfig.from_env(base_url=args.base_url)
    base = env_config.base_url
    if env_config.has_credentials:
        return env_config, f"publishing to {env_config.api_base_url}"
    if base is None and not any(os.environ.get(v) for v in CREDENTIAL_VARS):
        return None, "no --base-url and no CXONE_* credentials"
    if base is not None and urlsplit(base).hostname in _LOOPBACK:
        return (
            CXoneConfig.for_simulator(base, target=_env_target()),
            f"no credentials for local {base}: assuming a simulator",
        )
    env_config.require_credentials()  # raises ConfigError naming the variables to set
    return env_config, f"publishing to {env_config.api_base_url}"


def run_publish(args: argparse.Namespace) -> int:
    from evolvekit.store import Store, default_data_dir

    if not args.events and not args.retry_outbox:
        raise InputError("give EVENTS.jsonl and/or --retry-outbox")
    if args.concurrency < 1:
        raise InputError("--concurrency must be at least 1")
    if args.max_event_bytes < 1:
        raise InputError("--max-event-bytes must be at least 1")
    events, keys = read_events(args.events, args.key_field) if args.events else ([], [])
    config, note = _choose_target(args)
    if args.max_attempts is not None:
        if args.max_attempts < 1:
            raise InputError("--max-attempts must be at least 1")
        config = config.replace(max_attempts=args.max_attempts) if config else None
    store = Store(Path(args.data_dir) if args.data_dir else default_data_dir())
    server = None
    try:
        events, keys, too_large = _drop_oversized(args.events, events, keys, args, store)
        if config is None:
            if args.retry_outbox:
                # Emptying the outbox into a throwaway simulator would lose the events.
                raise InputError(
                    "--retry-outbox needs a real target: give --base-url or set CXONE_* credentials"
                )
            from evolvekit.cxone.simulator import SimulatorServer

            server = SimulatorServer(create_app())
            base = server.start()
            config = CXoneConfig.for_simulator(base, target=args.target or _env_target())
            if args.max_attempts is not None:
                config = config.replace(max_attempts=args.max_attempts)
            note = f"{note}: started the built-in simulator at {base}"
        config = apply_target_options(config, args)
        print(f"evolvekit: {note} (target {config.resolved_target})", file=sys.stderr)
        code = asyncio.run(_publish(config, store, events, keys, args))
        return 1 if too_large else code
    finally:
        if server is not None:
            server.stop()
        store.close()


async def _publish(
    config: CXoneConfig,
    store: Any,
    events: list[Any],
    keys: list[str | None],
    args: argparse.Namespace,
) -> int:
    from evolvekit.cxone.client import CXoneClient

    failed = False
    async with CXoneClient(config, store=store) as cx:
        if args.retry_outbox:
            summary = await cx.retry_outbox(concurrency=args.concurrency)
            print(
                f"outbox: {summary['attempted']} due, {summary['published']} published, "
                f"{summary['dead_lettered']} refused (now dead letters), "
                f"{summary['remaining']} remaining"
            )
            failed = summary["published"] < summary["attempted"]
        if events:
            bar = _progress(len(events))
            try:
                results = await cx.publish_many(
                    events,
                    concurrency=args.concurrency,
                    keys=keys if args.key_field else None,
                    on_progress=(lambda done, total, result: bar.update(1)) if bar else None,
                )
            finally:
                if bar is not None:
                    bar.close()
            published = sum(r.ok for r in results)
            retried = sum(r.retried for r in results)
            throttled = sum(r.throttled for r in results)
            outbox = sum(r.status == "outbox" for r in results)
            invalid = [r for r in results if r.status == "failed"]
            print(
                f"published {published}, retried {retried}, throttled {throttled}, "
                f"sent to outbox {outbox}, failed {len(invalid)} (of {len(results)})"
            )
            for result in invalid[:10]:
                print(f"  failed: {result.error}", file=sys.stderr)
            capped = sum(r.retry_after_capped for r in results)
            if capped:
                print(
                    f"  {capped} event(s) were asked to wait longer than the cap "
                    f"({config.retry_after_cap:g} s, retry_after_cap) and retried sooner",
                    file=sys.stderr,
                )
            if outbox:
                print(f"  outbox: {store.path} (evolvekit publish --retry-outbox)", file=sys.stderr)
            failed = failed or published < len(results)
    return 1 if failed else 0


def _env_target() -> str | None:
    return os.environ.get(ENV_VARS["target"]) or None


def _progress(total: int) -> Any:
    if not sys.stderr.isatty() or total < 2:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="event", file=sys.stderr)
