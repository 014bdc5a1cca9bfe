"""Two pictures of a subject's history: the compatibility matrix and the field lineage.

``compatibility_matrix``: every ordered pair of versions (N x N), each cell the verdict of
``diff(row -> column)``: ``full`` (both ways), ``backward`` only, ``forward`` only, or
``none``. ``field_lineage``: each property (nested ones as dotted paths) across the
versions: added, kept, retyped, renamed (the diff's rename hint), removed.

``matrix_html`` / ``lineage_html`` draw them as self-contained HTML (inline style, no
script), used by ``evolvekit diff|check --format html`` and the workbench's diff panel.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from evolvekit.schema.changes import SchemaDiff
    from evolvekit.schema.registry import SchemaRegistry

VERDICT_COLORS: Final = {
    "full": "#2e7d32",
    "backward": "#1565c0",
    "forward": "#ef6c00",
    "none": "#c62828",
    "same": "#9e9e9e",
}
LINEAGE_COLORS: Final = {
    "added": "#c8e6c9",
    "kept": "#f5f5f5",
    "retyped": "#fff3c4",
    "renamed": "#e1bee7",
    "removed": "#ffcdd2",
}


@dataclass(frozen=True)
class MatrixCell:
    old: str
    new: str
    verdict: str  # full | backward | forward | none | same
    backward_breaking: int
    forward_breaking: int

    @property
    def title(self) -> str:
        if self.verdict == "same":
            return f"{self.old}: the same version"
        return (f"{self.old} → {self.new}: {self.verdict}; backward breaking "
                f"{self.backward_breaking}, forward breaking {self.forward_breaking}")  # fmt: skip


@dataclass
class CompatibilityMatrix:
    subject: str
    versions: list[str]
    cells: dict[tuple[str, str], MatrixCell] = field(default_factory=dict)

    def cell(self, old: str, new: str) -> MatrixCell:
        return self.cells[(old, new)]


def verdict_of(diff: SchemaDiff) -> str:
    backward, forward = diff.compatible("backward"), diff.compatible("forward")
    if backward and forward:
        return "full"
    return "backward" if backward else "forward" if forward else "none"


def compatibility_matrix(
    registry: SchemaRegistry, subject: str, *, policy: str = "strict"
) -> CompatibilityMatrix:
    """The verdict of every ordered pair of ``subject``'s versions."""
    from evolvekit.schema.diff import diff_schemas

    versions = registry.versions(subject)
    matrix = CompatibilityMatrix(subject, list(versions))
    for old in versions:
        for new in versions:
            if old == new:
                matrix.cells[(old, new)] = MatrixCell(old, new, "same", 0, 0)
                continue
            diff = diff_schemas(f"{subject}@{old}", f"{subject}@{new}", policy=policy,
                                registry=registry)  # fmt: skip
            matrix.cells[(old, new)] = MatrixCell(
                old, new, verdict_of(diff), len(diff.breaking("backward")),
                len(diff.breaking("forward")),
            )  # fmt: skip
    return matrix


# --- lineage ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LineageStep:
    """What happened to one field at one version."""

    status: str  # added | kept | retyped | renamed | removed
    detail: str = ""


@dataclass
class FieldLineage:
    subject: str
    versions: list[str]
    fields: dict[str, dict[str, LineageStep]] = field(default_factory=dict)  # path -> version

    def history(self, path: str) -> dict[str, LineageStep]:
        return self.fields.get(path, {})


def _type_label(schema: Any) -> str:
    if not isinstance(schema, Mapping):
        return "any"
    if "$ref" in schema:
        return f"$ref {str(schema['$ref']).rsplit('/', 1)[-1]}"
    kind = schema.get("type")
    if isinstance(kind, list):
        return "|".join(str(k) for k in kind)
    if kind is not None:
        return str(kind)
    if "enum" in schema:
        return "enum"
    return "any"


def properties(schema: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """``(dotted path, type label)`` for every property, nested objects included."""
    if not isinstance(schema, Mapping):
        return
    props = schema.get("properties")
    if not isinstance(props, Mapping):
        return
    for name, sub in props.items():
        path = f"{prefix}{name}"
        yield path, _type_label(sub)
        yield from properties(sub, f"{path}.")


def _dotted(pointer: str) -> str:
    parts = [p for p in pointer.removeprefix("#").split("/") if p]
    return ".".join(p for i, p in enumerate(parts) if i % 2 == 1 and parts[i - 1] == "properties")


def field_lineage(
    registry: SchemaRegistry, subject: str, *, policy: str = "strict"
) -> FieldLineage:
    """Each property of ``subject`` across its versions (renames from the diff's hints)."""
    from evolvekit.schema.diff import diff_schemas

    versions = registry.versions(subject)
    lineage = FieldLineage(subject, list(versions))
    previous: dict[str, str] = {}
    for index, version in enumerate(versions):
        current = dict(properties(registry.get(subject, version)))
        renamed: dict[str, str] = {}  # new path -> old path
        if index:
            diff = diff_schemas(f"{subject}@{versions[index - 1]}", f"{subject}@{version}",
                                policy=policy, registry=registry)  # fmt: skip
            renamed = {_dotted(h.added): _dotted(h.removed) for h in diff.hints}
        gone_by_rename = set(renamed.values())
        for path, kind in current.items():
            steps = lineage.fields.setdefault(path, {})
            if path in previous:
                before = previous[path]
                steps[version] = (LineageStep("kept", kind) if before == kind
                                  else LineageStep("retyped", f"{before} → {kind}"))  # fmt: skip
            elif path in renamed:
                steps[version] = LineageStep("renamed", f"from {renamed[path]}")
            else:
                steps[version] = LineageStep("added", kind)
        for path in previous:
            if path not in current:
                reverse = {old: new for new, old in renamed.items()}
                steps = lineage.fields.setdefault(path, {})
                gone = path in gone_by_rename
                steps[version] = LineageStep("renamed", f"to {reverse[path]}") if gone else \
                    LineageStep("removed")  # fmt: skip
        previous = current
    return lineage


# --- html ------------------------------------------------------------------------------

STYLE: Final = """<style>
.ek-pictures table {border-collapse: collapse; margin: 4px 0}
.ek-pictures th, .ek-pictures td {border: 1px solid #ccc; padding: 2px 8px; text-align: left}
.ek-pictures td.ek-cell {color: #fff; font-weight: 600; text-align: center; min-width: 5em}
.ek-pictures td.ek-cell a {color: #fff; text-decoration: none; display: block}
.ek-pictures .ek-legend span {display: inline-block; padding: 0 8px; margin-right: 4px;
  color: #fff; border-radius: 8px}
</style>"""


def _esc(value: object) -> str:
    return html.escape(str(value), quote=True)


def legend_html() -> str:
    return '<div class="ek-legend">' + "".join(
        f'<span style="background:{color}">{_esc(name)}</span>'
        for name, color in VERDICT_COLORS.items()
    ) + " (row: old version, column: new version)</div>"  # fmt: skip


def matrix_html(
    matrix: CompatibilityMatrix, link: Callable[[str, str], str | None] | None = None
) -> str:
    """The N x N matrix; ``link(old, new)`` gives a cell's href (e.g. that pair's report)."""
    head = "".join(f"<th>{_esc(v)}</th>" for v in matrix.versions)
    rows = []
    for old in matrix.versions:
        cells = []
        for new in matrix.versions:
            cell = matrix.cell(old, new)
            label = "—" if cell.verdict == "same" else cell.verdict
            href = link(old, new) if link is not None and cell.verdict != "same" else None
            body = f'<a href="{_esc(href)}">{_esc(label)}</a>' if href else _esc(label)
            cells.append(
                f'<td class="ek-cell" data-old="{_esc(old)}" data-new="{_esc(new)}" '
                f'data-verdict="{cell.verdict}" title="{_esc(cell.title)}" '
                f'style="background:{VERDICT_COLORS[cell.verdict]}">{body}</td>'
            )
        rows.append(f"<tr><th>{_esc(old)}</th>{''.join(cells)}</tr>")
    return (
        f'<div class="ek-pictures ek-matrix">{STYLE}<b>Compatibility matrix of '
        f"<code>{_esc(matrix.subject)}</code></b>{legend_html()}"
        f"<table><thead><tr><th>old \\ new</th>{head}</tr></thead><tbody>{''.join(rows)}"
        "</tbody></table></div>"
    )


def lineage_html(lineage: FieldLineage) -> str:
    head = "".join(f"<th>{_esc(v)}</th>" for v in lineage.versions)
    rows = []
    for path, steps in lineage.fields.items():
        cells = []
        for version in lineage.versions:
            step = steps.get(version)
            if step is None:
                cells.append("<td></td>")
                continue
            text = step.status if not step.detail else f"{step.status}: {step.detail}"
            cells.append(f'<td data-status="{step.status}" style="background:'
                         f'{LINEAGE_COLORS[step.status]}">{_esc(text)}</td>')  # fmt: skip
        rows.append(f"<tr><th><code>{_esc(path)}</code></th>{''.join(cells)}</tr>")
    return (
        f'<div class="ek-pictures ek-lineage">{STYLE}<b>Field lineage of '
        f"<code>{_esc(lineage.subject)}</code></b>"
        f"<table><thead><tr><th>field</th>{head}</tr></thead><tbody>{''.join(rows)}"
        "</tbody></table></div>"
    )


def pair_anchor(subject: str, old: str, new: str) -> str:
    return "ek-pair-" + "".join(c if c.isalnum() or c in "-_." else "_"
                                for c in f"{subject}-{old}-{new}")  # fmt: skip


def subject_report_html(
    registry: SchemaRegistry, subject: str, *, policy: str = "strict", mode: str = "backward"
) -> str:
    """An HTML report section for ``subject``: the matrix (each cell a link to that pair's
    diff below), the field lineage, and the diff of every ordered pair (no script)."""
    from evolvekit.schema.diff import diff_schemas
    from evolvekit.schema.report import render

    matrix = compatibility_matrix(registry, subject, policy=policy)
    pairs = []
    for old in matrix.versions:
        for new in matrix.versions:
            if old == new:
                continue
            diff = diff_schemas(f"{subject}@{old}", f"{subject}@{new}", policy=policy,
                                registry=registry)  # fmt: skip
            pairs.append(
                f'<div class="ek-pair" id="{pair_anchor(subject, old, new)}">'
                f"{render(diff, 'html', mode=mode)}</div>"
            )
    return (
        '<section class="ek-subject-report"><style>.ek-pair:target {outline: 3px solid '
        "#c62828; outline-offset: 2px}</style>"
        + matrix_html(matrix, lambda o, n: "#" + pair_anchor(subject, o, n))
        + lineage_html(field_lineage(registry, subject, policy=policy))
        + "<div><b>Every pair of versions</b> (a matrix cell links to its pair)"
        + "".join(pairs)
        + "</div></section>"
    )
