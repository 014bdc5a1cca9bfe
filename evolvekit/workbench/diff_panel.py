"""``SchemaDiffPanel``: compare two schema versions (from the registry or uploaded files).

Shows the diff as a sortable table (breaking, caution, info; each row expands to its full
values, explanation and example event), verdict badges for backward / forward / full, the two
schemas side by side (line-aligned, changed lines highlighted and linked to the rows), a
filter by severity and path, the rename hints, the subject's compatibility matrix (click a
cell to open that diff) and field lineage, the whole-history check, and download links for
the Markdown and JSON reports. Mode and policy follow the chosen subject's settings
(subject.yaml) until the analyst picks one in the menus (``diff_settings``); the line under
the menus names where each came from as ``evolvekit diff``'s header does. An error is shown
above the views and never wipes the last good result. All of it is reachable without a
kernel: ``select``, ``load_uploads``, ``set_filter``, ``check_history``, ``open_cell``,
``diff``, ``report``, ``rows``, ``error``, ``settings_text``, ``use_subject_settings``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import ipywidgets as w

from evolvekit.errors import EvolveKitError, InputError
from evolvekit.schema.changes import MODES, POLICIES, Change, SchemaDiff
from evolvekit.schema.compat import HistoryCheck, check_history, settle
from evolvekit.schema.diff import diff_schemas
from evolvekit.schema.matrix import (
    STYLE,
    VERDICT_COLORS,
    CompatibilityMatrix,
    FieldLineage,
    compatibility_matrix,
    field_lineage,
    legend_html,
    lineage_html,
)
from evolvekit.schema.registry import SchemaRegistry, check_metaschema, parse_schema_bytes
from evolvekit.schema.report import judging_mode, render
from evolvekit.workbench._common import (
    describe,
    download_link,
    error_box,
    esc,
    guarded,
    show,
    upload_contents,
    wrap,
)
from evolvekit.workbench.diff_settings import SettingsChoice
from evolvekit.workbench.diff_view import badges_html, changes_table, history_html
from evolvekit.workbench.side_by_side import pretty_lines, row_lines, side_by_side_html

if TYPE_CHECKING:  # pragma: no cover
    from evolvekit.schema.compat import Settings

SEVERITY_CHOICES: Final = ("all", "breaking", "caution", "info")
UPLOADS: Final = "(uploaded files)"  # the subject menu's entry for uploaded schemas


class SchemaDiffPanel:
    """Two schema versions side by side: what changed and which direction it breaks."""

    def __init__(
        self,
        schemas: str | Path | SchemaRegistry | None = None,
        *,
        mode: str | None = None,
        policy: str | None = None,
    ) -> None:
        """``mode``/``policy`` given: fixed, like ``--mode``/``--policy`` (source "flag");
        left out: each registry subject's own (subject.yaml, else backward/strict)."""
        self.registry = schemas if isinstance(schemas, SchemaRegistry) else SchemaRegistry(schemas)
        self.diff: SchemaDiff | None = None
        self.history: HistoryCheck | None = None
        self.error: str | None = None
        self.source: str = "registry"
        self.old_schema: Any = None
        self.new_schema: Any = None
        self.uploads: dict[str, Any] = {}  # file name -> schema, offered in the menus
        self.matrix: CompatibilityMatrix | None = None
        self.lineage: FieldLineage | None = None
        self.panel_id = f"ekdiff{id(self):x}"
        self.choice = SettingsChoice(self.registry, mode, policy)
        self._applying = False  # the panel itself is setting the menus

        subjects = self.registry.subjects()
        self.subject = w.Dropdown(options=subjects, description="Subject")
        self.old_version = w.Dropdown(options=[], description="Old")
        self.new_version = w.Dropdown(options=[], description="New")
        self.mode = w.Dropdown(options=list(MODES), value=judging_mode(mode or "backward"),
                               description="Mode")  # fmt: skip
        self.policy = w.Dropdown(options=list(POLICIES), value=policy or "strict",
                                 description="Policy")  # fmt: skip
        self.settings_view = w.HTML()
        self.subject_settings_button = w.Button(description="Use the subject's settings",
                                                layout=w.Layout(width="auto"))  # fmt: skip
        self.compare_button = w.Button(description="Compare", button_style="primary")
        self.upload_old = w.FileUpload(accept=".json", multiple=False, description="Old schema")
        self.upload_new = w.FileUpload(accept=".json", multiple=False, description="New schema")
        self.severity = w.ToggleButtons(options=list(SEVERITY_CHOICES), value="all")
        self.path_filter = w.Text(placeholder="filter by path", description="Path")
        self.history_button = w.Button(description="Check whole history (transitive)",
                                       layout=w.Layout(width="auto"))  # fmt: skip
        self.badges = w.HTML()
        self.table = w.HTML()
        self.side_by_side = w.HTML()
        self.matrix_grid = w.GridBox()
        self.lineage_view = w.HTML()
        self.hints = w.HTML()
        self.downloads = w.HTML()
        self.history_view = w.HTML()
        self.message = w.HTML()

        self._wire()
        self._fill_versions()
        self._apply_settings()
        self.widget = self._layout()
        self._draw_pictures()

    def _wire(self) -> None:
        """Each control to its handler; a failure shows in the panel, never as a traceback."""
        self.subject.observe(guarded(self._on_subject, self._fail), names="value")
        self.compare_button.on_click(guarded(self.compare, self._fail))
        self.history_button.on_click(guarded(self.check_history, self._fail))
        for upload in (self.upload_old, self.upload_new):
            upload.observe(guarded(self._on_upload, self._fail), names="value")
        for control in (self.severity, self.path_filter):
            control.observe(guarded(self._render, self._fail), names="value")
        for menu in (self.mode, self.policy):
            menu.observe(guarded(self._on_menu, self._fail), names="value")
        self.subject_settings_button.on_click(guarded(self.use_subject_settings, self._fail))

    def _layout(self) -> w.VBox:
        """The panel's widgets in their display order."""
        return w.VBox(
            [
                w.HTML("<b>Schema diff</b>: pick two registry versions, or upload two files."),
                w.HBox([self.subject, self.old_version, self.new_version]),
                w.HBox([self.mode, self.policy, self.compare_button]),
                w.HBox([self.settings_view, self.subject_settings_button]),
                w.HBox([self.upload_old, self.upload_new]),
                self.message,
                self.badges,
                w.HBox([self.severity, self.path_filter]),
                self.table,
                self.hints,
                self.downloads,
                w.HTML("<b>The two schemas</b> (changed lines highlighted; click a marked line "
                       "or a row's ⇄ to jump between them):"),
                self.side_by_side,
                self.history_button,
                self.history_view,
                self.matrix_grid,
                self.lineage_view,
            ]
        )

    def _ipython_display_(self) -> None:
        show(self.widget)

    # --- choosing what to compare -----------------------------------------------------

    def _versions_of(self, subject: str | None) -> list[str]:
        if subject == UPLOADS:
            return list(self.uploads)
        return self.registry.versions(subject) if subject else []

    def _fill_versions(self) -> None:
        versions = self._versions_of(self.subject.value)
        self.old_version.options = versions
        self.new_version.options = versions
        if len(versions) >= 2:
            self.old_version.value, self.new_version.value = versions[-2], versions[-1]

    def _on_subject(self) -> None:
        self._fill_versions()
        self._apply_settings()
        self.history = None
        self.history_view.value = ""
        self._draw_pictures()

    def select(self, subject: str, old: str, new: str) -> SchemaDiff | None:
        """Compare ``subject@old`` with ``subject@new`` (what choosing in the menus does)."""
        try:
            if subject not in self.subject.options:
                raise InputError(f"unknown subject {subject!r}")
            self.subject.value = subject
            for version, menu in ((old, self.old_version), (new, self.new_version)):
                if version not in menu.options:
                    raise InputError(f"{subject} has no version {version!r}; it has "
                                     f"{', '.join(menu.options)}")  # fmt: skip
            self.old_version.value, self.new_version.value = old, new
        except EvolveKitError as exc:
            self._fail(exc)
            return None
        return self.compare()

    def compare(self) -> SchemaDiff | None:
        """Diff the versions chosen in the menus (registry versions or uploaded files)."""
        subject, old, new = self.subject.value, self.old_version.value, self.new_version.value
        if not (subject and old and new):
            self._fail(InputError("choose a subject and two versions"))
            return None
        if subject == UPLOADS:
            return self._diff_uploaded(old, new)
        self.source = "registry"
        try:
            settings = self._apply_settings()
            self.old_schema = self.registry.get(subject, old)
            self.new_schema = self.registry.get(subject, new)
            diff = diff_schemas(
                f"{subject}@{old}", f"{subject}@{new}", policy=settings.policy,
                registry=self.registry,
            )  # fmt: skip
        except EvolveKitError as exc:
            self._fail(exc)
            return None
        return self._show_settled(diff, settings)

    def load_uploads(
        self,
        old_bytes: bytes,
        new_bytes: bytes,
        old_name: str = "old.json",
        new_name: str = "new.json",
    ) -> SchemaDiff | None:
        """Diff two uploaded schema files; a bad file is reported in the panel, and the last
        good diff (table, badges, downloads) stays on show. Good files join the menus."""
        try:
            old = parse_schema_bytes(old_bytes, file=old_name)
            check_metaschema(old, file=old_name)
            new = parse_schema_bytes(new_bytes, file=new_name)
            check_metaschema(new, file=new_name)
        except EvolveKitError as exc:
            self._fail(exc)
            return None
        self.uploads[old_name], self.uploads[new_name] = old, new
        self.subject.options = [*self.registry.subjects(), UPLOADS]
        self.subject.value = UPLOADS
        self._fill_versions()
        self.old_version.value, self.new_version.value = old_name, new_name
        return self._diff_uploaded(old_name, new_name)

    def _diff_uploaded(self, old_name: str, new_name: str) -> SchemaDiff | None:
        old, new = self.uploads[old_name], self.uploads[new_name]
        settings = self._apply_settings()
        try:
            diff = diff_schemas(old, new, policy=settings.policy)
        except EvolveKitError as exc:
            self._fail(exc)
            return None
        self.source = "upload"
        diff.old_label, diff.new_label = old_name, new_name
        self.old_schema, self.new_schema = old, new
        return self._show_settled(diff, settings)

    def _on_upload(self) -> None:
        old, new = upload_contents(self.upload_old.value), upload_contents(self.upload_new.value)
        if old and new:
            self.load_uploads(old[0][1], new[0][1], old[0][0], new[0][0])
        elif old or new:
            self.message.value = wrap('<span class="ek-note">Upload the other schema too.</span>')

    def _recompute(self) -> None:
        if self.diff is not None:
            self.compare()
        self._draw_pictures()

    # --- mode and policy: the subject's, until the analyst picks one ----------------------

    def _apply_settings(self) -> Settings:
        """Set the menus to the chosen subject's settings and say where they came from."""
        settings = self.choice.resolve(self.subject.value)
        self._applying = True
        try:
            self.mode.value, self.policy.value = self.choice.judged, settings.policy
        finally:
            self._applying = False
        self.settings_view.value = wrap(f'<span class="ek-settings">{esc(self.choice.text)}</span>')
        return settings

    @property
    def settings_text(self) -> str:
        """Where mode and policy came from, worded as ``evolvekit diff``'s header words it."""
        return self.choice.text

    def _on_menu(self) -> None:
        """The analyst picked a mode or policy: it holds (a "flag") across subjects."""
        if not self._applying:
            self.choice.choose(self.mode.value, self.policy.value)
            self._apply_settings()
            self._recompute()

    def use_subject_settings(self) -> None:
        """Forget the menu choices: mode and policy follow the subject again."""
        self.choice.forget()
        self._apply_settings()
        self._recompute()

    # --- state --------------------------------------------------------------------------

    @property
    def report(self) -> dict[str, Any] | None:
        """DESIGN.md's JSON report of the current diff for the chosen mode (None before one)."""
        return None if self.diff is None else self.diff.to_dict(self.mode.value)

    @property
    def verdicts(self) -> dict[str, bool]:
        """``{"backward": bool, "forward": bool, "full": bool}`` for the current diff."""
        if self.diff is None:
            return {}
        return {m: self.diff.compatible(m) for m in MODES}

    @property
    def rows(self) -> list[Change]:
        """The changes the table shows (after the severity and path filters)."""
        if self.diff is None:
            return []
        mode, severity = self.mode.value, self.severity.value
        needle = self.path_filter.value.strip().lower()
        return [
            c
            for c in self.diff.sorted_changes(mode)
            if (severity == "all" or c.severity(mode) == severity)
            and (not needle or needle in c.path.lower())
        ]

    def set_filter(self, severity: str = "all", path: str = "") -> list[Change]:
        """Filter the table; returns the rows shown."""
        if severity not in SEVERITY_CHOICES:
            self._fail(InputError(f"severity must be one of {', '.join(SEVERITY_CHOICES)}"))
            return self.rows
        self.severity.value = severity
        self.path_filter.value = path
        return self.rows

    def to_dataframe(self) -> Any:
        """The current diff as a DataFrame (breaking, caution, info under the panel's mode)."""
        if self.diff is None:
            raise InputError("nothing compared yet")
        return self.diff.to_dataframe(self.mode.value)

    def markdown_report(self) -> str:
        if self.diff is None:
            raise InputError("nothing compared yet")
        return render(self.diff, "markdown", mode=self.mode.value)

    def json_report(self) -> str:
        if self.diff is None:
            raise InputError("nothing compared yet")
        return render(self.diff, "json", mode=self.mode.value)

    def check_history(
        self, subject: str | None = None, *, transitive: bool = True
    ) -> HistoryCheck | None:
        """The subject's newest version against its history.

        ``transitive`` (the button): against EVERY earlier version, judged by the panel's
        mode (``<mode>_transitive``), whatever ``subject.yaml`` says. Otherwise the check the
        subject's own configured mode asks for (``compat.check_history``).
        """
        name = subject or self.subject.value
        try:
            if transitive:
                self.history = check_history(self.registry, name, policy=self.policy.value,
                                             mode=f"{self.mode.value}_transitive")  # fmt: skip
            else:
                self.history = check_history(self.registry, name, policy=self.choice.chosen_policy)
        except EvolveKitError as exc:
            self.history_view.value = error_box(describe(exc))
            return None
        self.history_view.value = history_html(self.history, self.mode.value)
        return self.history

    # --- drawing ------------------------------------------------------------------------

    def _fail(self, exc: BaseException) -> None:
        """Show the error; the last good diff and its views stay as they were."""
        self.error = describe(exc)
        kept = " (the last good comparison is kept below)" if self.diff is not None else ""
        self.message.value = error_box(self.error + kept)

    def _show_settled(self, diff: SchemaDiff, settings: Settings) -> SchemaDiff:
        """Stamp sources, apply the subject's ignores and show, as ``evolvekit diff`` does."""
        outcome = settle(diff, settings)
        self._show(diff)
        notes = [*outcome.messages(), *outcome.warnings()]
        if notes:
            self.message.value = wrap(f'<div class="ek-note">{"<br>".join(map(esc, notes))}</div>')
        return diff

    def _show(self, diff: SchemaDiff) -> SchemaDiff:
        self.diff = diff
        self.error = None
        self.message.value = ""
        self._render()
        return diff

    def _render(self) -> None:
        diff = self.diff
        if diff is None:
            return
        mode = self.mode.value
        self.badges.value = badges_html(diff, mode)
        rows = self.rows
        old_printed, new_printed = pretty_lines(self.old_schema), pretty_lines(self.new_schema)
        lines = row_lines(old_printed, new_printed, [c.path for c in rows])
        if rows:
            self.table.value = changes_table(rows, mode, self.panel_id, lines)
        else:
            hidden = len(diff.changes) - len(rows)
            note = f"No change matches the filter ({hidden} hidden)." if hidden else "No changes."
            self.table.value = wrap(f'<p class="ek-note">{note}</p>')
        self.side_by_side.value = wrap(side_by_side_html(
            self.old_schema, self.new_schema, [c.path for c in rows],
            labels=(diff.old_label, diff.new_label), panel_id=self.panel_id,
        ))  # fmt: skip
        if diff.hints:
            items = "".join(
                f"<li><code>{esc(h.removed)}</code> → <code>{esc(h.added)}</code> "
                f"(similarity {h.similarity:.2f})</li>"
                for h in diff.hints
            )
            self.hints.value = wrap(f"<b>Rename hints</b> (hints, not verdicts):<ul>{items}</ul>")
        else:
            self.hints.value = ""
        stem = f"diff-{_file_label(diff.old_label)}-{_file_label(diff.new_label)}"
        self.downloads.value = wrap(
            download_link("Download Markdown", f"{stem}.md", self.markdown_report(),
                          "text/markdown")
            + download_link("Download JSON", f"{stem}.json", self.json_report(),
                            "application/json")
        )  # fmt: skip

    # --- pictures ---------------------------------------------------------------------

    def _draw_pictures(self) -> None:
        """The compatibility matrix (a grid of buttons: a click opens that diff) and the
        field lineage of the chosen registry subject."""
        subject = self.subject.value
        if not subject or subject == UPLOADS:
            self.matrix, self.lineage = None, None
            self.matrix_grid.children = ()
            self.lineage_view.value = ""
            return
        try:
            self.matrix = compatibility_matrix(self.registry, subject, policy=self.policy.value)
            self.lineage = field_lineage(self.registry, subject, policy=self.policy.value)
        except EvolveKitError as exc:
            self.lineage_view.value = error_box(describe(exc))
            return
        versions = self.matrix.versions
        cells: list[w.Widget] = [w.HTML(wrap("<b>old \\ new</b>"))]
        cells += [w.HTML(wrap(f"<b>{esc(v)}</b>")) for v in versions]
        for old in versions:
            cells.append(w.HTML(wrap(f"<b>{esc(old)}</b>")))
            for new in versions:
                cells.append(self._matrix_button(old, new))
        self.matrix_grid.children = (
            w.HTML(wrap(f"<b>Compatibility matrix of <code>{esc(subject)}</code></b> "
                        f'(click a cell to open that diff)<div class="ek-pictures">{STYLE}'
                        f"{legend_html()}</div>")),
            w.GridBox(cells, layout=w.Layout(
                grid_template_columns=f"repeat({len(versions) + 1}, 110px)", grid_gap="2px")),
        )
        self.lineage_view.value = wrap(lineage_html(self.lineage))

    def _matrix_button(self, old: str, new: str) -> w.Button:
        assert self.matrix is not None
        cell = self.matrix.cell(old, new)
        button = w.Button(
            description="—" if cell.verdict == "same" else cell.verdict,
            tooltip=cell.title, disabled=cell.verdict == "same",
            layout=w.Layout(width="108px"),
        )  # fmt: skip
        button.style.button_color = VERDICT_COLORS[cell.verdict]
        button.style.text_color = "white"
        button.add_class("ek-matrix-cell")
        button.add_class(f"ek-verdict-{cell.verdict}")
        button.on_click(guarded(lambda: self.open_cell(old, new), self._fail))
        return button

    def open_cell(self, old: str, new: str) -> SchemaDiff | None:
        """What a click on a matrix cell does: compare ``old`` -> ``new`` of the subject."""
        return self.select(self.subject.value, old, new)

    def close(self) -> None:
        """Nothing runs in the background here; closes the widgets (notebooks need not)."""
        self.widget.close()


def _file_label(label: str) -> str:
    return "".join(ch if ch.isalnum() or ch in ".-" else "_" for ch in label)
