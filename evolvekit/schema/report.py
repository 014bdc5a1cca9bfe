"""Render a SchemaDiff (and a compatibility check summary) for people and machines.

Formats: ``text`` for terminals (grouped by severity, optionally ANSI-coloured), ``json``
(DESIGN.md's shape, exactly ``SchemaDiff.to_dict``), ``markdown`` for pull-request comments
and ``html`` for notebooks (one self-contained ``<div>``: inline scoped style, no scripts,
no external assets). Pure: nothing here reads or writes files.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from evolvekit import jsonio
from evolvekit.errors import InputError
from evolvekit.schema.changes import MODES, Change, SchemaDiff, check_mode
from evolvekit.sentinel import MISSING

if TYPE_CHECKING:  # pragma: no cover
    from evolvekit.schema.compat import HistoryCheck

FORMATS: Final[tuple[str, ...]] = ("text", "json", "markdown", "html")
SEVERITIES: Final[tuple[str, ...]] = ("breaking", "caution", "info")

# Values longer than this are cut with an ellipsis in text, markdown and html cells.
VALUE_WIDTH: Final = 60
# Columns are padded for alignment, but a very long kind or path must not push
# every other line off the screen.
MAX_PAD: Final = 48
ABSENT: Final = "(absent)"

_ANSI: Final[dict[str, str]] = {
    "breaking": "\x1b[31m",
    "caution": "\x1b[33m",
    "info": "\x1b[36m",
    "ok": "\x1b[32m",
    "bad": "\x1b[1;31m",
    "bold": "\x1b[1m",
    "reset": "\x1b[0m",
}


def render(
    diff: SchemaDiff, fmt: str = "text", *, mode: str = "backward", color: bool = False
) -> str:
    """The report of ``diff`` in ``fmt`` (text | json | markdown | html) for ``mode``."""
    base_mode = _mode(mode)
    if fmt == "text":
        return _text(diff, base_mode, color)
    if fmt == "json":
        return jsonio.dumps_str(diff.to_dict(base_mode), indent=True)
    if fmt == "markdown":
        return _markdown(diff, base_mode)
    if fmt == "html":
        return _html(diff, base_mode)
    raise InputError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")


def _mode(mode: str) -> str:
    try:
        return check_mode(mode)
    except ValueError as exc:
        raise InputError(str(exc)) from None


def short_value(value: Any, width: int = VALUE_WIDTH) -> str:
    """Compact JSON for ``value`` (``(absent)`` for MISSING), cut with ``...`` past ``width``."""
    if value is MISSING:
        return ABSENT
    try:
        text = jsonio.dumps_str(value)
    except InputError:
        text = repr(value)
    if len(text) > width:
        text = text[: max(width - 3, 1)] + "..."
    return text


def origin(diff: SchemaDiff, mode: str) -> str:
    """The header's settings and where each came from, e.g. ``mode none from subject.yaml
    (nothing enforced; severities for backward), policy strict from default``."""
    return settings_origin(diff.configured_mode or mode, diff.mode_source, diff.policy,
                           diff.policy_source, mode)  # fmt: skip


def settings_origin(configured: str, mode_source: str, policy: str, policy_source: str,
                    judged: str) -> str:  # fmt: skip
    """``origin``'s text from the settings themselves (the diff widget shows it before a
    diff exists): ``configured`` the mode as set, ``judged`` the direction severities use."""
    text = f"mode {configured} from {mode_source}"
    if configured == "none":
        text += f" (nothing enforced; severities for {judged})"
    return f"{text}, policy {policy} from {policy_source}"


def _grouped(diff: SchemaDiff, mode: str) -> dict[str, list[Change]]:
    groups: dict[str, list[Change]] = {s: [] for s in SEVERITIES}
    for change in diff.changes:  # document order is kept inside each group
        groups[change.severity(mode)].append(change)
    return groups


def _verdicts(diff: SchemaDiff) -> list[tuple[str, bool, int]]:
    """(direction, compatible, breaking count) for backward, forward and full."""
    return [(m, diff.compatible(m), len(diff.breaking(m))) for m in MODES]


def _breaks_label(change: Change) -> str:
    return ", ".join(sorted(change.breaks))


# --- text ----------------------------------------------------------------------------


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def printable(text: str) -> str:
    """``text`` with control characters escaped, so a hostile property name cannot send
    terminal escape sequences through a text report."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _text(diff: SchemaDiff, mode: str, color: bool) -> str:
    def paint(style: str, text: str) -> str:
        return f"{_ANSI[style]}{text}{_ANSI['reset']}" if color else text

    lines = [
        paint("bold", printable(f"{diff.old_label} -> {diff.new_label}"))
        + f"  ({origin(diff, mode)})"
    ]
    if not diff.changes:
        lines.append("  no changes")
    else:
        kind_pad = min(max(len(c.kind) for c in diff.changes), MAX_PAD)
        path_pad = min(max(len(c.path) for c in diff.changes), MAX_PAD)
        for severity, changes in _grouped(diff, mode).items():
            if not changes:
                continue
            lines.append(paint(severity, f"{severity} ({len(changes)})"))
            for c in changes:
                line = printable(
                    f"  {c.kind.ljust(kind_pad)}  {c.path.ljust(path_pad)}  "
                    f"{short_value(c.old)} -> {short_value(c.new)}"
                )
                if c.breaks:
                    line += f"  (breaks: {_breaks_label(c)})"
                lines.append(paint(severity, line) if severity == "breaking" else line)
                lines.extend(printable(extra) for extra in _text_details(c, diff))
    if diff.hints:
        lines.append("rename hints (not verdicts)")
        for hint in diff.hints:
            lines.append(
                printable(f"  {hint.removed} -> {hint.added} (similarity {hint.similarity:.2f})")
            )
    for direction, ok, count in _verdicts(diff):
        verdict = (
            paint("ok", "compatible") if ok else paint("bad", f"INCOMPATIBLE ({count} breaking)")
        )
        chosen = "  <- mode" if direction == mode else ""
        lines.append(f"{direction + ':':<10}{verdict}{chosen}")
    return "\n".join(lines) + "\n"


def _text_details(change: Change, diff: SchemaDiff) -> list[str]:
    """The lines under a change: why, the ignore that covers it, the proving event."""
    out = [f"      why: {change.explain(diff.old_label, diff.new_label)}"]
    if change.ignored:
        out.append(f"      ignored: {change.ignored}")
    if change.example is not MISSING:
        out.append(f"      example: {jsonio.dumps_str(change.example)}")
    return out


# --- markdown ------------------------------------------------------------------------

_MD_SEVERITY: Final[dict[str, str]] = {
    "breaking": "🔴 breaking",
    "caution": "🟡 caution",
    "info": "⚪ info",
}


def md_code(text: str) -> str:
    """``text`` as a GFM code span that is safe inside a table cell.

    The fence is one backtick longer than the longest run inside (CommonMark's rule), and
    pipes are escaped because GFM splits table cells on ``|`` even inside code spans.
    """
    if not text:
        return ""
    text = printable(text)  # a raw newline would end the table row
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or longest else ""
    return f"{fence}{pad}{text.replace('|', chr(92) + '|')}{pad}{fence}"


def _md_value(value: Any) -> str:
    return "" if value is MISSING else md_code(short_value(value))


def _md_why(change: Change, diff: SchemaDiff) -> str:
    text = change.explain(diff.old_label, diff.new_label)
    if change.ignored:
        text += f" Ignored: {change.ignored}"
    return printable(text).replace("|", "\\|")


def _md_example(change: Change) -> str:
    return "" if change.example is MISSING else md_code(jsonio.dumps_str(change.example))


def _md_badges(diff: SchemaDiff, mode: str) -> str:
    badges = []
    for direction, ok, count in _verdicts(diff):
        text = f"{'✅' if ok else '❌'} {direction}"
        if not ok:
            text += f" ({count} breaking)"
        badges.append(f"**{text}**" if direction == mode else text)
    return " · ".join(badges)


def _markdown(diff: SchemaDiff, mode: str) -> str:
    verdict = "compatible" if diff.compatible(mode) else "INCOMPATIBLE"
    lines = [
        f"### Schema diff {md_code(diff.old_label)} → {md_code(diff.new_label)}: "
        f"{verdict} ({mode})",
        "",
        _md_badges(diff, mode),
        "",
        f"Settings: {origin(diff, mode)}; {len(diff.changes)} change(s).",
        "",
    ]
    if diff.changes:
        lines += ["| severity | kind | path | old | new | breaks | why | example |",
                  "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for severity, changes in _grouped(diff, mode).items():
            for c in changes:
                lines.append(
                    f"| {_MD_SEVERITY[severity]} | {md_code(c.kind)} | {md_code(c.path)} | "
                    f"{_md_value(c.old)} | {_md_value(c.new)} | {_breaks_label(c)} | "
                    f"{_md_why(c, diff)} | {_md_example(c)} |"
                )
    else:
        lines.append("No changes.")
    if diff.hints:
        lines += ["", "**Rename hints** (not verdicts):", ""]
        for h in diff.hints:
            lines.append(
                f"- {md_code(h.removed)} → {md_code(h.added)} (similarity {h.similarity:.2f})"
            )
    return "\n".join(lines) + "\n"


# --- html ----------------------------------------------------------------------------

_CSS_CLASS: Final = "evolvekit-report"
# Scoped by the wrapper class so the report never restyles the rest of a notebook.
_STYLE: Final = f"""
.{_CSS_CLASS} {{font-family: system-ui, sans-serif; font-size: 13px; line-height: 1.4}}
.{_CSS_CLASS} h4 {{margin: 0.2em 0 0.4em}}
.{_CSS_CLASS} .ek-badge {{display: inline-block; padding: 1px 8px; margin-right: 6px;
  border-radius: 10px; font-weight: 600; color: #fff}}
.{_CSS_CLASS} .ek-ok {{background: #2e7d32}}
.{_CSS_CLASS} .ek-bad {{background: #c62828}}
.{_CSS_CLASS} .ek-current {{outline: 2px solid #333}}
.{_CSS_CLASS} table {{border-collapse: collapse; margin-top: 0.5em}}
.{_CSS_CLASS} th, .{_CSS_CLASS} td {{border: 1px solid #ccc; padding: 2px 8px;
  text-align: left; vertical-align: top}}
.{_CSS_CLASS} code {{font-family: ui-monospace, monospace; white-space: pre-wrap;
  word-break: break-all}}
.{_CSS_CLASS} tr.ek-breaking td:first-child {{background: #ffcdd2; color: #b71c1c}}
.{_CSS_CLASS} tr.ek-caution td:first-child {{background: #fff3c4; color: #8a6d00}}
.{_CSS_CLASS} tr.ek-info td:first-child {{background: #e3f2fd; color: #0d47a1}}
"""


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _html_value(value: Any) -> str:
    return "" if value is MISSING else f"<code>{_esc(short_value(value))}</code>"


def _html_why(change: Change, diff: SchemaDiff) -> str:
    """The explanation, the ignore reason, and the proving event in a collapsed <details>."""
    out = _esc(change.explain(diff.old_label, diff.new_label))
    if change.ignored:
        out += f"<br><em>ignored: {_esc(change.ignored)}</em>"
    if change.example is not MISSING:
        out += ("<details><summary>example event</summary>"
                f"<code>{_esc(jsonio.dumps_str(change.example))}</code></details>")  # fmt: skip
    return out


def _html_badges(verdicts: Iterable[tuple[str, bool, int]], mode: str) -> str:
    parts = []
    for direction, ok, count in verdicts:
        classes = "ek-badge " + ("ek-ok" if ok else "ek-bad")
        if direction == mode:
            classes += " ek-current"
        label = f"{direction} ✓" if ok else f"{direction} ✗ {count}"
        parts.append(f'<span class="{classes}">{_esc(label)}</span>')
    return "".join(parts)


def _html(diff: SchemaDiff, mode: str) -> str:
    verdict = "compatible" if diff.compatible(mode) else "INCOMPATIBLE"
    out = [
        f'<div class="{_CSS_CLASS}">',
        f"<style>{_STYLE}</style>",
        f"<h4><code>{_esc(diff.old_label)}</code> → <code>{_esc(diff.new_label)}</code>: "
        f"{_esc(verdict)} ({_esc(origin(diff, mode))})</h4>",
        f"<div>{_html_badges(_verdicts(diff), mode)}</div>",
    ]
    if diff.changes:
        out.append(
            "<table><thead><tr><th>severity</th><th>kind</th><th>path</th><th>old</th>"
            "<th>new</th><th>breaks</th><th>why</th></tr></thead><tbody>"
        )
        for severity, changes in _grouped(diff, mode).items():
            for c in changes:
                out.append(
                    f'<tr class="ek-{severity}"><td>{severity}</td><td><code>{_esc(c.kind)}</code>'
                    f"</td><td><code>{_esc(c.path)}</code></td><td>{_html_value(c.old)}</td>"
                    f"<td>{_html_value(c.new)}</td><td>{_esc(_breaks_label(c))}</td>"
                    f"<td>{_html_why(c, diff)}</td></tr>"
                )
        out.append("</tbody></table>")
    else:
        out.append("<p>No changes.</p>")
    if diff.hints:
        out.append("<p>Rename hints (not verdicts):</p><ul>")
        for h in diff.hints:
            out.append(
                f"<li><code>{_esc(h.removed)}</code> → <code>{_esc(h.added)}</code> "
                f"(similarity {h.similarity:.2f})</li>"
            )
        out.append("</ul>")
    out.append("</div>")
    return "\n".join(out) + "\n"


# --- compatibility check summary -----------------------------------------------------


@dataclass(frozen=True)
class PairResult:
    """One comparison a check made: ``old`` -> ``new`` (labels), its diff, its verdict."""

    old: str
    new: str
    diff: SchemaDiff
    ok: bool


@dataclass(frozen=True)
class CheckRow:
    """One line of the check summary: a subject (or file) and what it was compared with."""

    subject: str
    compared: str  # e.g. "2.1.0 vs 2.0.0, 1.0.0" or "2.0.0.json vs main"
    mode: str  # the subject's mode as configured, e.g. "backward_transitive" or "none"
    ok: bool
    breaking: int = 0
    note: str = ""  # why a row failed without a diff (deleted version, unreadable file)
    pairs: tuple[PairResult, ...] = ()
    expired: tuple[str, ...] = ()  # expired ignores of subject.yaml (they fail the row)
    warnings: tuple[str, ...] = ()  # ignores that matched nothing

    @property
    def verdict(self) -> str:
        if not self.ok:
            reason = self.note or ("expired ignore" if self.expired else "")
            return f"VIOLATION ({reason})" if reason else "INCOMPATIBLE"
        # Mode "none" enforces nothing: saying "compatible" would contradict the diff above.
        return "accepted (mode none)" if self.mode == "none" else "compatible"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "subject": self.subject,
            "compared": self.compared,
            "mode": self.mode,
            "ok": self.ok,
            "breaking": self.breaking,
        }
        if self.note:
            out["note"] = self.note
        out["expired_ignores"] = list(self.expired)
        out["warnings"] = list(self.warnings)
        diff_mode = judging_mode(self.mode)
        out["pairs"] = [
            {"old": p.old, "new": p.new, "ok": p.ok, **p.diff.to_dict(diff_mode)}
            for p in self.pairs
        ]
        return out


def judging_mode(configured: str) -> str:
    """The direction(s) a configured mode judges diffs in: ``full_transitive`` -> ``full``;
    ``none`` (which enforces nothing) is shown as ``backward``."""
    base = configured.removesuffix("_transitive")
    return base if base in MODES else "backward"


def history_row(check: HistoryCheck) -> CheckRow:
    """The summary row of one ``compat`` check (a subject's newest version or a candidate)."""
    pairs = tuple(PairResult(p.old_version, p.new_version, p.diff, p.ok) for p in check.pairs)
    return CheckRow(check.subject, check.compared, check.mode, check.ok, check.breaking,
                    pairs=pairs, expired=tuple(check.expired),
                    warnings=tuple(check.warnings))  # fmt: skip


def render_history(
    check: HistoryCheck | Iterable[HistoryCheck], fmt: str = "text", *, color: bool = False
) -> str:
    """The check summary table for one ``HistoryCheck`` or several (``compat.check_all``)."""
    from evolvekit.schema.compat import HistoryCheck

    checks = [check] if isinstance(check, HistoryCheck) else list(check)
    return render_summary([history_row(c) for c in checks], fmt, color=color)


SUMMARY_COLUMNS: Final[tuple[str, ...]] = ("subject", "compared", "mode", "verdict", "breaking")


def _cells(row: CheckRow) -> list[str]:
    cells = (row.subject, row.compared, row.mode, row.verdict, str(row.breaking))
    return [printable(c) for c in cells]


def render_summary(rows: Sequence[CheckRow], fmt: str = "text", *, color: bool = False) -> str:
    """The check summary table (subject, versions compared, mode, verdict, breaking count)."""
    failed = sum(not r.ok for r in rows)
    tally = f"{len(rows)} checked, {failed} violation(s)"
    if fmt == "json":
        return jsonio.dumps_str(
            {"ok": failed == 0, "checks": [r.to_dict() for r in rows]}, indent=True
        )
    if fmt == "text":
        table = [list(SUMMARY_COLUMNS), *(_cells(r) for r in rows)]
        widths = [max(len(line[i]) for line in table) for i in range(len(SUMMARY_COLUMNS))]
        lines = []
        for index, cells in enumerate(table):
            line = "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True))
            line = line.rstrip()
            if color and index > 0:
                style = "ok" if rows[index - 1].ok else "bad"
                line = f"{_ANSI[style]}{line}{_ANSI['reset']}"
            lines.append(line)
        lines.append(tally)
        return "\n".join(lines) + "\n"
    if fmt == "markdown":
        lines = [
            f"### Schema compatibility check: {'✅ passed' if failed == 0 else '❌ failed'}",
            "",
            "| " + " | ".join(SUMMARY_COLUMNS) + " |",
            "|---" * len(SUMMARY_COLUMNS) + "|",
        ]
        for r in rows:
            cells = _cells(r)
            cells[3] = ("✅ " if r.ok else "❌ ") + cells[3].replace("|", "\\|")
            cells[0], cells[1], cells[2] = md_code(cells[0]), md_code(cells[1]), md_code(cells[2])
            lines.append("| " + " | ".join(cells) + " |")
        lines += ["", tally + "."]
        return "\n".join(lines) + "\n"
    if fmt == "html":
        out = [f'<div class="{_CSS_CLASS}">', f"<style>{_STYLE}</style>", "<table><thead><tr>"]
        out.append("".join(f"<th>{c}</th>" for c in SUMMARY_COLUMNS) + "</tr></thead><tbody>")
        for r in rows:
            css = "ek-info" if r.ok else "ek-breaking"
            out.append(
                f'<tr class="{css}">' + "".join(f"<td>{_esc(c)}</td>" for c in _cells(r)) + "</tr>"
            )
        out += ["</tbody></table>", f"<p>{_esc(tally)}</p>", "</div>"]
        return "\n".join(out) + "\n"
    raise InputError(f"unknown report format {fmt!r}; expected one of {', '.join(FORMATS)}")
