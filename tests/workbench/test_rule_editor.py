"""RuleEditor without a kernel: starting points, samples, live preview, save, batch runs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from evolvekit.workbench import RuleEditor
from evolvekit.workbench._common import esc

from .conftest import upload_value

SUBJECT = "interaction.completed"
TUTORIAL_RULES = "agentEmail: agentId\ncallDuration: durationSeconds\n"


def test_scratch_rules_leave_every_sample_invalid(editor: RuleEditor) -> None:
    editor.start_from_scratch()
    preview = editor.preview
    assert preview.error is None and len(preview.items) == 3
    assert preview.valid_count == 0 and not preview.all_valid
    assert all(any("agentId" in m for _, m in item.errors) for item in preview.items)
    assert "0/3 valid after mapping" in editor.preview_view.value


def test_tutorial_rules_make_every_sample_valid_and_keep_other_fields(editor: RuleEditor) -> None:
    editor.set_rules(TUTORIAL_RULES)
    preview = editor.preview
    assert preview.all_valid and preview.report is not None and preview.report.ok
    first = preview.items[0]
    assert first.output is not None
    assert first.output["agentId"] == first.input["agentEmail"]
    assert first.output["customerId"] == first.input["customerId"]
    assert editor.outputs == [item.output for item in preview.items]
    assert "3/3 valid after mapping" in editor.preview_view.value
    assert '<iframe class="ek-coverage" srcdoc=' in editor.coverage_view.value


def test_rule_errors_show_their_line(editor: RuleEditor) -> None:
    editor.set_rules("rules:\n  - from: agentEmail\n    to: agentId\n    transform: nope\n")
    preview = editor.preview
    assert preview.error is not None
    assert f"{SUBJECT}/1.0.0_to_2.0.0.yaml:4:" in preview.error and "nope" in preview.error
    assert "ek-error" in editor.message.value and editor.preview_view.value == ""
    editor.set_rules("rules: [\n")
    assert editor.preview.error is not None and ":2:" in editor.preview.error


def test_mapping_failures_are_shown_per_sample(editor: RuleEditor) -> None:
    editor.set_rules("rules:\n  - from: agentEmail\n    to: agentId\n    transform: int\n")
    items = editor.preview.items
    assert all(item.output is None and item.error for item in items)
    assert "transform int" in (items[0].error or "")


def test_rules_naming_other_versions_are_refused(editor: RuleEditor) -> None:
    editor.set_rules("from_version: 2.0.0\nto_version: 2.1.0\nrules: []\n")
    assert editor.preview.error is not None and "disagrees" in editor.preview.error


def test_start_from_shipped_file_and_suggestion(editor: RuleEditor) -> None:
    assert editor.rule_file.value == "1.0.0_to_2.0.0.yaml"
    editor.start.value = "rule file"
    editor.start_button.click()
    assert "agentEmail" in editor.text.value and editor.preview.all_valid
    editor.start.value = "suggestion"
    editor.start_button.click()
    assert editor.text.value.startswith("# Draft rules suggested by evolvekit")
    assert editor.preview.all_valid
    assert editor.start_from_file("9.9.9_to_1.0.0.yaml") is None
    assert editor.error is not None and "cannot read" in editor.error


def test_samples_from_paste_and_upload(editor: RuleEditor) -> None:
    editor.set_rules(TUTORIAL_RULES)
    editor.sample_source.value = "paste"
    editor.sample_paste.value = '[{"customerId": "c", "interactionId": "i", "agentEmail": "a"}]'
    editor.samples_button.click()
    assert len(editor.samples) == 1 and editor.preview.all_valid
    editor.sample_source.value = "upload"
    editor.sample_upload.value = upload_value("s.jsonl", b'{"customerId": "c"}\n{"x": 1}\n')
    editor.samples_button.click()
    assert len(editor.samples) == 2 and editor.preview.valid_count == 0
    assert "2 sample(s) from s.jsonl" in editor.status.value
    assert editor.load_samples(b'{"a": 1}\n{"a"\n', name="bad.jsonl") == 0
    assert editor.error is not None and editor.error.startswith("bad.jsonl:2:")
    assert len(editor.samples) == 2  # the previous samples stay


def test_debounced_preview_and_synchronous_refresh(schemas: Path) -> None:
    slow = RuleEditor(schemas, subject=SUBJECT, from_version="1.0.0", to_version="2.0.0",
                      debounce=30)  # fmt: skip
    try:
        slow.use_examples()  # loading samples computes at once
        slow.set_rules(TUTORIAL_RULES)
        assert slow._debouncer.pending and slow.preview.ruleset is None
        assert slow.refresh().all_valid and not slow._debouncer.pending
    finally:
        slow.close()
    quick = RuleEditor(schemas, subject=SUBJECT, from_version="1.0.0", to_version="2.0.0",
                       debounce=0.02)  # fmt: skip
    try:
        quick.use_examples()
        quick.set_rules(TUTORIAL_RULES)
        deadline = time.monotonic() + 5
        while not quick.preview.all_valid and time.monotonic() < deadline:
            time.sleep(0.01)
        assert quick.preview.all_valid
    finally:
        quick.close()


def test_changing_the_target_version_recomputes(editor: RuleEditor) -> None:
    editor.set_rules(TUTORIAL_RULES)
    assert editor.preview.all_valid
    editor.to_version.value = "3.0.0"  # 2.0.0 rules do not produce a 3.0.0 agent object
    assert not editor.preview.all_valid


def test_save_writes_into_rules(workspace: Path) -> None:
    editor = RuleEditor(workspace / "schemas", workspace / "rules", subject=SUBJECT,
                        from_version="2.0.0", to_version="1.0.0", debounce=0)  # fmt: skip
    try:
        editor.set_rules("agentId: agentEmail\n")
        editor.save_button.click()
        target = workspace / "rules" / SUBJECT / "2.0.0_to_1.0.0.yaml"
        assert editor.saved_path == target and target.read_text() == "agentId: agentEmail\n"
        editor.set_rules("rules: [\n")
        assert editor.save(workspace / "elsewhere.yaml") is None
        assert not (workspace / "elsewhere.yaml").exists()
        assert editor.error is not None and "elsewhere.yaml:2" in editor.error
    finally:
        editor.close()


def test_batch_run_collects_dead_letters(editor: RuleEditor) -> None:
    editor.set_rules(TUTORIAL_RULES)
    lines = [
        b'{"customerId": "c1", "interactionId": "i1", "agentEmail": "a1"}',
        b"",
        b'{"customerId": "c2", "interactionId": "i2"}',
        b"[1, 2]",
        b'{"customerId": ',
    ]
    editor.batch_upload.value = upload_value("batch.jsonl", b"\n".join(lines) + b"\n")
    batch = editor.batch
    assert batch is not None and (batch.total, batch.passed, batch.failed) == (4, 1, 3)
    stages = [(d["line"], d["stage"]) for d in batch.dead_letters]
    assert stages == [(3, "validation"), (4, "parse"), (5, "parse")]
    letter: dict[str, Any] = batch.dead_letters[0]
    assert set(letter) == {"line", "stage", "reason", "subject", "version", "event"}
    assert "agentId" in letter["reason"] and letter["event"]["customerId"] == "c2"
    assert batch.outputs[0]["agentId"] == "a1"
    assert editor.progress.value == editor.progress.max == 4
    assert "1 passed, 3 failed" in editor.batch_view.value


def test_unknown_selection_is_reported(editor: RuleEditor) -> None:
    assert editor.select(SUBJECT, "1.0.0", "9.9.9") is False
    assert editor.error is not None and "9.9.9" in editor.error
    assert editor.select("nope", "1.0.0", "2.0.0") is False
    assert editor.select(SUBJECT, "2.0.0", "3.0.0") is True
    assert editor.rule_file.options == tuple(
        sorted(p.name for p in (editor.rules_root / SUBJECT).glob("*_to_*.yaml"))
    )


def test_control_characters_in_the_rules_are_a_located_error(editor: RuleEditor) -> None:
    editor.set_rules("agentEmail: agentId\ncallDuration: \x00\n")
    error = editor.preview.error
    assert error is not None and error.startswith(f"{SUBJECT}/1.0.0_to_2.0.0.yaml:2:15:")
    assert "#x0000" in error and "ek-error" in editor.message.value


def test_a_failing_debounced_preview_shows_in_the_panel(schemas: Path) -> None:
    slow = RuleEditor(schemas, subject=SUBJECT, from_version="1.0.0", to_version="2.0.0",
                      debounce=0.01)  # fmt: skip
    try:

        def broken() -> Any:
            raise RuntimeError("a bug in the preview")

        slow._compute = broken  # type: ignore[method-assign]
        slow.set_rules(TUTORIAL_RULES)  # the timer thread runs the preview and fails
        deadline = time.monotonic() + 5
        while slow.error is None and time.monotonic() < deadline:
            time.sleep(0.01)
        assert slow.error == "RuntimeError: a bug in the preview"
        assert "a bug in the preview" in slow.message.value
    finally:
        slow.close()


def test_dead_letters_carry_business_keys_and_full_reasons(editor: RuleEditor) -> None:
    editor.start_from_file()
    long_id = "INT-" + "9" * 150
    data = (b'{"customerId": "C1", "interactionId": "' + long_id.encode() + b'"}\n'
            b'{"customerId": "C2", "interactionId": \n')  # fmt: skip
    batch = editor.run_batch(data, name="upload.jsonl")
    assert batch is not None and batch.failed == 2
    html = editor.batch_view.value
    assert f'<span class="ek-key">{long_id}</span>' in html and ">interactionId<" in html
    for letter in batch.dead_letters:
        assert esc(letter["reason"]) in html, "the whole reason is shown"
    frame = batch.to_dataframe()
    assert frame["key"].iloc[0] == long_id and frame["key"].isna().iloc[1]
    assert list(frame["stage"]) == ["validation", "parse"]
    assert editor.progress.value == editor.progress.max == 2


def test_a_rule_error_keeps_the_last_good_preview(editor: RuleEditor) -> None:
    editor.start_from_file()
    assert editor.refresh().all_valid
    good = editor.preview_view.value
    assert "3/3 valid" in good and editor.preview_progress.value == 3
    editor.set_rules("rules:\n  - from: agentEmail\n    to: agentId\n    transform: lowercase\n")
    preview = editor.refresh()
    assert preview.error and "lowercase" in preview.error
    assert editor.preview_view.value == good and "last rules that loaded" in editor.message.value
    editor.start_from_file()
    assert editor.refresh().all_valid and editor.message.value == ""
