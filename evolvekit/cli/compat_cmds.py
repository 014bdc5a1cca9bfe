"""``evolvekit diff``, ``evolvekit check`` and ``evolvekit register``: the schema commands.

Parsing and printing only; the work is done by ``evolvekit.schema`` (registry, diff, compat,
report). Exit codes: 0 compatible / passed / registered, 1 incompatible / violation /
refused, 2 bad input (raised as EvolveKitError, printed as one line by ``cli.main``).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evolvekit.cli.check_base import base_rows
from evolvekit.cli.ci_output import (
    CI_FORMATS,
    add_fail_on,
    add_mode_policy,
    diff_fails,
    diff_row,
    diff_settings,
    print_rows,
    render_ci,
    settle_diff,
    subject_of,
)
from evolvekit.cli.options import COLOR, SCHEMAS, use_color
from evolvekit.errors import InputError, RegistryError, SchemaError
from evolvekit.schema.changes import SchemaDiff
from evolvekit.schema.report import (
    FORMATS,
    CheckRow,
    judging_mode,
    render,
    render_summary,
)
from evolvekit.schema.report_ci import row_fails
from evolvekit.versions import Version, normalize_version
from evolvekit.workspace import find_workspace, schemas_dir

if TYPE_CHECKING:  # pragma: no cover
    from evolvekit.schema.registry import SchemaRegistry

CHECK_FORMATS = ("text", "json", "markdown", "html")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    diff = subparsers.add_parser(
        "diff",
        parents=[SCHEMAS, COLOR],
        help="compare two schemas and report every change and the verdicts",
        description="Compare two schemas (files or subject@version) and report every change, "
        "grouped by severity for --mode. Exit 0 compatible, 1 incompatible, 2 bad input.",
    )
    diff.add_argument("old", metavar="OLD", help="schema file or subject@version")
    diff.add_argument("new", metavar="NEW", help="schema file or subject@version")
    add_mode_policy(diff)
    diff.add_argument("--format", choices=(*FORMATS, *CI_FORMATS), default="text",
                      help="report format (text)")  # fmt: skip
    add_fail_on(diff)
    diff.add_argument(
        "--examples", action=argparse.BooleanOptionalAction, default=None,
        help="attach a checked counterexample event to each breaking change (default: on when "
        "the diff has at most 200 breaking changes)",
    )  # fmt: skip
    diff.set_defaults(func=run_diff)

    check = subparsers.add_parser(
        "check",
        parents=[SCHEMAS, COLOR],
        help="check every subject's newest version against its history (CI gate)",
        description="Test each subject's newest version against its history under the "
        "subject's mode (transitively when it says so). With --base, compare every schema "
        "file with its version at a git ref instead. Exit 1 on any violation.",
    )
    check.add_argument("--base", metavar="GITREF", help="compare with the schemas at this ref")
    check.add_argument("--subject", help="check only this subject")
    check.add_argument("--format", choices=(*CHECK_FORMATS, *CI_FORMATS), default="text")
    check.add_argument("--policy", choices=("strict", "lenient"), default=None,
                       help="content-model policy; overrides subject.yaml (else strict)",
                       )  # fmt: skip
    add_fail_on(check)
    check.set_defaults(func=run_check)

    reg = subparsers.add_parser(
        "register",
        parents=[SCHEMAS, COLOR],
        help="add a schema version if it passes the subject's compatibility mode",
        description="Add FILE as a new version of SUBJECT only if it passes the subject's mode "
        "against its history; the report is printed either way. A mode that allows breaking "
        "changes (none) says so, with their count. A new subject needs --new-subject. "
        "Exit 1 when refused.",
    )
    reg.add_argument("subject", metavar="SUBJECT")
    reg.add_argument("file", metavar="FILE", help="the schema file to register")
    reg.add_argument("--version", help="version to register (default: next minor)")
    reg.add_argument("--new-subject", action="store_true",
                     help="SUBJECT is new: create it (without this, an unknown subject is an "
                          "error, so a typo cannot create one)")  # fmt: skip
    reg.set_defaults(func=run_register)


def open_registry(explicit: str | None) -> SchemaRegistry:
    from evolvekit.schema.registry import SchemaRegistry

    return SchemaRegistry(schemas_dir(explicit) if explicit else find_workspace().schemas)


# --- diff ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Operand:
    """A schema named on the command line: its content, the base URI of its refs, a label."""

    schema: Any
    uri: str
    label: str


def load_operand(registry: SchemaRegistry, text: str) -> Operand:
    """A schema file path, or ``subject@version`` (``@latest`` allowed) from the registry."""
    from evolvekit.schema.registry import parse_ref

    path = Path(text).expanduser()
    if path.is_file():
        return Operand(registry.load_file(path), path.resolve().as_uri(), text)
    if "@" in text:
        subject, version = parse_ref(text)
        if version == "latest":
            version = registry.latest(subject)
        schema = registry.get(subject, version)
        return Operand(schema, registry.uri(subject, version), f"{subject}@{version}")
    raise InputError(f"{text}: no such schema file, and not a subject@version reference")


def diff_operands(
    registry: SchemaRegistry, old: Operand, new: Operand, *, policy: str = "strict",
    examples: bool | None = None,
) -> SchemaDiff:  # fmt: skip
    from evolvekit.schema.diff import diff_schemas

    diff = diff_schemas(old.schema, new.schema, policy=policy, registry=registry,
                        old_uri=old.uri, new_uri=new.uri, examples=examples)  # fmt: skip
    diff.relabel(old.label, new.label)
    return diff


def run_diff(args: argparse.Namespace) -> int:
    registry = open_registry(args.schemas)
    old = load_operand(registry, args.old)
    new = load_operand(registry, args.new)
    subjects = [subject_of(old.label, args.old), subject_of(new.label, args.new)]
    settings = diff_settings(registry, subjects, args.mode, args.policy)
    examples = False if args.examples is None and args.format in CI_FORMATS else args.examples
    diff = diff_operands(registry, old, new, policy=settings.policy, examples=examples)
    outcome = settle_diff(diff, settings)
    failed = diff_fails(diff, settings, args.fail_on, outcome)
    if args.format in CI_FORMATS:
        versions = (old.label.rpartition("@")[2], new.label.rpartition("@")[2])
        row = diff_row(diff, subjects[0] if subjects[0] == subjects[1] else None, settings,
                       outcome, versions, failed)  # fmt: skip
        sys.stdout.write(render_ci([row], args.format, args.fail_on, registry))
        return 1 if failed else 0
    color = args.format == "text" and use_color(args.color)
    sys.stdout.write(render(diff, args.format, mode=judging_mode(settings.mode), color=color))
    subject = _one_subject(registry, old.label, new.label)
    if args.format == "html" and subject is not None:
        from evolvekit.schema.matrix import subject_report_html

        sys.stdout.write(subject_report_html(registry, subject, policy=settings.policy,
                                             mode=judging_mode(settings.mode)) + "\n")  # fmt: skip
    return 1 if failed else 0


def _one_subject(registry: SchemaRegistry, *labels: str) -> str | None:
    """The subject both operands are versions of (``subject@version``), if they are."""
    subjects = {label.rpartition("@")[0] for label in labels}
    if len(subjects) == 1:
        subject = subjects.pop()
        if subject and subject in registry.subjects():
            return subject
    return None


# --- check ---------------------------------------------------------------------------


def diff_versions(
    registry: SchemaRegistry, subject: str, old: str, new: str, *, policy: str | None = None
) -> SchemaDiff:
    """The diff between two registered versions of one subject, under the subject's settings
    (subject.yaml mode, policy and ignores unless ``policy`` is given), stamped with them."""
    settings = diff_settings(registry, [subject], None, policy)
    old_operand = load_operand(registry, f"{subject}@{old}")
    new_operand = load_operand(registry, f"{subject}@{new}")
    diff = diff_operands(registry, old_operand, new_operand, policy=settings.policy)
    settle_diff(diff, settings)
    return diff


def registry_rows(
    registry: SchemaRegistry, subject: str | None = None, *, policy: str | None = None
) -> list[CheckRow]:
    """One summary row per subject: its newest version against its history."""
    from evolvekit.schema import compat
    from evolvekit.schema.report import history_row

    if subject is not None:
        return [history_row(compat.check_history(registry, subject, policy=policy))]
    return [history_row(check) for check in compat.check_all(registry, policy=policy)]


def run_check(args: argparse.Namespace) -> int:
    registry = open_registry(args.schemas)
    if args.base:
        rows = base_rows(registry, args.base, subject=args.subject)
    else:
        rows = registry_rows(registry, args.subject, policy=args.policy)
    for row in rows:
        for message in row.warnings:
            print(f"evolvekit: warning: {row.subject}: {message}", file=sys.stderr)
    failed = any(row_fails(r, args.fail_on or "breaking") for r in rows)
    if args.format in CI_FORMATS:
        sys.stdout.write(render_ci(rows, args.format, args.fail_on, registry))
        return 1 if failed else 0
    html = args.format == "html" and not args.base
    pictures = _subject_pictures(registry, rows, args.policy) if html else []
    print_rows(rows, args.format, args.format == "text" and use_color(args.color), pictures)
    return 1 if failed else 0


def _subject_pictures(
    registry: SchemaRegistry, rows: list[CheckRow], policy: str | None
) -> list[str]:
    """Each checked registry subject's matrix, lineage and pair diffs, for the html report,
    judged under the same mode and policy as its row."""
    from evolvekit.schema import compat
    from evolvekit.schema.matrix import subject_report_html

    pictures = []
    for row in rows:
        if row.subject in registry.subjects():
            settings = compat.subject_settings(registry, row.subject, policy=policy)
            pictures.append(subject_report_html(registry, row.subject, policy=settings.policy,
                                                mode=judging_mode(settings.mode)))  # fmt: skip
    return pictures


# --- register ------------------------------------------------------------------------


def load_candidate(registry: SchemaRegistry, file: str, target: Path) -> Any:
    """A schema file about to be stored at ``target``: checked like a registry file, with
    its relative ``$ref`` resolved from where it will live, not from where it is now."""
    from evolvekit.schema.refs import check_refs
    from evolvekit.schema.registry import check_metaschema, parse_schema_bytes

    path = Path(file).expanduser()
    try:
        size = path.stat().st_size
        if size > registry.max_bytes:
            raise SchemaError(f"file is {size} bytes, over the limit of {registry.max_bytes}",
                              file=file)  # fmt: skip
        data = path.read_bytes()
    except OSError as exc:
        raise SchemaError(f"cannot read: {exc.strerror}", file=file) from None
    schema = parse_schema_bytes(data, file=file, max_depth=registry.max_depth)
    check_metaschema(schema, file=file)
    check_refs(schema, base_uri=target.resolve().as_uri(), registry=registry, file=file)
    return schema


def _next_version(registry: SchemaRegistry, subject: str) -> str:
    """The version ``register`` assigns by default: the next minor (1.0.0 for a new subject)."""
    if subject not in registry.subjects() or not registry.versions(subject):
        return "1.0.0"
    latest = Version(registry.latest(subject))
    return f"{latest.major}.{latest.minor + 1}.0"


def _refuse_older(registry: SchemaRegistry, subject: str, version: str) -> None:
    """A new version goes on top of the history: the check compares it with the newest."""
    if subject in registry.subjects() and registry.versions(subject):
        latest = registry.latest(subject)
        if version == latest:
            raise RegistryError(f"subject {subject!r} already has version {version}")
        if Version(version) < Version(latest):
            raise RegistryError(
                f"version {version} is older than the latest version of {subject!r} "
                f"({latest}); register a newer version"
            )


def _check_subject_is_meant(registry: SchemaRegistry, subject: str, new_subject: bool) -> None:
    known = registry.subjects()
    if new_subject and subject in known:
        raise RegistryError(f"subject {subject!r} already exists; drop --new-subject")
    if not new_subject and subject not in known:
        offered = ", ".join(known) or "none yet"
        raise RegistryError(f"unknown subject {subject!r} (subjects: {offered}); "
                            "pass --new-subject to create it")  # fmt: skip


def run_register(args: argparse.Namespace) -> int:
    from evolvekit.schema import compat
    from evolvekit.schema.report import history_row

    registry = open_registry(args.schemas)
    _check_subject_is_meant(registry, args.subject, args.new_subject)
    if args.version:
        version = normalize_version(args.version)
        _refuse_older(registry, args.subject, version)
    else:
        version = _next_version(registry, args.subject)
    target = Path(registry.root) / args.subject / f"{version}.json"
    schema = load_candidate(registry, args.file, target)
    check = compat.check_candidate(registry, args.subject, schema, version=version)
    row = history_row(check)
    color = use_color(args.color)
    mode = judging_mode(row.mode)
    for pair in row.pairs:
        pair.diff.new_label = f"{args.file} (as {args.subject}@{version})"
        sys.stdout.write(render(pair.diff, "text", mode=mode, color=color) + "\n")
    sys.stdout.write(render_summary([row], "text", color=color))
    if not row.ok:
        print(f"refused: {args.file} would break {row.mode} compatibility of {args.subject}")
        return 1
    breaking = sum(len(pair.diff.breaking(mode)) for pair in row.pairs)
    if breaking:  # the mode allows what it would otherwise refuse: say so, in one line
        against = ", ".join(pair.old for pair in row.pairs)
        print(f"allowed by mode {row.mode}: {breaking} breaking change(s) ({mode}) against "
              f"{args.subject}@{against}")  # fmt: skip
    added = registry.add(args.subject, schema, version=version)
    print(f"registered {args.subject}@{added} ({registry.path(args.subject, added)})")
    return 0
