"""The two schemas side by side, line-aligned, changed lines highlighted and linked to the rows.

Plain HTML (no script, no network): it renders the same in JupyterLab, offline, and in a static
HTML export. Each schema is pretty-printed by ``pretty_lines``, which also records the line
every JSON pointer starts on; ``difflib`` aligns the two line lists; a change's path is
mapped to the line of its deepest pointer prefix present in the schema, so a table row can
point at its lines (``data-change`` on the line, ``ek-line-<panel>-<side>-<n>`` ids).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from evolvekit.workbench._common import esc

INDENT: Final = "  "
STYLE: Final = """<style>
.ek-sbs {display: grid; grid-template-columns: 1fr 1fr; gap: 0 8px; max-height: 420px;
  overflow: auto; border: 1px solid #ddd; font-family: ui-monospace, monospace; font-size: 12px}
.ek-sbs .ek-sbs-head {position: sticky; top: 0; background: #fafafa; font-weight: 600;
  padding: 2px 6px; border-bottom: 1px solid #ddd; font-family: system-ui, sans-serif}
.ek-sbs .ek-line {white-space: pre; padding: 0 6px; min-height: 1.35em}
.ek-sbs .ek-line .ek-no {color: #999; display: inline-block; width: 3.5em; user-select: none}
.ek-sbs .ek-del {background: #ffebee}
.ek-sbs .ek-add {background: #e8f5e9}
.ek-sbs .ek-mod {background: #fff8e1}
.ek-sbs .ek-pad {background: #f5f5f5}
.ek-sbs .ek-linked {outline: 1px dashed #c62828; cursor: pointer}
</style>"""


@dataclass
class Printed:
    """A pretty-printed JSON value: its lines and the line (0-based) each pointer starts on."""

    lines: list[str] = field(default_factory=list)
    pointers: dict[str, int] = field(default_factory=dict)


def pretty_lines(value: Any) -> Printed:
    out = Printed()
    _print(value, "#", 0, "", out, last=True)
    return out


def _escape_token(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def _print(value: Any, pointer: str, depth: int, prefix: str, out: Printed, last: bool) -> None:
    pad = INDENT * depth
    comma = "" if last else ","
    out.pointers.setdefault(pointer, len(out.lines))
    if isinstance(value, Mapping) and value:
        out.lines.append(f"{pad}{prefix}{{")
        items = list(value.items())
        for index, (key, sub) in enumerate(items):
            child = f"{pointer}/{_escape_token(str(key))}"
            _print(sub, child, depth + 1, f"{json.dumps(key)}: ", out, index == len(items) - 1)
        out.lines.append(f"{pad}}}{comma}")
    elif isinstance(value, list) and value and any(isinstance(v, Mapping | list) for v in value):
        out.lines.append(f"{pad}{prefix}[")
        for index, sub in enumerate(value):
            _print(sub, f"{pointer}/{index}", depth + 1, "", out, index == len(value) - 1)
        out.lines.append(f"{pad}]{comma}")
    else:
        out.lines.append(f"{pad}{prefix}{json.dumps(value, ensure_ascii=False)}{comma}")


def line_of(printed: Printed, path: str) -> tuple[int, int] | None:
    """``(line, depth)`` of ``path`` (a ``#/...`` pointer) or of its deepest prefix present."""
    parts = path.split("/")
    while len(parts) > 1:
        pointer = "/".join(parts)
        if pointer in printed.pointers:
            return printed.pointers[pointer], len(parts)
        parts.pop()
    return None


def row_lines(old: Printed, new: Printed, paths: Sequence[str]) -> list[tuple[str, int] | None]:
    """Where each row points: the side holding its path (deepest match; new side on a tie)."""
    out: list[tuple[str, int] | None] = []
    for path in paths:
        best: tuple[str, int] | None = None
        best_depth = 0
        for side, printed in (("new", new), ("old", old)):
            hit = line_of(printed, path)
            if hit is not None and hit[1] > best_depth:
                best, best_depth = (side, hit[0]), hit[1]
        out.append(best)
    return out


@dataclass
class AlignedRow:
    old: int | None  # line numbers (0-based); None where the other side has a line alone
    new: int | None
    tag: str  # equal | replace | delete | insert


def align(old: Sequence[str], new: Sequence[str]) -> list[AlignedRow]:
    rows: list[AlignedRow] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for k in range(max(i2 - i1, j2 - j1)):
            o = i1 + k if i1 + k < i2 else None
            n = j1 + k if j1 + k < j2 else None
            rows.append(AlignedRow(o, n, tag))
    return rows


def side_by_side_html(
    old_schema: Any, new_schema: Any, paths: Sequence[str], *, labels: tuple[str, str],
    panel_id: str,
) -> str:  # fmt: skip
    """The aligned view; ``paths[i]`` is the path of table row ``i`` (linked both ways)."""
    old, new = pretty_lines(old_schema), pretty_lines(new_schema)
    linked: dict[tuple[str, int], list[int]] = {}
    for index, path in enumerate(paths):
        for side, printed in (("old", old), ("new", new)):
            if path in printed.pointers:  # only exact lines are marked as a row's
                linked.setdefault((side, printed.pointers[path]), []).append(index)
    cells = [f'<div class="ek-sbs-head">{esc(labels[0])}</div>',
             f'<div class="ek-sbs-head">{esc(labels[1])}</div>']  # fmt: skip
    css = {"equal": "", "replace": "ek-mod", "delete": "ek-del", "insert": "ek-add"}
    for row in align(old.lines, new.lines):
        for side, printed, number in (("old", old, row.old), ("new", new, row.new)):
            if number is None:
                cells.append('<div class="ek-line ek-pad"></div>')
                continue
            classes = ["ek-line", css[row.tag]]
            attrs = f' id="ek-line-{panel_id}-{side}-{number}"'
            rows_here = linked.get((side, number))
            if rows_here:
                classes.append("ek-linked")
                attrs += (f' data-change="{" ".join(map(str, rows_here))}" '
                          f'title="change row {", ".join(str(i + 1) for i in rows_here)}" '
                          f'onclick="{esc(_jump_to_row_js(panel_id, rows_here[0]))}"')  # fmt: skip
            cells.append(
                f'<div class="{" ".join(c for c in classes if c)}"{attrs}>'
                f'<span class="ek-no">{number + 1}</span>{esc(printed.lines[number])}</div>'
            )
    return f'{STYLE}<div class="ek-sbs" data-panel="{panel_id}">{"".join(cells)}</div>'


def _flash(selector: str) -> str:
    return (f"const e=document.querySelector('{selector}');if(e){{e.scrollIntoView("
            "{block:'center'});e.style.outline='2px solid #c62828';"
            "setTimeout(()=>e.style.outline='',1500)}")  # fmt: skip


def _jump_to_row_js(panel_id: str, row: int) -> str:
    return _flash(f'tr[data-panel="{panel_id}"][data-row="{row}"]')


def jump_to_line_js(panel_id: str, side: str, line: int) -> str:
    return _flash(f"#ek-line-{panel_id}-{side}-{line}")
