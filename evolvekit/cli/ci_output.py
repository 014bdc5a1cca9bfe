"""What ``diff`` and ``check`` share for CI: settings by origin, ``--fail-on``, junit/github.

Settings: a flag wins over the subject's ``subject.yaml``, which wins over the default
(mode backward, policy strict); ``diff`` uses a subject's settings when both operands are
versions of that subject. Warnings (unused ignores) go to stderr; expired ignores fail.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from evolvekit.schema.compat import MODE_NAMES, Settings, check_mode_name, check_policy, settle
from evolvekit.schema.compat import subject_settings as _subject_settings
from evolvekit.schema.policy import IgnoreOutcome
from evolvekit.schema.report import CheckRow, PairResult, judging_mode, render, render_summary
from evolvekit.schema.report_ci import FAIL_ON, failing_changes, render_github, render_junit

if TYPE_CHECKING:  # pragma: no cover
    from evolvekit.schema.changes import SchemaDiff
    from evolvekit.schema.registry import SchemaRegistry

CI_FORMATS: Final[tuple[str, ...]] = ("junit", "github")


def add_fail_on(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--fail-on", choices=FAIL_ON, default=None,
        help="lowest severity that fails (exit 1): breaking (default), caution, info, never; "
        "a subject in mode none fails on nothing unless this is given",
    )  # fmt: skip


def add_mode_policy(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--mode", choices=MODE_NAMES, default=None,
                        help="overrides subject.yaml (default there, else backward)")  # fmt: skip
    parser.add_argument("--policy", choices=("strict", "lenient"), default=None,
                        help="content-model policy; overrides subject.yaml (else strict)",
                        )  # fmt: skip


def diff_settings(
    registry: SchemaRegistry, subjects: Sequence[str | None], mode: str | None,
    policy: str | None,
) -> Settings:  # fmt: skip
    """The settings of a diff: the subject's when both sides are versions of one subject."""
    subject = subjects[0] if len(set(subjects)) == 1 else None
    if subject is not None and subject in registry.subjects():
        return _subject_settings(registry, subject, mode=mode, policy=policy)
    return Settings(check_mode_name(mode) if mode else "backward", "flag" if mode else "default",
                    check_policy(policy) if policy else "strict",
                    "flag" if policy else "default")  # fmt: skip


def settle_diff(diff: SchemaDiff, settings: Settings) -> IgnoreOutcome:
    outcome = settle(diff, settings, dt.date.today())
    for message in outcome.warnings():
        print(f"evolvekit: warning: {message}", file=sys.stderr)
    for message in outcome.messages():
        print(f"evolvekit: {message}", file=sys.stderr)
    return outcome


def effective_fail_on(fail_on: str | None, mode: str) -> str:
    if fail_on is not None:
        return fail_on
    return "never" if mode == "none" else "breaking"


def diff_fails(diff: SchemaDiff, settings: Settings, fail_on: str | None,
               outcome: IgnoreOutcome) -> bool:  # fmt: skip
    level = effective_fail_on(fail_on, settings.mode)
    return bool(outcome.expired or failing_changes(diff, judging_mode(settings.mode), level))


def diff_row(diff: SchemaDiff, subject: str | None, settings: Settings, outcome: IgnoreOutcome,
             versions: tuple[str, str], failed: bool) -> CheckRow:  # fmt: skip
    """One diff as a check row, so junit/github render diff and check alike."""
    old, new = versions
    pair = PairResult(old, new, diff, not failed)
    return CheckRow(subject or "diff", f"{new} vs {old}", settings.mode, not failed,
                    len(diff.breaking(judging_mode(settings.mode))), pairs=(pair,),
                    expired=tuple(outcome.messages()),
                    warnings=tuple(outcome.warnings()))  # fmt: skip


def render_ci(rows: Sequence[CheckRow], fmt: str, fail_on: str | None,
              registry: SchemaRegistry) -> str:  # fmt: skip
    level = fail_on or "breaking"
    if fmt == "junit":
        return render_junit(rows, level)

    def file_of(subject: str, name: str) -> str:
        path = Path(registry.root) / subject / name
        try:
            return os.path.relpath(path)
        except ValueError:  # another drive (Windows)
            return str(path)

    return render_github(rows, level, file_of)


def subject_of(label: str, text: str) -> str | None:
    """The subject a ``subject@version`` operand names (None for a schema file)."""
    if "@" not in label or Path(text).expanduser().is_file():
        return None
    return label.rpartition("@")[0]


def print_rows(
    rows: list[CheckRow], fmt: str, color: bool, pictures: Sequence[str] = ()
) -> None:
    """The summary table and the report of every failing comparison: details first on a
    terminal (the verdict ends up last), summary first in markdown (a PR comment's top);
    html ends with each subject's ``pictures`` (matrix and lineage)."""
    summary = render_summary(rows, fmt, color=color)
    details = [
        render(pair.diff, fmt, mode=judging_mode(row.mode), color=color)
        for row in rows
        for pair in row.pairs
        if not pair.ok
    ]
    if fmt == "json":
        sys.stdout.write(summary)
    elif fmt == "html":
        sys.stdout.write("\n".join([summary, *details, *pictures]))
    elif fmt == "markdown":
        sys.stdout.write("\n".join([summary, *details]))
    else:
        sys.stdout.write("\n".join([*details, summary]))


