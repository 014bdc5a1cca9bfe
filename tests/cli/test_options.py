"""Shared options: one declaration, the same name, default and help in every command."""

from __future__ import annotations

import argparse

import pytest

from evolvekit.cli.main import build_parser
from evolvekit.cli.options import COLOR, RULES_DIR, SCHEMAS, TEXT_OR_JSON, use_color


def _command(parser: argparse.ArgumentParser, *path: str) -> argparse.ArgumentParser:
    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser


def _option(parser: argparse.ArgumentParser, flag: str) -> argparse.Action | None:
    return next((a for a in parser._actions if flag in a.option_strings), None)


@pytest.mark.parametrize(
    ("parent", "flag", "commands"),
    [
        (SCHEMAS, "--schemas", [("diff",), ("check",), ("register",), ("validate",),
                                ("transform",), ("suggest",), ("rules", "check"), ("demo",),
                                ("broadcast",), ("serve",), ("deadletters", "replay")]),
        (RULES_DIR, "--rules-dir", [("transform",), ("broadcast",), ("serve",),
                                    ("deadletters", "replay")]),
        (COLOR, "--color", [("diff",), ("check",), ("register",), ("demo",)]),
        (TEXT_OR_JSON, "--format", [("deadletters", "list"), ("deadletters", "show"),
                                    ("deadletters", "replay"), ("deadletters", "purge")]),
    ],
)  # fmt: skip
def test_commands_share_the_declared_option(
    parent: argparse.ArgumentParser, flag: str, commands: list[tuple[str, ...]]
) -> None:
    declared = _option(parent, flag)
    assert declared is not None
    root = build_parser(full=True)
    for path in commands:
        action = _option(_command(root, *path), flag)
        assert action is not None, (path, flag)
        assert (action.help, action.default, action.choices) == (
            declared.help, declared.default, declared.choices), path  # fmt: skip


def test_use_color() -> None:
    assert use_color("always") is True and use_color("never") is False
