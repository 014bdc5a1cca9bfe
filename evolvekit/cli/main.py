"""Entry point of the ``evolvekit`` command.

Each command module exposes ``register(subparsers)``, which adds its parser and sets
``func(args) -> int`` as the handler. Exit codes: 0 success, 1 ran and found a failure,
2 bad input or usage. Bad input prints one line (``evolvekit: <what and where>``), no traceback.

Start-up stays fast: only the module of the command being run is imported (``evolvekit
--help`` imports none; the table below carries the one-line help of each command, and a test
keeps it equal to what the modules register). A closed stdout (``evolvekit ... | head``)
never changes the exit code: the rest of the output is discarded and the command finishes.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

# command -> (module in evolvekit.cli, one-line help); the order of `evolvekit --help`.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("demo", "walk the shipped examples: schema diffs, the check, then the pipeline "
             "service"),
    "diff": ("compat_cmds", "compare two schemas and report every change and the verdicts"),
    "check": ("compat_cmds", "check every subject's newest version against its history (CI "
              "gate)"),
    "explain": ("explain_cmds", "explain a change kind (rule) of the diff: what breaks "
                "for whom, how to avoid it"),
    "register": ("compat_cmds", "add a schema version if it passes the subject's compatibility "
                 "mode"),
    "validate": ("validate_infer_cmds", "validate JSON-lines events against a schema"),
    "infer": ("validate_infer_cmds", "infer a JSON Schema (draft 2020-12) from sample events"),
    "transform": ("mapping_cmds", "map a stream of JSON-lines events with a rule file or to a "
                  "schema version"),
    "suggest": ("mapping_cmds", "draft a commented rule file from two schema versions"),
    "rules": ("mapping_cmds", "work with rule files (rules check)"),
    "simulator": ("cxone_cmds", "run the built-in CXone simulator (uvicorn, foreground)"),
    "publish": ("cxone_cmds", "publish JSONL events to CXone (or to a simulator started for "
                "the purpose)"),
    "cxone": ("cxone_cmds", "check a CXone setup (doctor) and a round trip (verify)"),
    "broadcast": ("broadcast_cmds", "broadcast JSON-lines events to WebSocket consumers, each in "
                  "its own version"),
    "listen": ("broadcast_cmds", "print what a broadcast consumer receives, one JSON frame per "
               "line"),
    "serve": ("serve_cmds", "run the pipeline service: HTTP ingest, migrate, validate, publish, "
              "broadcast"),
    "deadletters": ("serve_cmds", "list, show, replay or purge the dead letters of a data "
                    "directory"),
    "cluster": ("cluster_cmds", "inspect a cluster of serve nodes sharing Redis"),
}  # fmt: skip
COMMAND_MODULES: tuple[str, ...] = tuple(dict.fromkeys(m for m, _ in COMMANDS.values()))


def command_of(argv: Sequence[str]) -> str | None:
    """The command word of ``argv`` (the first argument that is not an option)."""
    return next((a for a in argv if not a.startswith("-")), None)


def build_parser(command: str | None = None, *, full: bool = False) -> argparse.ArgumentParser:
    """The parser for ``command`` (its module's commands in full, the others by name and help
    only); ``full``: every module's commands in full (imports them all)."""
    parser = argparse.ArgumentParser(
        prog="evolvekit",
        description="Schema-evolution workbench for NICE CXone event data.",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log more (-v info, -vv debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    if command is not None and command not in COMMANDS and not command.startswith("-"):
        full = True  # a command the table does not know (yet): let every module register
    loaded = set(COMMAND_MODULES) if full else {COMMANDS[command][0]} if command in COMMANDS \
        else set()  # fmt: skip
    for module in COMMAND_MODULES:
        if module in loaded:
            importlib.import_module(f"evolvekit.cli.{module}").register(sub)
            continue
        for name, (owner, help_text) in COMMANDS.items():
            if owner == module:
                sub.add_parser(name, help=help_text, add_help=False)
    return parser


class _PipeGuard:
    """stdout that survives a closed pipe: once the reader is gone, output is discarded and
    the command runs on, so its exit code is the same as without the pipe."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self.broken = False

    def write(self, text: str) -> int:
        if not self.broken:
            try:
                return self._stream.write(text)
            except BrokenPipeError:
                self._discard()
        return len(text)

    def flush(self) -> None:
        if not self.broken:
            try:
                self._stream.flush()
            except BrokenPipeError:
                self._discard()

    def _discard(self) -> None:
        self.broken = True
        try:  # what is still buffered, and any later write, goes to /dev/null
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._stream.fileno())
            os.close(devnull)
        except (OSError, ValueError):
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    guard = None
    if sys.stdout is sys.__stdout__ and sys.stdout is not None:
        guard = _PipeGuard(sys.stdout)
        sys.stdout = guard
    try:
        return _run(arguments)
    finally:
        if guard is not None:
            guard.flush()
            sys.stdout = sys.__stdout__


def _run(arguments: list[str]) -> int:
    parser = build_parser(command_of(arguments))
    args = parser.parse_args(arguments)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    import logging

    from evolvekit import logsafe
    from evolvekit.errors import EvolveKitError

    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logsafe.install()  # no token or secret in any line, whatever -v asks for
    try:
        return int(func(args))
    except EvolveKitError as exc:
        print(f"evolvekit: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("evolvekit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
