"""``RuleEditor``: write mapping rules and watch what they do to sample events.

The rule text lives in a text area (started from a file in ``rules/``, from scratch, or from
``suggest_rules``); sample events come from the registry's examples, an uploaded JSON-lines
file or pasted JSON. Each edit schedules a debounced preview (input, output, validation
against the target schema, the ``check_rules`` coverage report, errors with line numbers);
``refresh()`` computes it at once, which is what tests and notebooks call. ``save()`` writes
the rule file; ``run_batch()`` maps a whole file and collects the dead letters.
"""

from __future__ import annotations

import time
from io import BytesIO
from pathlib import Path
from typing import Any, Final

import ipywidgets as w

from evolvekit import jsonio
from evolvekit.errors import EvolveKitError, InputError, MappingError
from evolvekit.frames import DEFAULT_KEY_FIELD
from evolvekit.mapping.check import check_rules
from evolvekit.mapping.ruleset import RuleSet
from evolvekit.mapping.suggest import suggest_rules
from evolvekit.schema.diff import diff_schemas
from evolvekit.schema.registry import SchemaRegistry
from evolvekit.workbench._common import (
    Debouncer,
    describe,
    error_box,
    esc,
    guarded,
    json_block,
    key_cell,
    parse_events,
    show,
    table,
    upload_contents,
    wrap,
)
from evolvekit.workbench.preview import BatchResult, Preview, PreviewItem
from evolvekit.workspace import rules_dir

STARTS: Final = ("rule file", "scratch", "suggestion")
SAMPLE_SOURCES: Final = ("examples", "upload", "paste")
PREVIEW_LIMIT: Final = 20  # sample rows drawn; every sample is still mapped and counted
DEAD_LETTERS_SHOWN: Final = 50


CHOSEN = "chosen in the editor"  # who names the versions a rule text must agree with


class RuleEditor:
    """Edit a rule set for ``subject`` ``from_version -> to_version`` with a live preview."""

    def __init__(
        self,
        schemas: str | Path | SchemaRegistry | None = None,
        rules: str | Path | None = None,
        *,
        subject: str | None = None,
        from_version: str | None = None,
        to_version: str | None = None,
        debounce: float = 0.5,
        key_field: str = DEFAULT_KEY_FIELD,
    ) -> None:
        self.key_field = key_field
        self.registry = schemas if isinstance(schemas, SchemaRegistry) else SchemaRegistry(schemas)
        self.rules_root = _rules_root(rules, self.registry)
        self.samples: list[dict[str, Any]] = []
        self.samples_label = "no samples"
        self.preview = Preview()
        self.batch: BatchResult | None = None
        self.error: str | None = None
        self.saved_path: Path | None = None

        subjects = self.registry.subjects()
        self.subject = w.Dropdown(options=subjects, value=subject or (subjects[0] if subjects
                                  else None), description="Subject")  # fmt: skip
        self.from_version = w.Dropdown(options=[], description="From")
        self.to_version = w.Dropdown(options=[], description="To")
        self.start = w.Dropdown(options=list(STARTS), value="rule file", description="Start")
        self.rule_file = w.Dropdown(options=[], description="Rule file")
        self.start_button = w.Button(description="Load")
        self.text = w.Textarea(
            placeholder="rules: YAML", layout=w.Layout(width="100%", height="260px")
        )
        self.sample_source = w.ToggleButtons(options=list(SAMPLE_SOURCES), value="examples")
        self.sample_upload = w.FileUpload(accept=".jsonl,.json", multiple=False,
                                          description="Samples")  # fmt: skip
        self.sample_paste = w.Textarea(placeholder="paste JSON lines or a JSON array",
                                       layout=w.Layout(width="100%", height="80px"))  # fmt: skip
        self.samples_button = w.Button(description="Use samples")
        self.status = w.HTML()
        self.message = w.HTML()
        self.preview_view = w.HTML()
        self.coverage_view = w.HTML()
        self.save_button = w.Button(description="Save rule file", button_style="success")
        self.batch_upload = w.FileUpload(accept=".jsonl,.json", multiple=False,
                                         description="Batch file")  # fmt: skip
        self.progress = w.IntProgress(value=0, min=0, max=1, description="Batch")
        self.preview_progress = w.IntProgress(value=0, min=0, max=1, description="Preview")
        self.batch_view = w.HTML()

        # The debounced preview runs on a timer thread: guarded, so a failure shows here.
        self._debouncer = Debouncer(guarded(self.refresh, self._show_error), debounce)
        self._wire()
        self._fill_versions(from_version, to_version)

        self.widget = self._layout()

    def _wire(self) -> None:
        """Each control to its handler; a failure shows in the panel, never as a traceback."""
        on_error = self._show_error
        self.subject.observe(guarded(self._fill_versions, on_error), names="value")
        for menu in (self.from_version, self.to_version):
            menu.observe(guarded(self._on_versions, on_error), names="value")
        self.text.observe(guarded(self._debouncer.trigger, on_error), names="value")
        self.start_button.on_click(guarded(self._start_clicked, on_error))
        self.samples_button.on_click(guarded(self._samples_clicked, on_error))
        self.save_button.on_click(guarded(self.save, on_error))
        self.batch_upload.observe(guarded(self._batch_uploaded, on_error), names="value")

    def _layout(self) -> w.VBox:
        """The panel's widgets in their display order."""
        return w.VBox(
            [
                w.HTML("<b>Rule editor</b>: edit the rules; the preview follows."),
                w.HBox([self.subject, self.from_version, self.to_version]),
                w.HBox([self.start, self.rule_file, self.start_button]),
                self.text,
                w.HBox([self.sample_source, self.sample_upload, self.samples_button]),
                self.sample_paste,
                w.HBox([self.preview_progress, self.status]),
                self.message,
                self.preview_view,
                self.coverage_view,
                w.HBox([self.save_button]),
                w.HBox([self.batch_upload, self.progress]),
                self.batch_view,
            ]
        )

    def _ipython_display_(self) -> None:
        show(self.widget)

    # --- subject and versions ---------------------------------------------------------

    def _fill_versions(self, old: str | None = None, new: str | None = None) -> None:
        subject = self.subject.value
        versions = self.registry.versions(subject) if subject else []
        self.from_version.options = versions
        self.to_version.options = versions
        if versions:
            self.from_version.value = old if old in versions else versions[0]
            default_to = versions[1] if len(versions) > 1 else versions[0]
            self.to_version.value = new if new in versions else default_to
        self._on_versions()

    def _on_versions(self) -> None:
        folder = self.rules_root / self.subject.value if self.subject.value else None
        files = sorted(p.name for p in folder.glob("*_to_*.y*ml")) if folder and \
            folder.is_dir() else []  # fmt: skip
        self.rule_file.options = files
        expected = self._default_file_name()
        if expected in files:
            self.rule_file.value = expected
        if self.text.value.strip():
            self._debouncer.trigger()  # the target schema changed under the same rules

    def _default_file_name(self) -> str:
        return f"{self.from_version.value}_to_{self.to_version.value}.yaml"

    def select(self, subject: str, from_version: str, to_version: str) -> bool:
        """Choose what the rules map (like picking in the menus); False if unknown."""
        if subject not in self.subject.options:
            self._show_error(InputError(f"unknown subject {subject!r}"))
            return False
        self.subject.value = subject
        self._fill_versions(from_version, to_version)
        for version, menu in ((from_version, self.from_version), (to_version, self.to_version)):
            if menu.value != version:
                self._show_error(InputError(f"{subject} has no version {version!r}"))
                return False
        return True

    # --- where the rules start --------------------------------------------------------

    def _start_clicked(self) -> None:
        start = self.start.value
        if start == "rule file":
            self.start_from_file(self.rule_file.value)
        elif start == "scratch":
            self.start_from_scratch()
        else:
            self.start_from_suggestion()

    def set_rules(self, text: str) -> None:
        """Replace the rule text (the preview follows after the debounce, or on refresh())."""
        self.text.value = text

    def start_from_file(self, name: str | None = None) -> str | None:
        """Load ``rules/<subject>/<name>`` (default ``<from>_to_<to>.yaml``) into the editor."""
        path: Path = self.rules_root / self.subject.value / (name or self._default_file_name())
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            self._show_error(InputError("cannot read the rule file", file=str(path)))
            return None
        self.set_rules(text)
        return text

    def start_from_scratch(self) -> str:
        text = (
            f"# {self.subject.value}: {self.from_version.value} -> {self.to_version.value}\n"
            "unmapped: keep\nrules: []\n"
        )
        self.set_rules(text)
        return text

    def start_from_suggestion(self) -> str | None:
        """Draft rules with ``suggest_rules`` from the diff of the chosen versions."""
        subject, old, new = self.subject.value, self.from_version.value, self.to_version.value
        try:
            diff = diff_schemas(f"{subject}@{old}", f"{subject}@{new}", registry=self.registry)
            suggestion = suggest_rules(
                diff,
                self.samples or None,
                old_schema=self.registry.get(subject, old),
                new_schema=self.registry.get(subject, new),
                registry=self.registry,
                old_uri=self.registry.uri(subject, old),
                new_uri=self.registry.uri(subject, new),
                subject=subject,
                from_version=old,
                to_version=new,
            )
        except EvolveKitError as exc:
            self._show_error(exc)
            return None
        text = suggestion.to_yaml()
        self.set_rules(text)
        return text

    # --- samples ----------------------------------------------------------------------

    def _samples_clicked(self) -> None:
        source = self.sample_source.value
        if source == "examples":
            self.use_examples()
        elif source == "upload":
            files = upload_contents(self.sample_upload.value)
            if not files:
                self._show_error(InputError("choose a file to upload first"))
                return
            self.load_samples(files[0][1], name=files[0][0])
        else:
            self.load_samples(self.sample_paste.value, name="pasted JSON")

    def use_examples(self, version: str | None = None) -> int:
        """The registry's example events of ``version`` (default: the From version)."""
        version = version or self.from_version.value
        path = self.registry.root / self.subject.value / "examples" / f"{version}.jsonl"
        try:
            data = path.read_bytes()
        except OSError:
            self._show_error(InputError("no examples for this version", file=str(path)))
            return 0
        return self.load_samples(data, name=str(path))

    def load_samples(self, data: bytes | str, name: str = "samples") -> int:
        """Sample events from JSON lines or a JSON array (uploaded or pasted)."""
        try:
            events = parse_events(data, source=name)
        except EvolveKitError as exc:
            self._show_error(exc)
            return 0
        self.samples = events
        self.samples_label = f"{len(events)} sample(s) from {Path(name).name}"
        self.refresh()
        return len(events)

    # --- the preview ------------------------------------------------------------------

    def refresh(self) -> Preview:
        """Compute the preview now (cancelling a pending debounced one)."""
        self._debouncer.cancel()
        started = time.perf_counter()
        preview = self._compute()
        preview.seconds = time.perf_counter() - started
        self.preview = preview
        self.error = preview.error
        self._draw(preview)
        return preview

    def _source_label(self) -> str:
        return f"{self.subject.value}/{self._default_file_name()}"

    def _compute(self) -> Preview:
        subject, old, new = self.subject.value, self.from_version.value, self.to_version.value
        if not self.text.value.strip():
            return Preview(error="the rule text is empty")
        try:
            ruleset = RuleSet.from_yaml(self.text.value, source=self._source_label())
            ruleset.check_names(subject, old, new, named_by=CHOSEN, file=self._source_label())
            source_schema = self.registry.get(subject, old)
            target_schema = self.registry.get(subject, new)
            validator = self.registry.validator(subject, new)
            mapper = ruleset.compile()
        except EvolveKitError as exc:
            return Preview(error=describe(exc))
        items = []
        self.preview_progress.max = max(len(self.samples), 1)
        self.preview_progress.value = 0
        step = max(1, len(self.samples) // 50)  # at most ~50 widget updates per preview
        for index, event in enumerate(self.samples):
            try:
                output = mapper.apply(event)
            except MappingError as exc:
                items.append(PreviewItem(index, event, None, error=describe(exc)))
            else:
                items.append(PreviewItem(index, event, output, errors=validator.errors(output)))
            if (index + 1) % step == 0 or index + 1 == len(self.samples):
                self.preview_progress.value = index + 1
        try:
            report = check_rules(
                ruleset, source_schema, target_schema, self.samples or None,
                registry=self.registry, source_uri=self.registry.uri(subject, old),
                target_uri=self.registry.uri(subject, new),
            )  # fmt: skip
        except EvolveKitError as exc:
            return Preview(ruleset, items, error=describe(exc))
        return Preview(ruleset, items, report)

    @property
    def outputs(self) -> list[dict[str, Any]]:
        """The previewed events that validate against the target version."""
        return self.preview.outputs

    def _show_error(self, exc: BaseException) -> None:
        self.error = describe(exc)
        self.message.value = error_box(self.error)

    def _draw(self, preview: Preview) -> None:
        self.status.value = wrap(
            f'<span class="ek-note">{esc(self.samples_label)}; preview in '
            f"{preview.seconds * 1000:.0f} ms</span>"
        )
        if preview.error:
            # The last good preview stays on show under the error, marked as such.
            kept = " (the preview below is from the last rules that loaded)" \
                if self.preview_view.value else ""  # fmt: skip
            self.message.value = error_box(preview.error + kept)
            return
        self.message.value = ""
        verdict = (
            f'<span class="ek-badge {"ek-ok" if preview.all_valid else "ek-bad"}">'
            f"{preview.valid_count}/{len(preview.items)} valid after mapping</span>"
        )
        rows = []
        for item in preview.items[:PREVIEW_LIMIT]:
            if item.error:
                result = f'<div class="ek-error">{esc(item.error)}</div>'
            elif item.errors:
                result = "<ul>" + "".join(
                    f"<li><code>{esc(p or '#')}</code>: {esc(m)}</li>" for p, m in item.errors
                ) + "</ul>"  # fmt: skip
            else:
                result = '<span class="ek-badge ek-ok">valid</span>'
            out = json_block(item.output) if item.output is not None else ""
            rows.append([str(item.index + 1), key_cell(item.input, self.key_field),
                         json_block(item.input), out, result])  # fmt: skip
        more = len(preview.items) - PREVIEW_LIMIT
        note = f'<p class="ek-note">{more} more sample(s) not drawn.</p>' if more > 0 else ""
        self.preview_view.value = wrap(
            f"<div>{verdict}</div>"
            + table(["#", self.key_field, "input", "output", "validation (target schema)"], rows)
            + note
        )
        if preview.report is not None:
            # The report is a whole page: an iframe keeps its stylesheet off the notebook.
            page = esc(preview.report.to_html())
            self.coverage_view.value = (
                f'<iframe class="ek-coverage" srcdoc="{page}" '
                'style="width:100%;height:320px;border:1px solid #ddd"></iframe>'
            )

    # --- saving and batch runs --------------------------------------------------------

    def save(self, path: str | Path | None = None) -> Path | None:
        """Write the rule text to ``path`` (default ``rules/<subject>/<from>_to_<to>.yaml``).

        Rules that do not load are not written; the error shows in the panel.
        """
        target = Path(path) if path is not None else (
            self.rules_root / self.subject.value / self._default_file_name()
        )  # fmt: skip
        try:
            ruleset = RuleSet.from_yaml(self.text.value, source=str(target))
            ruleset.check_names(
                self.subject.value, self.from_version.value, self.to_version.value,
                named_by=CHOSEN, file=str(target),
            )  # fmt: skip
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(self.text.value, encoding="utf-8")
        except EvolveKitError as exc:
            self._show_error(exc)
            return None
        except OSError as exc:
            self._show_error(InputError(f"cannot write: {exc.strerror}", file=str(target)))
            return None
        self.saved_path = target
        self.message.value = wrap(f'<span class="ek-note">Saved {esc(target)}</span>')
        return target

    def _batch_uploaded(self) -> None:
        files = upload_contents(self.batch_upload.value)
        if files:
            self.run_batch(files[0][1], name=files[0][0])

    def run_batch(self, data: bytes, name: str = "batch.jsonl") -> BatchResult | None:
        """Map every line of a JSON-lines file; failures become dead letters, never dropped."""
        subject, old, new = self.subject.value, self.from_version.value, self.to_version.value
        try:
            ruleset = RuleSet.from_yaml(self.text.value, source=self._source_label())
            mapper = ruleset.compile()
            validator = self.registry.validator(subject, new)
        except EvolveKitError as exc:
            self._show_error(exc)
            return None
        lines = list(jsonio.iter_jsonl(BytesIO(data)))
        result = BatchResult(total=len(lines), key_field=self.key_field)
        self.progress.max = max(len(lines), 1)
        self.progress.value = 0
        step = max(1, len(lines) // 100)  # at most ~100 widget updates per run

        def dead(line: int, stage: str, reason: str, event: Any) -> None:
            result.dead_letters.append(
                {"line": line, "stage": stage, "reason": reason, "subject": subject,
                 "version": old, "event": event}
            )  # fmt: skip

        for done, (line, raw) in enumerate(lines, start=1):
            try:
                event = jsonio.loads(raw, source=name, line=line)
            except InputError as exc:
                dead(line, "parse", describe(exc), raw.decode("utf-8", errors="replace"))
            else:
                if not isinstance(event, dict):
                    dead(line, "parse", "not a JSON object", event)
                else:
                    try:
                        output = mapper.apply(event)
                    except MappingError as exc:
                        dead(line, "mapping", describe(exc), event)
                    else:
                        errors = validator.errors(output)
                        if errors:
                            reason = "; ".join(f"{p or '#'}: {m}" for p, m in errors[:3])
                            dead(line, "validation", reason, event)
                        else:
                            result.passed += 1
                            result.outputs.append(output)
            if done % step == 0 or done == len(lines):
                self.progress.value = done
        self.batch = result
        self._draw_batch(result, name)
        return result

    def _draw_batch(self, result: BatchResult, name: str) -> None:
        css = "ek-ok" if result.failed == 0 else "ek-bad"
        head = (
            f'<span class="ek-badge {css}">{result.passed} passed, {result.failed} failed</span>'
            f" of {result.total} line(s) in {esc(Path(name).name)}"
        )
        rows = [
            [str(d["line"]), key_cell(d["event"], self.key_field), esc(d["stage"]),
             esc(d["reason"]),  # the whole reason, wrapped, never cut
             f"<details><summary>event</summary><code>{esc(jsonio.dumps_str(d['event']))}"
             "</code></details>"]
            for d in result.dead_letters[:DEAD_LETTERS_SHOWN]
        ]  # fmt: skip
        headers = ["line", self.key_field, "stage", "reason", "event"]
        body = table(headers, rows) if rows else ""
        self.batch_view.value = wrap(f"<div>{head}</div>{body}")

    def close(self) -> None:
        """Cancel a pending preview and close the widgets (notebooks need not)."""
        self._debouncer.cancel()
        self.widget.close()


def _rules_root(rules: str | Path | None, registry: SchemaRegistry) -> Path:
    if rules is not None:
        return Path(rules).expanduser().resolve()
    beside = Path(registry.root).parent / "rules"
    if beside.is_dir():
        return beside
    return rules_dir(None)
