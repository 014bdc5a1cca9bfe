"""``evolvekit transform``, ``evolvekit suggest`` and ``evolvekit rules check``.

Parsing, streaming and printing only; the work is done by ``evolvekit.mapping`` (rule sets,
Migrator, suggest_rules, check_rules). ``transform`` streams JSON lines: an event that fails
(unparsable, undetectable, unmappable, invalid) becomes a dead-letter record, never a crash.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from evolvekit import jsonio
from evolvekit.cli.options import RULES_DIR, SCHEMAS
from evolvekit.errors import (
    EventValidationError,
    InputError,
    MappingError,
    MigrationError,
    RuleSetError,
)

REPORT_FORMATS = ("text", "json", "html")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tr = subparsers.add_parser(
        "transform",
        parents=[SCHEMAS, RULES_DIR],
        help="map a stream of JSON-lines events with a rule file or to a schema version",
        description="Read JSON lines (IN or stdin), map each event with --rules FILE or migrate "
        "it to --to VERSION (source version detected per event), write JSON lines (-o or "
        "stdout). Events that fail go to --dead-letter as records; exit 1 when any failed.",
    )
    how = tr.add_mutually_exclusive_group(required=True)
    how.add_argument("--rules", metavar="FILE", help="a rule file to apply")
    how.add_argument("--to", metavar="VERSION", help="migrate every event to this version")
    tr.add_argument("--subject", help="the events' subject (default: the rule file's)")
    tr.add_argument(
        "--validate", action="store_true", help="validate each result against the target schema"
    )
    tr.add_argument("input", metavar="IN.jsonl", nargs="?", help="input file (default: stdin)")
    tr.add_argument("-o", "--output", metavar="OUT.jsonl", help="output file (default: stdout)")
    tr.add_argument("--dead-letter", metavar="DL.jsonl", help="append failed events here")
    tr.set_defaults(func=run_transform)

    sg = subparsers.add_parser(
        "suggest",
        parents=[SCHEMAS],
        help="draft a commented rule file from two schema versions",
        description="Draft rules turning OLD events into NEW ones (files or subject@version), "
        "each with a confidence and a reason, as an editable YAML rule file.",
    )
    sg.add_argument("old", metavar="OLD", help="schema file or subject@version")
    sg.add_argument("new", metavar="NEW", help="schema file or subject@version")
    sg.add_argument("--samples", metavar="FILE", help="JSON lines of OLD events (sharpens scores)")
    sg.add_argument("-o", "--output", metavar="RULES.yaml", help="write here (default: stdout)")
    sg.set_defaults(func=run_suggest)

    rules = subparsers.add_parser("rules", help="work with rule files (rules check)")
    rules_sub = rules.add_subparsers(dest="rules_command", metavar="SUBCOMMAND")
    ck = rules_sub.add_parser(
        "check",
        parents=[SCHEMAS],
        help="check a rule file against its source and target schemas",
        description="Check RULES.yaml against the schemas its subject and versions name: "
        "required fields no rule produces, unread source fields, type conflicts and, with "
        "--samples, the share of samples valid after mapping. Exit 1 when not ok.",
    )
    ck.add_argument("rules", metavar="RULES.yaml")
    ck.add_argument("--samples", metavar="FILE", help="JSON lines of source events")
    ck.add_argument("--format", choices=REPORT_FORMATS, default="text", help="default: text")
    ck.set_defaults(func=run_rules_check)
    rules.set_defaults(func=lambda args: _usage(rules))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _registry(explicit: str | None) -> Any:
    from evolvekit.cli.compat_cmds import open_registry

    return open_registry(explicit)


def read_samples(path: str) -> list[dict[str, Any]]:
    """JSON lines of events; a bad line is an InputError naming the file and line."""
    try:
        stream = Path(path).expanduser().open("rb")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=path) from None
    events = []
    with stream:
        for number, raw in jsonio.iter_jsonl(stream):
            event = jsonio.loads(raw, source=path, line=number)
            if not isinstance(event, dict):
                raise InputError("an event must be a JSON object", file=path, line=number)
            events.append(event)
    return events


# ---- transform ----------------------------------------------------------------------


class _Failure(Exception):
    """An event that becomes a dead letter; ``stage`` is parse, detect, map or validate."""

    def __init__(self, stage: str, reason: str, version: str | None = None) -> None:
        super().__init__(reason)
        self.stage = stage
        self.reason = reason
        self.version = version


@dataclass
class _Pipeline:
    """Turns one parsed event into its output, or raises _Failure naming the stage."""

    subject: str | None
    process: Callable[[dict[str, Any]], dict[str, Any]]


def _validated(
    result: dict[str, Any], validate: Callable[[Any], None] | None, version: str | None
) -> dict[str, Any]:
    """``result`` when it passes ``validate`` (if any), else a validate-stage _Failure."""
    if validate is not None:
        try:
            validate(result)
        except EventValidationError as exc:
            raise _Failure("validate", str(exc), version) from None
    return result


def _rules_pipeline(args: argparse.Namespace) -> _Pipeline:
    from evolvekit.mapping.ruleset import RuleSet

    ruleset = RuleSet.load(args.rules)
    subject = args.subject or ruleset.subject
    apply = ruleset.compile().apply
    validate: Callable[[Any], None] | None = None
    if args.validate:
        if not subject or not ruleset.to_version:
            raise RuleSetError(
                "--validate needs the target schema: the rule file names no subject/to_version "
                "(give --subject, and to_version in the file)",
                file=args.rules,
            )
        validate = _registry(args.schemas).validator(subject, ruleset.to_version).validate
    version = ruleset.from_version

    def process(event: dict[str, Any]) -> dict[str, Any]:
        try:
            result = apply(event)
        except MappingError as exc:
            raise _Failure("map", str(exc), version) from None
        return _validated(result, validate, version)

    return _Pipeline(subject, process)


def _migrate_pipeline(args: argparse.Namespace) -> _Pipeline:
    from evolvekit.mapping.migrate import Migrator
    from evolvekit.versions import normalize_version

    if not args.subject:
        raise InputError("--to needs --subject (the events' subject in the registry)")
    subject = args.subject
    migrator = Migrator(_registry(args.schemas), args.rules_dir)
    target = normalize_version(args.to)
    versions = migrator.versions(subject)  # an unknown subject fails here, once
    if target not in versions:
        raise InputError(
            f"--to {target}: {subject} has no such version (versions: {', '.join(versions)})"
        )
    # A broken rule file is bad input (exit 2) before any event is read, not mid-stream.
    for src, dst in migrator.edges(subject):
        migrator.ruleset(subject, src, dst)
    validate = migrator.registry.validator(subject, target).validate if args.validate else None

    def process(event: dict[str, Any]) -> dict[str, Any]:
        try:
            source = migrator.detect(event, subject)
        except MigrationError as exc:
            raise _Failure("detect", str(exc)) from None
        try:
            result = migrator.migrate(event, subject, target, from_version=source)
        except (MappingError, MigrationError) as exc:  # e.g. no route from this version
            raise _Failure("map", str(exc), source) from None
        return _validated(result, validate, source)

    return _Pipeline(subject, process)


def dead_letter(
    stage: str, reason: str, subject: str | None, version: str | None, event: Any, line: int | None
) -> dict[str, Any]:
    """DESIGN.md's dead-letter record."""
    return {
        "id": uuid.uuid4().hex,
        "at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "stage": stage,
        "reason": reason,
        "subject": subject,
        "version": version,
        "event": event,
        "line": line,
    }


def _progress(lines: Iterator[tuple[int, bytes]]) -> Iterator[tuple[int, bytes]]:
    if not sys.stderr.isatty():
        return lines
    from tqdm import tqdm

    return iter(tqdm(lines, unit=" events", file=sys.stderr, leave=False))


def run_transform(args: argparse.Namespace) -> int:
    pipeline = _rules_pipeline(args) if args.rules else _migrate_pipeline(args)
    read = written = failed = 0
    with ExitStack() as stack:
        source: IO[bytes] = (
            stack.enter_context(_open(args.input, "rb"))
            if args.input and args.input != "-"
            else sys.stdin.buffer
        )
        out: IO[bytes] = (
            stack.enter_context(_open(args.output, "wb"))
            if args.output and args.output != "-"
            else sys.stdout.buffer
        )
        dead: IO[bytes] | None = (
            stack.enter_context(_open(args.dead_letter, "ab")) if args.dead_letter else None
        )
        name = args.input or "<stdin>"
        for number, raw in _progress(jsonio.iter_jsonl(source)):
            read += 1
            event: Any = None
            try:
                try:
                    event = jsonio.loads(raw, source=name, line=number)
                except InputError as exc:
                    event = raw.decode("utf-8", errors="replace")
                    raise _Failure("parse", exc.message) from None
                if not isinstance(event, dict):
                    raise _Failure("parse", f"an event must be a JSON object, not {_kind(event)}")
                result = pipeline.process(event)
            except _Failure as failure:
                failed += 1
                record = dead_letter(
                    failure.stage, failure.reason, pipeline.subject, failure.version, event, number
                )
                if dead is not None:
                    dead.write(jsonio.dumps(record) + b"\n")
                else:
                    print(f"evolvekit: {name}:{number}: {failure.stage}: {failure.reason}",
                          file=sys.stderr)  # fmt: skip
                continue
            out.write(jsonio.dumps(result) + b"\n")
            written += 1
        out.flush()
    where = f" to {args.dead_letter}" if args.dead_letter and failed else ""
    print(f"read {read}, written {written}, dead-lettered {failed}{where}", file=sys.stderr)
    return 1 if failed else 0


def _kind(value: Any) -> str:
    from evolvekit.mapping.schema_fields import json_type

    return json_type(value)


def _open(path: str, mode: str) -> IO[bytes]:
    try:
        return Path(path).expanduser().open(mode)
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror}", file=path) from None


# ---- suggest ------------------------------------------------------------------------


def run_suggest(args: argparse.Namespace) -> int:
    from evolvekit.cli.compat_cmds import diff_operands, load_operand
    from evolvekit.mapping.suggest import suggest_rules

    registry = _registry(args.schemas)
    old = load_operand(registry, args.old)
    new = load_operand(registry, args.new)
    diff = diff_operands(registry, old, new)
    samples = read_samples(args.samples) if args.samples else None
    subject, from_version, to_version = _subject_versions(old.label, new.label)
    suggestion = suggest_rules(
        diff,
        samples,
        old_schema=old.schema,
        new_schema=new.schema,
        registry=registry,
        old_uri=old.uri,
        new_uri=new.uri,
        subject=subject,
        from_version=from_version,
        to_version=to_version,
    )
    text = suggestion.to_yaml()
    if args.output and args.output != "-":
        try:
            Path(args.output).expanduser().write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror}", file=args.output) from None
        print(
            f"wrote {len(suggestion.items)} suggested rule(s) to {args.output}"
            + (f"; {len(suggestion.unresolved)} left for you" if suggestion.unresolved else ""),
            file=sys.stderr,
        )
    else:
        sys.stdout.write(text)
    return 0


def _subject_versions(old: str, new: str) -> tuple[str | None, str | None, str | None]:
    """Subject and versions when both operands are ``subject@version`` of one subject."""
    if "@" not in old or "@" not in new or Path(old).exists() or Path(new).exists():
        return None, None, None
    old_subject, _, old_version = old.rpartition("@")
    new_subject, _, new_version = new.rpartition("@")
    if old_subject != new_subject:
        return None, None, None
    return old_subject, old_version, new_version


# ---- rules check --------------------------------------------------------------------


def run_rules_check(args: argparse.Namespace) -> int:
    from evolvekit.mapping.check import check_rules
    from evolvekit.mapping.ruleset import RuleSet

    ruleset = RuleSet.load(args.rules)
    if not ruleset.subject or not ruleset.from_version or not ruleset.to_version:
        raise RuleSetError(
            "cannot tell which schemas to check against: give subject, from_version and "
            "to_version in the file, or keep it as rules/<subject>/<from>_to_<to>.yaml",
            file=args.rules,
        )
    registry = _registry(args.schemas)
    source = registry.get(ruleset.subject, ruleset.from_version)
    target = registry.get(ruleset.subject, ruleset.to_version)
    samples = read_samples(args.samples) if args.samples else None
    report = check_rules(
        ruleset,
        source,
        target,
        samples,
        registry=registry,
        source_uri=registry.uri(ruleset.subject, ruleset.from_version),
        target_uri=registry.uri(ruleset.subject, ruleset.to_version),
    )
    if args.format == "json":
        sys.stdout.write(jsonio.dumps_str(report.to_dict(), indent=True) + "\n")
    elif args.format == "html":
        sys.stdout.write(report.to_html() + "\n")
    else:
        sys.stdout.write(report.to_text())
    return 0 if report.ok else 1
