"""Options several commands share, declared once as argparse parent parsers.

``subparsers.add_parser("diff", parents=[SCHEMAS, COLOR], ...)`` gives a command the option
with the same name, default and help as every other command that has it.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

COLOR_CHOICES = ("auto", "always", "never")


def _parent() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(add_help=False)


SCHEMAS = _parent()
SCHEMAS.add_argument("--schemas", metavar="DIR", help="schemas folder (default: the workspace's)")

RULES_DIR = _parent()
RULES_DIR.add_argument("--rules-dir", metavar="DIR", help="rules folder (default: the workspace's)")

COLOR = _parent()
COLOR.add_argument("--color", choices=COLOR_CHOICES, default="auto",
                   help="colour text output (auto: when writing to a terminal)")  # fmt: skip

TEXT_OR_JSON = _parent()
TEXT_OR_JSON.add_argument("--format", choices=("text", "json"), default="text",
                          help="output format (default: text)")  # fmt: skip


def use_color(choice: str, stream: TextIO | None = None) -> bool:
    """``always``/``never``, or for ``auto`` a TTY that has not asked for no colour."""
    if choice != "auto":
        return choice == "always"
    out = stream if stream is not None else sys.stdout
    if os.environ.get("NO_COLOR") or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(out, "isatty", None)
    return bool(isatty and isatty())
