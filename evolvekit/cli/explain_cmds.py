"""``evolvekit explain``: the rule catalogue behind every verdict of ``diff``/``check``.

Printing only; the catalogue is ``evolvekit.schema.rules``. Exit codes: 0 printed, 2 an
unknown rule (raised as InputError, printed as one line by ``cli.main``).
"""

from __future__ import annotations

import argparse
import sys

from evolvekit.errors import InputError
from evolvekit.schema.rules import RULES, default_severity, rule, rules_markdown


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    exp = subparsers.add_parser(
        "explain",
        help="explain a change kind (rule) of the diff: what breaks for whom, how to avoid it",
        description="Print the catalogue entry of RULE (a change kind as reports print it), "
        "or with --list every rule with its default severity.",
    )
    exp.add_argument("rule", metavar="RULE", nargs="?", help="a change kind, e.g. pattern_added")
    exp.add_argument("--list", action="store_true", help="list every rule and its severity")
    exp.add_argument("--markdown", action="store_true", help="print docs/rules.md")
    exp.set_defaults(func=run_explain)


def run_explain(args: argparse.Namespace) -> int:
    if args.markdown:
        sys.stdout.write(rules_markdown())
        return 0
    if args.list or not args.rule:
        width = max(map(len, RULES))
        for entry in RULES.values():
            print(f"{entry.id:<{width}}  {default_severity(entry.id):<8}  {entry.title}")
        return 0
    if args.rule not in RULES:
        close = [k for k in RULES if args.rule.lower() in k][:5]
        hint = f"; did you mean {', '.join(close)}?" if close else "; see evolvekit explain --list"
        raise InputError(f"unknown rule {args.rule!r}{hint}")
    entry = rule(args.rule)
    print(f"{entry.id}: {entry.title}")
    print(f"default severity: {default_severity(entry.id)} (mode backward, policy strict)")
    print(f"backward (new reader, old data): {entry.backward}")
    print(f"forward (old reader, new data):  {entry.forward}")
    print(f"how to make it compatible: {entry.fix.format(name='<property>')}")
    return 0
