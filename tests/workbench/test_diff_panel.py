"""SchemaDiffPanel without a kernel: menus, buttons, uploads, filters, reports, history."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from evolvekit.workbench import SchemaDiffPanel

from .conftest import upload_value

SUBJECT = "interaction.completed"


@pytest.fixture
def panel(schemas: Path) -> SchemaDiffPanel:
    return SchemaDiffPanel(schemas)


def shown_rows(panel: SchemaDiffPanel) -> int:
    return panel.table.value.count('<tr class="ek-change')


def test_select_finds_the_tutorials_breaking_changes(panel: SchemaDiffPanel) -> None:
    diff = panel.select(SUBJECT, "1.0.0", "2.0.0")
    assert diff is not None and panel.error is None
    by_path = {c.path: c for c in diff.changes}
    assert by_path["#/properties/agentId"].kind == "required_property_added_to_open_content_model"
    assert by_path["#/properties/agentId"].severity("backward") == "breaking"
    assert by_path["#/properties/agentEmail"].breaks == frozenset({"forward"})
    assert panel.verdicts == {"backward": False, "forward": False, "full": False}
    assert panel.report is not None and panel.report["compatible"] is False
    assert shown_rows(panel) == len(diff.changes)
    assert 'class="ek-change ek-breaking"' in panel.table.value
    assert panel.badges.value.count("ek-badge ek-bad") == 3
    assert "agentEmail" in panel.hints.value and "agentId" in panel.hints.value


def test_compare_button_uses_the_menus(panel: SchemaDiffPanel) -> None:
    panel.subject.value = SUBJECT
    panel.old_version.value, panel.new_version.value = "2.0.0", "2.1.0"
    panel.compare_button.click()
    assert panel.diff is not None
    assert panel.diff.old_label == f"{SUBJECT}@2.0.0"
    assert panel.diff.new_label == f"{SUBJECT}@2.1.0"


def test_subject_menu_fills_versions(panel: SchemaDiffPanel) -> None:
    panel.subject.value = "agent.session"
    assert list(panel.old_version.options) == ["1.0.0", "2.0.0"]
    assert (panel.old_version.value, panel.new_version.value) == ("1.0.0", "2.0.0")


def test_filters_by_severity_and_path(panel: SchemaDiffPanel) -> None:
    diff = panel.select(SUBJECT, "1.0.0", "2.0.0")
    assert diff is not None
    panel.severity.value = "breaking"
    breaking = [c for c in diff.changes if c.severity("backward") == "breaking"]
    assert panel.rows == breaking and shown_rows(panel) == len(breaking)
    assert 'class="ek-change ek-caution"' not in panel.table.value
    rows = panel.set_filter(severity="all", path="AGENT")
    assert [c.path for c in rows] == ["#/properties/agentEmail", "#/properties/agentId"]
    assert shown_rows(panel) == 2
    panel.set_filter(path="no-such-path")
    assert shown_rows(panel) == 0 and "hidden" in panel.table.value


def test_unknown_severity_is_an_error_in_the_panel(panel: SchemaDiffPanel) -> None:
    panel.select(SUBJECT, "1.0.0", "2.0.0")
    panel.set_filter(severity="fatal")
    assert panel.error is not None and "severity must be one of" in panel.error


def test_mode_menu_changes_the_verdict_shown(panel: SchemaDiffPanel) -> None:
    panel.select(SUBJECT, "1.0.0", "2.0.0")
    panel.mode.value = "forward"
    assert panel.report is not None and panel.report["mode"] == "forward"
    current = re.search(r'class="ek-badge [^"]*ek-current" data-mode="(\w+)"', panel.badges.value)
    assert current is not None and current.group(1) == "forward"
    agent_email = next(c for c in panel.rows if c.path == "#/properties/agentEmail")
    assert agent_email.severity("forward") == "breaking"
    assert (
        '<tr class="ek-change ek-breaking"><td class="ek-sev">breaking</td>'
        "<td><code>#/properties/agentEmail</code>" in panel.table.value
    )


def test_unknown_version_shows_an_error_not_a_traceback(panel: SchemaDiffPanel) -> None:
    assert panel.select(SUBJECT, "1.0.0", "9.0.0") is None
    assert panel.error is not None and "9.0.0" in panel.error
    assert "ek-error" in panel.message.value and panel.table.value == ""
    assert panel.select("no.such.subject", "1.0.0", "2.0.0") is None
    assert "unknown subject" in (panel.error or "")


def test_uploads_through_the_widgets(panel: SchemaDiffPanel) -> None:
    old = {"type": "object", "properties": {"a": {"type": "integer"}}}
    new = {"type": "object", "properties": {"a": {"type": "string"}}}
    panel.upload_old.value = upload_value("old.json", json.dumps(old).encode())
    assert panel.diff is None and "other schema" in panel.message.value
    panel.upload_new.value = upload_value("new.json", json.dumps(new).encode())
    assert panel.diff is not None and panel.source == "upload"
    assert [c.kind for c in panel.diff.changes] == ["type_changed"]
    assert "old.json" in panel.badges.value
    panel.policy.value = "lenient"  # recomputed from the uploaded schemas
    assert panel.diff is not None and panel.diff.policy == "lenient"


def test_bad_uploads_are_reported_with_their_location(panel: SchemaDiffPanel) -> None:
    assert panel.load_uploads(b'{"type": "object",}', b"{}", "broken.json") is None
    assert panel.error is not None and panel.error.startswith("broken.json:1:")
    assert panel.load_uploads(b"{}", b'{"type": 5}', "a.json", "b.json") is None
    assert panel.error is not None and "b.json" in panel.error and "#/type" in panel.error
    assert "Traceback" not in panel.message.value


def test_hostile_names_are_escaped(panel: SchemaDiffPanel) -> None:
    old = {"type": "object", "properties": {}}
    new = {"type": "object", "properties": {"<img src=x onerror=alert(1)>": {"type": "string"}}}
    panel.load_uploads(json.dumps(old).encode(), json.dumps(new).encode())
    assert "<img" not in panel.table.value and "&lt;img" in panel.table.value


def test_downloads_carry_the_markdown_and_json_reports(panel: SchemaDiffPanel) -> None:
    panel.select(SUBJECT, "1.0.0", "2.0.0")
    links = dict(re.findall(r'download="([^"]+)" href="data:[^,]+,([^"]+)"', panel.downloads.value))
    markdown = base64.b64decode(links[f"diff-{SUBJECT}_1.0.0-{SUBJECT}_2.0.0.md"]).decode()
    report = base64.b64decode(links[f"diff-{SUBJECT}_1.0.0-{SUBJECT}_2.0.0.json"]).decode()
    assert markdown == panel.markdown_report() and "agentId" in markdown
    assert json.loads(report) == panel.report


def test_history_check_is_transitive_by_default(panel: SchemaDiffPanel) -> None:
    panel.subject.value = SUBJECT
    panel.history_button.click()
    history = panel.history
    assert history is not None and history.version == "3.0.0"
    assert history.mode == "backward_transitive" and not history.ok
    assert [p.old_version for p in history.pairs] == ["2.1.0", "2.0.0", "1.0.0"]
    assert "3.0.0 vs 2.1.0, 2.0.0, 1.0.0" in panel.history_view.value
    assert "<code>1.0.0</code> → <code>3.0.0</code>" in panel.history_view.value
    panel.mode.value = "full"
    assert panel.check_history() is not None and panel.history.mode == "full_transitive"


def test_history_check_by_the_subjects_own_mode(panel: SchemaDiffPanel) -> None:
    # interaction.completed is configured with mode "none": only the previous version is
    # compared, and nothing is enforced.
    history = panel.check_history(SUBJECT, transitive=False)
    assert history is not None and history.mode == "none" and history.ok
    assert [p.old_version for p in history.pairs] == ["2.1.0"]
    assert panel.check_history("no.such.subject") is None
    assert "ek-error" in panel.history_view.value
