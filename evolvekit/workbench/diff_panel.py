"""``SchemaDiffPanel``: compare two schema versions (from the registry or uploaded files).

Shows the diff as a table (severity colour, path, old -> new, directions it breaks), verdict
badges for backward / forward / full, a filter by severity and path, the rename hints, the
subject's whole-history check, and download links for the Markdown and JSON reports. All of
it is reachable without a kernel: ``select``, ``load_uploads``, ``set_filter``,
``check_history``, ``diff``, ``report``, ``rows``, ``error``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import ipywidgets as w

from evolvekit.errors import EvolveKitError, InputError
from evolvekit.schema.changes import MODES, POLICIES, Change, SchemaDiff
from evolvekit.schema.compat import HistoryCheck, PairCheck, check_history, pair_ok
from evolvekit.schema.diff import diff_schemas
from evolvekit.schema.registry import SchemaRegistry, check_metaschema, parse_schema_bytes
from evolvekit.schema.report import render, render_history, short_value
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

SEVERITY_CHOICES: Final = ("all", "breaking", "caution", "info")


class SchemaDiffPanel:
    """Two schema versions side by side: what changed and which direction it breaks."""

    def __init__(
        self,
        schemas: str | Path | SchemaRegistry | None = None,
        *,
        mode: str = "backward",
        policy: str = "strict",
    ) -> None:
        self.registry = schemas if isinstance(schemas, SchemaRegistry) else SchemaRegistry(schemas)
        self.diff: SchemaDiff | None = None
        self.history: HistoryCheck | None = None
        self.error: str | None = None
        self.source: str = "registry"
        self.old_schema: Any = None
        self.new_schema: Any = None

        subjects = self.registry.subjects()
        self.subject = w.Dropdown(options=subjects, description="Subject")
        self.old_version = w.Dropdown(options=[], description="Old")
        self.new_version = w.Dropdown(options=[], description="New")
        self.mode = w.Dropdown(options=list(MODES), value=mode, description="Mode")
        self.policy = w.Dropdown(options=list(POLICIES), value=policy, description="Policy")
        self.compare_button = w.Button(description="Compare", button_style="primary")
        self.upload_old = w.FileUpload(accept=".json", multiple=False, description="Old schema")
        self.upload_new = w.FileUpload(accept=".json", multiple=False, description="New schema")
        self.severity = w.ToggleButtons(options=list(SEVERITY_CHOICES), value="all")
        self.path_filter = w.Text(placeholder="filter by path", description="Path")
        self.history_button = w.Button(description="Check whole history (transitive)")
        self.badges = w.HTML()
        self.table = w.HTML()
        self.hints = w.HTML()
        self.downloads = w.HTML()
        self.history_view = w.HTML()
        self.message = w.HTML()

        self.subject.observe(guarded(self._on_subject, self._fail), names="value")
        self.compare_button.on_click(guarded(self.compare, self._fail))
        self.history_button.on_click(guarded(self.check_history, self._fail))
        for upload in (self.upload_old, self.upload_new):
            upload.observe(guarded(self._on_upload, self._fail), names="value")
        for control in (self.severity, self.path_filter):
            control.observe(guarded(self._render, self._fail), names="value")
        for control in (self.mode, self.policy):
            control.observe(guarded(self._recompute, self._fail), names="value")
        self._fill_versions()
        self.widget = w.VBox(
            [
                w.HTML("<b>Schema diff</b>: pick two registry versions, or upload two files."),
                w.HBox([self.subject, self.old_version, self.new_version]),
                w.HBox([self.mode, self.policy, self.compare_button]),
                w.HBox([self.upload_old, self.upload_new]),
                self.message,
                self.badges,
                w.HBox([self.severity, self.path_filter]),
                self.table,
                self.hints,
                self.downloads,
                self.history_button,
                self.history_view,
            ]
        )

    def _ipython_display_(self) -> None:
        show(self.widget)

    # --- choosing what to compare -----------------------------------------------------

    def _fill_versions(self) -> None:
        subject = self.subject.value
        versions = self.registry.versions(subject) if subject else []
        self.old_version.options = versions
        self.new_version.options = versions
        if len(versions) >= 2:
            self.old_version.value, self.new_version.value = versions[-2], versions[-1]

    def _on_subject(self) -> None:
        self._fill_versions()
        self.history = None
        self.history_view.value = ""

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
        """Diff the versions chosen in the menus."""
        self.source = "registry"
        subject, old, new = self.subject.value, self.old_version.value, self.new_version.value
        if not (subject and old and new):
            self._fail(InputError("choose a subject and two versions"))
            return None
        try:
            self.old_schema = self.registry.get(subject, old)
            self.new_schema = self.registry.get(subject, new)
            diff = diff_schemas(
                f"{subject}@{old}", f"{subject}@{new}", policy=self.policy.value,
                registry=self.registry,
            )  # fmt: skip
        except EvolveKitError as exc:
            self._fail(exc)
            return None
        return self._show(diff)

    def load_uploads(
        self,
        old_bytes: bytes,
        new_bytes: bytes,
        old_name: str = "old.json",
        new_name: str = "new.json",
    ) -> SchemaDiff | None:
        """Diff two uploaded schema files; a bad file is reported in the panel."""
        self.source = "upload"
        try:
            old = parse_schema_bytes(old_bytes, file=old_name)
            check_metaschema(old, file=old_name)
            new = parse_schema_bytes(new_bytes, file=new_name)
            check_metaschema(new, file=new_name)
            diff = diff_schemas(old, new, policy=self.policy.value)
        except EvolveKitError as exc:
            self._fail(exc)
            return None
        diff.old_label, diff.new_label = old_name, new_name
        self.old_schema, self.new_schema = old, new
        return self._show(diff)

    def _on_upload(self) -> None:
        old, new = upload_contents(self.upload_old.value), upload_contents(self.upload_new.value)
        if old and new:
            self.load_uploads(old[0][1], new[0][1], old[0][0], new[0][0])
        elif old or new:
            self.message.value = wrap('<span class="ek-note">Upload the other schema too.</span>')

    def _recompute(self) -> None:
        if self.diff is None:
            return
        if self.source == "registry":
            self.compare()
        elif self.old_schema is not None and self.new_schema is not None:
            labels = (self.diff.old_label, self.diff.new_label)
            try:
                diff = diff_schemas(self.old_schema, self.new_schema, policy=self.policy.value)
            except EvolveKitError as exc:
                self._fail(exc)
                return
            diff.old_label, diff.new_label = labels
            self._show(diff)

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
            for c in self.diff.changes
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
                self.history = self._transitive_check(name)
            else:
                self.history = check_history(self.registry, name, policy=self.policy.value)
        except EvolveKitError as exc:
            self.history_view.value = error_box(describe(exc))
            return None
        details = "".join(
            f"<li><code>{esc(p.old_version)}</code> → <code>{esc(p.new_version)}</code>: "
            + ("compatible" if p.ok else f"{len(p.diff.breaking(self.history.diff_mode))} "
               "breaking change(s)")
            + "</li>"
            for p in self.history.pairs
        )  # fmt: skip
        self.history_view.value = wrap(render_history(self.history, "html") + f"<ul>{details}</ul>")
        return self.history

    def _transitive_check(self, subject: str) -> HistoryCheck:
        versions = self.registry.versions(subject)
        mode = f"{self.mode.value}_transitive"
        policy = self.policy.value
        if not versions:
            return HistoryCheck(subject, mode, policy, "-")
        newest = versions[-1]
        check = HistoryCheck(subject, mode, policy, newest)
        for old in reversed(versions[:-1]):
            diff = diff_schemas(f"{subject}@{old}", f"{subject}@{newest}", policy=policy,
                                registry=self.registry)  # fmt: skip
            check.pairs.append(PairCheck(old, newest, diff, pair_ok(diff, mode)))
        return check

    # --- drawing ------------------------------------------------------------------------

    def _fail(self, exc: BaseException) -> None:
        self.error = describe(exc)
        self.diff = None
        self.message.value = error_box(self.error)
        for view in (self.badges, self.table, self.hints, self.downloads):
            view.value = ""

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
        badges = []
        for direction in MODES:
            ok = diff.compatible(direction)
            count = len(diff.breaking(direction))
            css = "ek-badge " + ("ek-ok" if ok else "ek-bad")
            css += " ek-current" if direction == mode else ""
            label = f"{direction} ✓" if ok else f"{direction} ✗ {count} breaking"
            badges.append(f'<span class="{css}" data-mode="{direction}">{esc(label)}</span>')
        self.badges.value = wrap(
            f"<div><code>{esc(diff.old_label)}</code> → <code>{esc(diff.new_label)}</code>: "
            f"{len(diff.changes)} change(s), policy {esc(diff.policy)}</div>"
            f"<div>{''.join(badges)}</div>"
        )
        rows = self.rows
        if rows:
            lines = [
                f'<tr class="ek-change ek-{c.severity(mode)}">'
                f'<td class="ek-sev">{c.severity(mode)}</td><td><code>{esc(c.path)}</code></td>'
                f"<td><code>{esc(c.kind)}</code></td>"
                f"<td><code>{esc(short_value(c.old))}</code> → "
                f"<code>{esc(short_value(c.new))}</code></td>"
                f"<td>{esc(', '.join(sorted(c.breaks)) or 'nothing')}</td></tr>"
                for c in rows
            ]
            self.table.value = wrap(
                "<table><thead><tr><th>severity</th><th>path</th><th>kind</th>"
                "<th>old → new</th><th>breaks</th></tr></thead><tbody>"
                + "".join(lines)
                + "</tbody></table>"
            )
        else:
            hidden = len(diff.changes) - len(rows)
            note = f"No change matches the filter ({hidden} hidden)." if hidden else "No changes."
            self.table.value = wrap(f'<p class="ek-note">{note}</p>')
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

    def close(self) -> None:
        """Nothing runs in the background here; closes the widgets."""
        self.widget.close()


def _file_label(label: str) -> str:
    return "".join(ch if ch.isalnum() or ch in ".-" else "_" for ch in label)
