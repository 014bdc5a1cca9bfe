"""HTML for the diff panel: verdict badges, the change table, the history table.

Rules that keep the views honest: rows are sorted breaking, caution, info (then document
order) and every header sorts; paths and kinds wrap only after ``/`` and ``_`` (full text
on hover); each row expands to its full old and new values, the change's explanation and
its proven example event (``no example`` when the diff has none); the badges and the
history use the same counts as the table (one verdict per pair, that pair's own count).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from evolvekit import jsonio
from evolvekit.errors import InputError
from evolvekit.schema.changes import MISSING, MODES, SEVERITY_ORDER, Change, SchemaDiff
from evolvekit.schema.compat import HistoryCheck, base_mode
from evolvekit.schema.report import short_value
from evolvekit.workbench._common import breakable, esc, sortable_header, wrap
from evolvekit.workbench.side_by_side import jump_to_line_js

HEADERS: Final = ("#", "severity", "path", "kind", "old → new (click to expand)", "breaks")


def badges_html(diff: SchemaDiff, mode: str) -> str:
    badges = []
    for direction in MODES:
        count = len(diff.breaking(direction))
        css = "ek-badge " + ("ek-bad" if count else "ek-ok")
        css += " ek-current" if direction == mode else ""
        label = f"{direction} ✓" if not count else f"{direction} ✗ {count} breaking"
        badges.append(f'<span class="{css}" data-mode="{direction}" '
                      f'data-breaking="{count}">{esc(label)}</span>')  # fmt: skip
    return wrap(
        f"<div><code>{esc(diff.old_label)}</code> → <code>{esc(diff.new_label)}</code>: "
        f"{len(diff.changes)} change(s), policy {esc(diff.policy)}</div>"
        f"<div>{''.join(badges)}</div>"
    )


def full_value(value: Any) -> str:
    if value is MISSING or value is None:
        return "(absent)"
    try:
        return jsonio.dumps_str(value, indent=True)
    except InputError:
        return repr(value)


def details_html(change: Change) -> str:
    """What a row expands to: full values, the explanation, the proven example event."""
    example_html = (
        f'<pre class="ek-example">{esc(jsonio.dumps_str(change.example, indent=True))}</pre>'
        if change.example is not MISSING
        else '<span class="ek-note">no example</span>'
    )
    ignored = (f'<br><b>ignored</b> <span class="ek-ignored">{esc(change.ignored)}</span>'
               if change.ignored else "")  # fmt: skip
    return (
        f'<div class="ek-detail"><b>old</b><pre>{esc(full_value(change.old))}</pre>'
        f"<b>new</b><pre>{esc(full_value(change.new))}</pre>"
        f'<b>explanation</b> <span class="ek-explanation">{esc(change.explanation)}</span>'
        f"{ignored}<br><b>example event</b> {example_html}</div>"
    )


def change_row(
    index: int, change: Change, mode: str, panel_id: str, line: tuple[str, int] | None
) -> str:
    severity = change.severity(mode)
    summary = f"{short_value(change.old)} → {short_value(change.new)}"
    jump = ""
    if line is not None:
        js = jump_to_line_js(panel_id, *line)
        jump = (f' <a class="ek-jump" href="javascript:void(0)" title="show in the schemas '
                f'({line[0]} line {line[1] + 1})" onclick="{esc(js)}">⇄</a>')  # fmt: skip
    breaks = ", ".join(sorted(change.breaks)) or "nothing"
    if change.ignored:
        breaks += f" (ignored: {change.ignored})"
    return (
        f'<tr class="ek-change ek-{severity}" data-panel="{panel_id}" data-row="{index}">'
        f'<td data-sort="{index}">{index + 1}</td>'
        f'<td class="ek-sev" data-sort="{SEVERITY_ORDER[severity]}">{severity}</td>'
        f'<td title="{esc(change.path)}"><code>{breakable(change.path)}</code>{jump}</td>'
        f'<td title="{esc(change.kind)}"><code>{breakable(change.kind)}</code></td>'
        f'<td data-sort="{esc(summary)}"><details class="ek-expand"><summary><code>'
        f"{esc(summary)}</code></summary>{details_html(change)}</details></td>"
        f"<td>{esc(breaks)}</td></tr>"
    )


def changes_table(
    rows: Sequence[Change], mode: str, panel_id: str, lines: Sequence[tuple[str, int] | None]
) -> str:
    head = "".join(sortable_header(h) for h in HEADERS)
    body = "".join(change_row(i, c, mode, panel_id, lines[i]) for i, c in enumerate(rows))
    return wrap(f'<table class="ek-table ek-changes"><thead><tr>{head}</tr></thead>'
                f"<tbody>{body}</tbody></table>")  # fmt: skip


def history_html(history: HistoryCheck, panel_mode: str) -> str:
    """One row per compared pair: that pair's verdict and that pair's own breaking count.

    The count is under the mode the check judges by (the subject's, or the panel's for the
    transitive button); a mode of ``none`` allows everything, and says it still counts the
    panel's mode's breaking changes, so the figures agree with the table and the badges.
    """
    judged = base_mode(history.mode)
    counted = panel_mode if judged == "none" else judged
    rows = []
    broken = 0
    for pair in history.pairs:
        count = len(pair.diff.breaking(counted))
        if judged == "none":
            verdict = f"allowed (mode none); {count} breaking under {counted}"
        elif count:
            verdict, broken = "incompatible", broken + 1
        else:
            verdict = "compatible"
        css = "ek-ok" if pair.ok else "ek-bad"
        rows.append(
            f'<tr class="ek-pair" data-old="{esc(pair.old_version)}" data-breaking="{count}">'
            f"<td><code>{esc(pair.old_version)}</code> → <code>{esc(pair.new_version)}</code></td>"
            f'<td><span class="ek-badge {css}">{esc(verdict)}</span></td>'
            f'<td data-sort="{count}">{count}</td></tr>'
        )
    if judged == "none":
        headline = (f"mode <b>none</b> (from subject.yaml): every version is allowed; "
                    f"{len(history.pairs)} pair(s) compared")  # fmt: skip
    else:
        headline = (f"mode <b>{esc(history.mode)}</b>: <code>{esc(history.version)}</code> "
                    f"breaks with {broken} of {len(history.pairs)} earlier version(s)")  # fmt: skip
    head = "".join(sortable_header(h) for h in ("pair", "verdict", f"breaking ({counted})"))
    return wrap(
        f'<div class="ek-history"><b>History of <code>{esc(history.subject)}</code></b>: '
        f"{headline}<table class='ek-table'><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
