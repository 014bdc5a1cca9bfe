"""``evolvekit cxone doctor`` and ``evolvekit cxone verify``: is the CXone setup right, and
did the events arrive. Parsing and printing only; the work is in ``evolvekit.cxone.doctor``
and ``evolvekit.cxone.verify``.

doctor exits 0 when every check passes, 1 when one fails, 2 on bad usage. verify exits 0
when every event arrived as sent, 1 when any is missing, differs or was not published.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any
from urllib.parse import urlsplit

import httpx

from evolvekit.cxone.config import ENV_VARS, CXoneConfig
from evolvekit.errors import InputError

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from evolvekit.cli.cxone_cmds import add_target_options

    group = subparsers.add_parser(
        "cxone", help="check a CXone setup (doctor) and a round trip (verify)"
    )
    commands = group.add_subparsers(dest="cxone_command", metavar="COMMAND", required=True)
    doctor = commands.add_parser(
        "doctor",
        help="check variables, discovery, token, claims, API host and the target endpoint",
        description="Checks, in order, and prints a checklist with the fix for each failure: "
        "the variables the auth mode needs (names only), discovery, a token, its claims "
        "(tenant), the API host, and the target endpoint accepting a dry request. Against a "
        "real tenant nothing is written unless --write-test-event. Exit 0 when every check "
        "passes, 1 when one fails, 2 on bad usage.",
        epilog="Variables: " + ", ".join(ENV_VARS.values()),
    )
    _connection_options(doctor)
    add_target_options(doctor)
    doctor.add_argument(
        "--write-test-event",
        action="store_true",
        help="against a real tenant, publish one test event to check the target endpoint",
    )
    doctor.set_defaults(func=run_doctor)

    verify = commands.add_parser(
        "verify",
        help="publish events, read them back, report which arrived, are missing or differ",
        description="Publish each line of EVENTS.jsonl, then read back (the DFO message list, "
        "a Data Extraction job, or the events API) and report per event: arrived, missing, or "
        "differs (naming the fields). With no --base-url and no credentials, a built-in "
        "simulator (profile cxone) is used. Exit 0 when every event arrived as sent.",
    )
    verify.add_argument("events", metavar="EVENTS.jsonl", help="one JSON event a line")
    _connection_options(verify)
    add_target_options(verify)
    verify.add_argument("--key-field", metavar="PATH", help="dot path of each event's key")
    verify.add_argument(
        "--via",
        choices=("list", "extraction"),
        default="list",
        help="read DFO messages back from the channel list (list) or a Data Extraction job "
        "(work items always use Data Extraction)",
    )
    verify.add_argument(
        "--poll-interval",
        type=float,
        metavar="S",
        help="seconds between Data Extraction calls (30, the platform's minimum)",
    )
    verify.add_argument("--concurrency", type=int, default=8, metavar="N", help="in flight (8)")
    verify.set_defaults(func=run_verify)


def _connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--base-url", help="CXone API base URL (default: $CXONE_BASE_URL)")
    parser.add_argument(
        "--config", metavar="FILE", help="a TOML file with a [cxone] table (else CXONE_*)"
    )


def _simulator_profile(base: str) -> str:
    """``cxone`` when the local simulator serves OpenID discovery, else ``tutorial``."""
    try:
        answer = httpx.get(f"{base}/.well-known/openid-configuration", timeout=5)
    except httpx.HTTPError:
        return "tutorial"
    return "cxone" if answer.status_code == 200 else "tutorial"


def load_config(args: argparse.Namespace) -> CXoneConfig | None:
    """The configuration the flags and variables describe; None: nothing configured."""
    from evolvekit.cli.cxone_cmds import apply_target_options

    if args.config:
        config = CXoneConfig.from_file(args.config)
        if args.base_url:
            config = config.replace(base_url=args.base_url.rstrip("/"))
    else:
        config = CXoneConfig.from_env(base_url=args.base_url)
    base = config.base_url
    if not config.has_credentials and base and urlsplit(base).hostname in _LOOPBACK:
        target = config.target
        config = CXoneConfig.for_simulator(base, profile=_simulator_profile(base), target=target)
    elif not config.has_credentials and not base and not args.config:
        return None if args.func is run_verify else apply_target_options(config, args)
    return apply_target_options(config, args)


def run_doctor(args: argparse.Namespace) -> int:
    from evolvekit.cxone.doctor import Doctor

    config = load_config(args)
    assert config is not None
    report = asyncio.run(Doctor(config, write_test_event=args.write_test_event).run())
    print(report.render())
    return 0 if report.ok else 1


def run_verify(args: argparse.Namespace) -> int:
    from evolvekit.cli.cxone_cmds import apply_target_options, read_events
    from evolvekit.cxone.simulator import SimulatorServer, create_app

    if args.concurrency < 1:
        raise InputError("--concurrency must be at least 1")
    events, keys = read_events(args.events, args.key_field)
    config = load_config(args)
    server = None
    poll = args.poll_interval
    try:
        if config is None:
            server = SimulatorServer(create_app("cxone", extraction_spacing=0))
            base = server.start()
            config = apply_target_options(CXoneConfig.for_simulator(base, profile="cxone"), args)
            poll = 0.0 if poll is None else poll
            print(
                f"evolvekit: no --base-url and no credentials: built-in simulator at {base}",
                file=sys.stderr,
            )
        return asyncio.run(_verify(config, events, keys, args, poll))
    finally:
        if server is not None:
            server.stop()


async def _verify(
    config: CXoneConfig,
    events: list[Any],
    keys: list[str | None],
    args: argparse.Namespace,
    poll: float | None,
) -> int:
    from evolvekit.cxone.client import CXoneClient
    from evolvekit.cxone.verify import Verifier

    async with CXoneClient(config) as client:
        verifier = Verifier(client, via=args.via, poll_interval=poll)
        report = await verifier.run(
            events, keys if args.key_field else [None] * len(events), args.concurrency
        )
    print(
        f"verify (target {config.resolved_target}): {len(events)} events, "
        f"published {report.published}, arrived {len(report.arrived)}, "
        f"missing {len(report.missing)}, differ {len(report.differs)}"
    )
    for line, error in report.not_published[:20]:
        print(f"  line {line}: not published: {error}")
    for line, key in report.missing[:20]:
        print(f"  line {line}: missing (key {key})")
    for line, key, fields in report.differs[:20]:
        print(f"  line {line}: differs (key {key}) at {', '.join(fields[:5])}")
    return 0 if report.ok else 1
