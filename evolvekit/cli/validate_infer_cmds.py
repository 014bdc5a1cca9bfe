"""``evolvekit validate`` and ``infer``: events against schemas, schemas from events.

Parsing and printing only; the work is done by ``evolvekit.schema.validate`` and
``evolvekit.schema.infer``. Exit codes: 0 all valid / schema written, 1 some event failed,
2 bad input (raised as EvolveKitError, printed as one line by ``cli.main``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import orjson

from evolvekit.cli.options import SCHEMAS
from evolvekit.errors import ConfigError, InputError
from evolvekit.jsonio import iter_jsonl
from evolvekit.schema.infer import infer_schema
from evolvekit.schema.registry import (
    SchemaRegistry,
    check_metaschema,
    looks_like_ref,
    parse_ref,
    parse_schema_bytes,
)
from evolvekit.schema.validate import SchemaValidator


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    val = subparsers.add_parser(
        "validate",
        parents=[SCHEMAS],
        help="validate JSON-lines events against a schema",
        description="Validate each line of EVENTS (JSON lines; '-' reads stdin) against a "
        "registry schema (subject@version, subject@latest) or a schema FILE. Prints a verdict "
        "per line with the JSON pointer and message of each problem, then a summary. "
        "Exit 0 all valid, 1 any event invalid or malformed, 2 bad input.",
    )
    val.add_argument("events", metavar="EVENTS.jsonl", help="JSON-lines file, or - for stdin")
    val.add_argument(
        "--schema", required=True, metavar="REF|FILE", help="subject@version or a schema file"
    )
    val.add_argument(
        "-q", "--quiet", action="store_true", help="print only failing lines and the summary"
    )
    val.set_defaults(func=run_validate)

    inf = subparsers.add_parser(
        "infer",
        help="infer a JSON Schema (draft 2020-12) from sample events",
        description="Infer a draft 2020-12 schema from the events in EVENTS (JSON lines; '-' "
        "reads stdin): merged types, required = present in every event, formats, CXone's "
        "string-typed numbers and booleans noted. Deterministic for the same input.",
    )
    inf.add_argument("events", metavar="EVENTS.jsonl", help="JSON-lines file, or - for stdin")
    inf.add_argument(
        "-o", "--output", metavar="FILE", help="write the schema here (default: stdout)"
    )
    inf.add_argument(
        "--enums", action="store_true", help="add enums for low-cardinality string fields"
    )
    inf.add_argument(
        "--max-enum", type=int, default=10, metavar="N", help="most distinct values for an enum"
    )
    inf.add_argument("--title", help="title of the inferred schema")
    inf.set_defaults(func=run_infer)


@contextmanager
def _open_events(name: str) -> Iterator[IO[bytes]]:
    if name == "-":
        yield sys.stdin.buffer
        return
    try:
        handle = Path(name).open("rb")  # noqa: SIM115 - closed below; yielded to the caller
    except OSError as exc:
        raise InputError(f"cannot read events: {exc.strerror}", file=name) from None
    with handle:
        yield handle


def _validator_for(spec: str, schemas: str | None) -> tuple[SchemaValidator, str]:
    """The validator for ``--schema`` and a label naming it."""
    if looks_like_ref(spec):
        subject, version = parse_ref(spec)
        known = SchemaRegistry(schemas)
        resolved = known.latest(subject) if version == "latest" else version
        return known.validator(subject, resolved), f"{subject}@{resolved}"
    path = Path(spec)
    if not path.is_file():
        raise InputError("no such schema file (expected a file or subject@version)", file=spec)
    registry: SchemaRegistry | None
    try:
        registry = SchemaRegistry(schemas)
    except ConfigError:
        if schemas is not None:
            raise
        registry = None  # no workspace: a standalone file, its refs must stay inside it
    if registry is not None:
        schema = registry.load_file(path)
        base = path.resolve().as_uri()
        return SchemaValidator(schema, registry=registry, base_uri=base, file=spec), spec
    data = path.read_bytes()
    schema = parse_schema_bytes(data, file=spec)
    check_metaschema(schema, file=spec)
    return SchemaValidator(schema, base_uri=path.resolve().as_uri(), file=spec), spec


def run_validate(args: argparse.Namespace) -> int:
    validator, label = _validator_for(args.schema, args.schemas)
    out = sys.stdout
    valid = invalid = malformed = 0
    with _open_events(args.events) as stream:
        for number, raw in iter_jsonl(stream):
            try:
                event = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                malformed += 1
                detail = str(exc).split(": line ")[0]
                print(f"line {number}: invalid: not valid JSON ({detail})", file=out)
                continue
            problems = validator.errors(event)
            if not problems:
                valid += 1
                if not args.quiet:
                    print(f"line {number}: valid", file=out)
                continue
            invalid += 1
            print(f"line {number}: invalid", file=out)
            for pointer, message in problems:
                print(f"  {pointer}: {message}", file=out)
    total = valid + invalid + malformed
    failed = invalid + malformed
    summary = f"{total} event(s) against {label}: {valid} valid, {failed} invalid"
    if malformed:
        summary += f" ({malformed} not valid JSON)"
    print(summary, file=out)
    return 1 if failed else 0


def _read_events(stream: IO[bytes], name: str) -> Iterator[Any]:
    for number, raw in iter_jsonl(stream):
        try:
            yield orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            detail = str(exc).split(": line ")[0]
            raise InputError(f"not valid JSON: {detail}", file=name, line=number) from None


def run_infer(args: argparse.Namespace) -> int:
    with _open_events(args.events) as stream:
        schema = infer_schema(
            _read_events(stream, args.events),
            enums=args.enums,
            max_enum=args.max_enum,
            title=args.title,
        )
    text = orjson.dumps(schema, option=orjson.OPT_INDENT_2).decode() + "\n"
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"cannot write: {exc.strerror}", file=args.output) from None
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
