"""Entry point of the ``evolvekit`` command.

Each command module exposes ``register(subparsers)``, which adds its parser and sets
``func(args) -> int`` as the handler. Exit codes: 0 success, 1 ran and found a failure,
2 bad input or usage. Bad input prints one line (``evolvekit: <what and where>``), no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from evolvekit import logsafe
from evolvekit.errors import EvolveKitError

# Order is the order of `evolvekit --help`.
COMMAND_MODULES: tuple[str, ...] = (
    "demo",
    "schema_cmds",
    "schema_registry_cmds",
    "mapping_cmds",
    "cxone_cmds",
    "broadcast_cmds",
    "serve_cmds",
    "cluster_cmds",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="evolvekit",
        description="Schema-evolution workbench for NICE CXone event data.",
    )
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log more (-v info, -vv debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"evolvekit.cli.{name}")
        module.register(sub)
    return parser


class _UsageError(Exception):
    pass


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    level = {0: logging.WARNING, 1: logging.INFO}.get(args.verbose, logging.DEBUG)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logsafe.install()  # no token or secret in any line, whatever -v asks for
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help(sys.stderr)
        return 2
    try:
        return int(func(args))
    except EvolveKitError as exc:
        print(f"evolvekit: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("evolvekit: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
