"""``evolvekit broadcast`` and ``evolvekit listen``: the WebSocket broadcaster from the shell.

``broadcast`` reads events as JSON lines (a file or standard input) and publishes each one;
consumers choose their schema version in the URL. A malformed line or an event whose version
cannot be detected is reported with its line number and skipped, never fatal; the exit code
is then 1. After end of input it keeps serving (consumers may still resume) until Ctrl-C or
SIGTERM, or exits at once with ``--exit-when-done``. ``listen`` prints what a consumer
receives, one JSON frame per line.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any

from evolvekit.broadcast.hub import DEFAULT_REPLAY_BYTES
from evolvekit.cli.options import RULES_DIR, SCHEMAS
from evolvekit.errors import EvolveKitError, InputError

if TYPE_CHECKING:
    from evolvekit.broadcast.background import BackgroundBroadcaster

TOKENS_ENV = "EVOLVEKIT_BROADCAST_TOKENS"  # comma-separated; keeps tokens out of `ps`


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cast = subparsers.add_parser(
        "broadcast",
        parents=[SCHEMAS, RULES_DIR],
        help="broadcast JSON-lines events to WebSocket consumers, each in its own version",
        description="Read events as JSON lines from FILE (default: standard input) and "
        "broadcast them. Consumers connect to ws://HOST:PORT/?version=V&subject=S&since=N. "
        "Keeps serving after end of input until Ctrl-C, unless --exit-when-done. Exit 1 when "
        "some lines could not be broadcast.",
    )
    cast.add_argument("file", metavar="FILE", nargs="?", help="JSON-lines events (default: stdin)")
    cast.add_argument("--subject", required=True, help="subject of every event")
    cast.add_argument("--version", help="the events' own version (default: detected per event)")
    cast.add_argument("--port", type=int, default=8765, help="port (default 8765; 0: any free)")
    cast.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    cast.add_argument(
        "--token",
        action="append",
        metavar="T",
        help=f"accepted bearer token (repeatable; or ${TOKENS_ENV}, comma-separated)",
    )
    cast.add_argument(
        "--origin",
        action="append",
        metavar="URL",
        help="browser Origin allowed to connect (repeatable; '*': any; default: none)",
    )
    cast.add_argument("--replay-size", type=int, default=1000, help="resume ring (default 1000)")
    cast.add_argument(
        "--replay-bytes",
        type=int,
        default=DEFAULT_REPLAY_BYTES,
        metavar="N",
        help=f"resume ring's bytes (default {DEFAULT_REPLAY_BYTES})",
    )
    cast.add_argument(
        "--insecure",
        action="store_true",
        help="allow a non-loopback --host without a token (warned about)",
    )
    cast.add_argument("--queue-size", type=int, default=256, help="slow-consumer queue (256)")
    cast.add_argument(
        "--exit-when-done", action="store_true", help="stop at end of input instead of serving on"
    )
    cast.set_defaults(func=run_broadcast)

    listen = subparsers.add_parser(
        "listen",
        help="print what a broadcast consumer receives, one JSON frame per line",
        description="Connect to a broadcaster URL (with ?version=, ?subject=, ... as wanted) "
        "and print every frame as one JSON line. Reconnects and resumes automatically.",
    )
    listen.add_argument("url", metavar="URL", help="ws://host:port/?version=...")
    listen.add_argument("--since", type=int, help="resume after this seq (0: all the ring holds)")
    listen.add_argument("--epoch", help="the epoch that --since belongs to")
    listen.add_argument("--count", type=int, help="stop after N events (data or skipped frames)")
    listen.add_argument("--token", help=f"bearer token (or ${TOKENS_ENV}: its first token)")
    listen.add_argument("--no-reconnect", action="store_true", help="end when the connection does")
    listen.set_defaults(func=run_listen)


def _env_tokens() -> list[str]:
    return [t.strip() for t in os.environ.get(TOKENS_ENV, "").split(",") if t.strip()]


class _Stop(Exception):
    """SIGTERM: stop like Ctrl-C does."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def _open_input(path: str | None) -> tuple[str, IO[bytes]]:
    """The events' source name and stream, opened before the server starts so that a
    missing file is reported at once."""
    if path is None or path == "-":
        return "<stdin>", sys.stdin.buffer
    try:
        return path, Path(path).open("rb")  # closed by run_broadcast
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=path) from None


def run_broadcast(args: argparse.Namespace) -> int:
    broadcaster = _checked_broadcaster(args)
    source, stream = _open_input(args.file)
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    tally = _Tally()
    try:
        broadcaster.start()
        print(
            f"evolvekit: broadcasting {args.subject} on {broadcaster.url} "
            f"(epoch {broadcaster.epoch})",
            file=sys.stderr,
            flush=True,
        )
        try:
            _publish_lines(broadcaster, args, source, stream, tally)
            print(
                f"evolvekit: end of input: {tally.published} event(s) broadcast, "
                f"{tally.failed} line(s) "
                "failed" + ("" if args.exit_when_done else "; serving until Ctrl-C"),
                file=sys.stderr,
                flush=True,
            )
            if not args.exit_when_done:
                threading.Event().wait()
        except (KeyboardInterrupt, _Stop):
            pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        broadcaster.stop()
        if stream is not sys.stdin.buffer:
            stream.close()
    return 1 if tally.failed else 0


class _Tally:
    """Lines broadcast and lines that failed, kept when Ctrl-C interrupts the input."""

    def __init__(self) -> None:
        self.published = 0
        self.failed = 0


def _checked_broadcaster(args: argparse.Namespace) -> BackgroundBroadcaster:
    """The broadcaster ``args`` describe, its exposure and subject/version checked."""
    from evolvekit.broadcast.background import BackgroundBroadcaster
    from evolvekit.pipeline.guards import check_exposure

    tokens = (args.token or []) + _env_tokens()
    check_exposure(
        "the broadcaster",
        args.host,
        bool(tokens),
        insecure=args.insecure,
        warn=lambda message: print(f"evolvekit: {message}", file=sys.stderr),
        how=f"--token or {TOKENS_ENV}",
    )
    broadcaster = BackgroundBroadcaster(
        schemas=args.schemas,
        rules=args.rules_dir,
        host=args.host,
        port=args.port,
        tokens=tokens or None,
        replay_size=args.replay_size,
        replay_bytes=args.replay_bytes,
        queue_size=args.queue_size,
        origins=args.origin,
    )
    # Refuse an unknown subject or version now, not once per line.
    if args.version is not None:
        broadcaster.broadcaster.hub.check_version(args.subject, args.version)
    else:
        broadcaster.broadcaster.migrator.registry.versions(args.subject)
    return broadcaster


def _publish_lines(
    broadcaster: BackgroundBroadcaster,
    args: argparse.Namespace,
    source: str,
    stream: IO[bytes],
    tally: _Tally,
) -> None:
    """Publish each JSON line; a bad line is reported on stderr and counted, never fatal."""
    from evolvekit.jsonio import iter_jsonl, loads

    for number, raw in iter_jsonl(stream):
        try:
            event: Any = loads(raw, source=source, line=number)
            broadcaster.publish(event, subject=args.subject, version=args.version)
            tally.published += 1
        except EvolveKitError as exc:
            tally.failed += 1
            where = f"{source}:{number}"
            message = str(exc) if exc.line is not None else f"{where}: {exc}"
            print(f"evolvekit: {message}", file=sys.stderr, flush=True)


def connected_line(url: str) -> str:
    """What ``listen`` says on stderr once connected (stdout carries only the frames)."""
    from urllib.parse import parse_qs, urlsplit

    query = parse_qs(urlsplit(url).query)
    subject = query.get("subject", ["all subjects"])[0]
    version = query.get("version", ["as published"])[0]
    shown = url.split("?", 1)[0]
    return f"connected to {shown} (subject {subject}, version {version}), waiting"


def run_listen(args: argparse.Namespace) -> int:
    from evolvekit.broadcast.client import consume
    from evolvekit.jsonio import dumps_str

    if args.count is not None and args.count < 1:
        raise InputError("--count must be at least 1")
    token = args.token or next(iter(_env_tokens()), None)

    def connected(_: str) -> None:
        print(connected_line(args.url), file=sys.stderr, flush=True)

    async def listen() -> None:
        events = 0
        async for frame in consume(
            args.url,
            since=args.since,
            epoch=args.epoch,
            token=token,
            reconnect=not args.no_reconnect,
            on_connect=connected,
        ):
            print(dumps_str(frame), flush=True)
            if "control" not in frame or frame.get("control") == "skipped":
                events += 1
                if args.count is not None and events >= args.count:
                    return

    asyncio.run(listen())
    return 0
