"""CI outputs for ``diff`` and ``check``: ``--fail-on``, JUnit XML and GitHub workflow commands.

``--fail-on`` picks the lowest severity that fails: ``breaking`` (default), ``caution``,
``info`` (any change) or ``never``. Ignored changes never fail; a subject in mode ``none``
enforces nothing and is reported as a passing case. JUnit: one ``testcase`` per subject pair
(``classname`` = subject, ``name`` = "old -> new"), failures carrying rule, path and
explanation. GitHub: ``::error file=schemas/S/V.json,title=RULE::explanation`` per failing
change (``::warning`` for unused ignores), escaped as GitHub's workflow commands require. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Final
from xml.etree import ElementTree as ET

from evolvekit.schema.changes import SEVERITY_ORDER, Change, SchemaDiff
from evolvekit.schema.report import CheckRow, judging_mode

__all__ = ["FAIL_ON", "failing_changes", "render_github", "render_junit", "row_fails"]

FAIL_ON: Final[tuple[str, ...]] = ("breaking", "caution", "info", "never")


def failing_changes(diff: SchemaDiff, mode: str, fail_on: str) -> list[Change]:
    """The changes of ``diff`` at or above ``fail_on`` under ``mode`` (ignored ones never)."""
    if fail_on == "never":
        return []
    limit = SEVERITY_ORDER[fail_on]
    return [c for c in diff.changes if not c.ignored and SEVERITY_ORDER[c.severity(mode)] <= limit]


def _pair_failures(row: CheckRow, fail_on: str) -> list[list[Change]]:
    if row.mode == "none":
        return [[] for _ in row.pairs]
    mode = judging_mode(row.mode)
    return [failing_changes(p.diff, mode, fail_on) for p in row.pairs]


def row_fails(row: CheckRow, fail_on: str) -> bool:
    """Whether ``row`` fails a CI run under ``fail_on``."""
    if row.note or row.expired:
        return True
    return any(_pair_failures(row, fail_on))


def render_junit(rows: Sequence[CheckRow], fail_on: str = "breaking") -> str:
    """JUnit XML: one testsuite, one testcase per subject pair (or per subject without any)."""
    suite = ET.Element("testsuite", name="evolvekit schema compatibility")
    cases = failures = 0
    for row in rows:
        pair_failures = _pair_failures(row, fail_on)
        entries = [(f"{p.old} -> {p.new}", bad) for p, bad in zip(row.pairs, pair_failures,
                                                                  strict=True)] or [
            (row.compared, [])]  # fmt: skip
        for index, (name, bad) in enumerate(entries):
            case = ET.SubElement(suite, "testcase", classname=row.subject, name=name)
            cases += 1
            problems = [f"{c.kind} {c.path}: {c.explanation}" for c in bad]
            if index == 0:
                problems += [*row.expired, *([row.note] if row.note else [])]
            if problems:
                failures += 1
                rule = bad[0].kind if bad else "check"
                failure = ET.SubElement(case, "failure", type=rule,
                                        message=f"{len(problems)} problem(s), first: {rule}")
                failure.text = "\n".join(problems)
            for warning in row.warnings if index == 0 else ():
                ET.SubElement(case, "system-out").text = warning
    suite.set("tests", str(cases))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def command(level: str, message: str, **props: str) -> str:
    """One GitHub workflow command line, e.g. ``::error file=a.json,title=x::message``."""
    rendered = ",".join(f"{k}={_escape_property(v)}" for k, v in props.items())
    return f"::{level} {rendered}::{_escape_data(message)}" if rendered else (
        f"::{level}::{_escape_data(message)}")  # fmt: skip


def render_github(
    rows: Sequence[CheckRow], fail_on: str = "breaking",
    file_of: Callable[[str, str], str] | None = None,
) -> str:  # fmt: skip
    """GitHub workflow commands: an error per failing change (annotating the new schema file,
    ``file_of(subject, file name)`` -> path), per expired ignore and failed row; a warning
    per unused ignore."""
    where = file_of or (lambda subject, name: f"schemas/{subject}/{name}")
    lines = []
    for row in rows:
        for pair, bad in zip(row.pairs, _pair_failures(row, fail_on), strict=True):
            target = where(row.subject, f"{pair.new}.json")
            lines += [command("error", c.explanation, file=target, title=c.kind)
                      for c in bad]  # fmt: skip
        config = where(row.subject, "subject.yaml")
        for message in row.expired:
            lines.append(command("error", message, file=config, title="expired ignore"))
        if row.note:
            lines.append(command("error", f"{row.subject}: {row.note}", title="check"))
        for message in row.warnings:
            lines.append(command("warning", message, file=config, title="unused ignore"))
    return "".join(line + "\n" for line in lines)
