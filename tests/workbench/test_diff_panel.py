"""SchemaDiffPanel without a kernel: menus, buttons, uploads, filters, reports, history."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from evolvekit.workbench import SchemaDiffPanel
from evolvekit.workbench.diff_panel import UPLOADS

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
    # breaking (agentId) before caution (agentEmail: breaks only forward)
    assert [c.path for c in rows] == ["#/properties/agentId", "#/properties/agentEmail"]
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
    row = re.search(r'<tr class="ek-change ek-(\w+)"[^>]*>(?:(?!</tr>).)*agentEmail',
                    panel.table.value)
    assert row is not None and row.group(1) == "breaking"


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
    # the uploads feed the menus: the subject menu offers them, the version menus name them
    assert panel.subject.value == UPLOADS
    assert (panel.old_version.value, panel.new_version.value) == ("old.json", "new.json")
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
    assert "breaks with 3 of 3 earlier version(s)" in panel.history_view.value
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


def _row_classes(panel: SchemaDiffPanel) -> list[str]:
    return re.findall(r'<tr class="ek-change ek-(\w+)"', panel.table.value)


def test_rows_are_breaking_then_caution_then_info(panel: SchemaDiffPanel) -> None:
    panel.select(SUBJECT, "2.1.0", "3.0.0")
    order = {"breaking": 0, "caution": 1, "info": 2}
    severities = _row_classes(panel)
    assert severities == sorted(severities, key=order.__getitem__)
    assert severities[0] == "breaking" and severities[-1] == "info"
    assert severities.count("breaking") == len(panel.diff.breaking("backward"))  # type: ignore[union-attr]
    assert panel.table.value.count('class="ek-sortable"') == 6, "every column sorts"


def test_paths_wrap_between_parts_never_mid_word(panel: SchemaDiffPanel) -> None:
    panel.select(SUBJECT, "2.1.0", "3.0.0")
    html = panel.table.value
    assert "break-all" not in html
    assert "#/<wbr>properties/<wbr>metadata/<wbr>properties/<wbr>tags/<wbr>uniqueItems" in html
    assert "unique_<wbr>items_<wbr>added" in html
    assert 'title="#/properties/metadata/properties/tags/uniqueItems"' in html


def test_rows_expand_to_full_values_explanation_and_example(panel: SchemaDiffPanel) -> None:
    panel.select(SUBJECT, "2.1.0", "3.0.0")
    html = panel.table.value
    assert html.count('<details class="ek-expand">') == len(panel.rows)
    # a value cut with "..." in the summary is there in full inside the details
    agent = next(c for c in panel.rows if c.path == "#/properties/agent")
    assert "..." in html
    assert all(f"&quot;{key}&quot;: {{" in html for key in agent.new["properties"])
    assert "no example" in html or "example event" in html


def test_rows_expand_to_each_changes_explanation_and_proven_example(
    panel: SchemaDiffPanel,
) -> None:
    from html import escape

    from evolvekit import jsonio
    from evolvekit.schema.changes import MISSING

    diff = panel.select(SUBJECT, "1.0.0", "2.0.0")
    assert diff is not None
    with_example = [c for c in panel.rows if c.example is not MISSING]
    without = [c for c in panel.rows if c.example is MISSING]
    assert with_example and without
    table = panel.table.value
    for change in panel.rows:
        assert escape(change.explanation, quote=True) in table
    for change in with_example:
        event = jsonio.dumps_str(change.example, indent=True)
        assert f'<pre class="ek-example">{escape(event, quote=True)}</pre>' in table
    assert table.count('<pre class="ek-example">') == len(with_example)
    assert table.count("no example") == len(without)
    assert "(none given)" not in table


def test_mode_and_policy_come_from_subject_yaml_as_evolvekit_diff_says(
    schemas: Path, panel: SchemaDiffPanel, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 13: the widget and ``evolvekit diff`` never disagree about a subject's settings."""
    from evolvekit.cli.main import main

    panel.select(SUBJECT, "2.0.0", "2.1.0")
    expected = ("mode none from subject.yaml (nothing enforced; severities for backward), "
                "policy strict from default")  # fmt: skip
    assert panel.settings_text == expected and expected in panel.settings_view.value
    assert (panel.mode.value, panel.policy.value) == ("backward", "strict")
    assert main(["diff", f"{SUBJECT}@2.0.0", f"{SUBJECT}@2.1.0", "--schemas", str(schemas)]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.endswith(f"({expected})")
    assert panel.report is not None
    assert (panel.report["mode_source"], panel.report["configured_mode"]) == ("subject.yaml",
                                                                              "none")


def write_subject_yaml(workspace: Path, text: str) -> Path:
    schemas = workspace / "schemas"
    (schemas / SUBJECT / "subject.yaml").write_text(text, encoding="utf-8")
    return schemas


def test_panel_json_report_is_evolvekit_diffs_for_a_subject_with_settings(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from evolvekit.cli.main import main

    schemas = write_subject_yaml(workspace, "mode: forward_transitive\npolicy: lenient\n")
    panel = SchemaDiffPanel(schemas)
    panel.subject.value = "agent.session"
    panel.subject.value = SUBJECT  # choosing the subject sets the menus before any compare
    assert (panel.mode.value, panel.policy.value) == ("forward", "lenient")
    assert panel.settings_text == ("mode forward_transitive from subject.yaml, "
                                   "policy lenient from subject.yaml")  # fmt: skip
    diff = panel.select(SUBJECT, "1.0.0", "2.0.0")
    assert diff is not None and diff.policy == "lenient"
    main(["diff", f"{SUBJECT}@1.0.0", f"{SUBJECT}@2.0.0", "--schemas", str(schemas),
          "--format", "json"])  # fmt: skip
    assert json.loads(panel.json_report()) == json.loads(capsys.readouterr().out)


def test_a_menu_choice_is_a_flag_until_the_subjects_settings_are_asked_for(
    workspace: Path,
) -> None:
    schemas = write_subject_yaml(workspace, "mode: forward\n")
    panel = SchemaDiffPanel(schemas)
    panel.select(SUBJECT, "1.0.0", "2.0.0")
    assert panel.mode.value == "forward" and panel.report is not None
    assert panel.report["mode"] == "forward"
    panel.mode.value = "full"  # the analyst
    assert panel.settings_text == "mode full from flag, policy strict from default"
    assert panel.report["mode"] == "full" and panel.report["mode_source"] == "flag"
    panel.subject.value = "agent.session"  # mode none there, but the choice stands
    assert panel.mode.value == "full" and panel.settings_text.startswith("mode full from flag")
    panel.policy.value = "lenient"
    assert panel.settings_text == "mode full from flag, policy lenient from flag"
    panel.subject_settings_button.click()
    assert panel.settings_text.startswith("mode none from subject.yaml")
    assert (panel.mode.value, panel.policy.value) == ("backward", "strict")
    pinned = SchemaDiffPanel(schemas, mode="backward")  # given when made: a flag too
    pinned.subject.value = SUBJECT
    assert pinned.settings_text == "mode backward from flag, policy strict from default"


def test_subject_ignores_are_applied_and_shown_as_in_evolvekit_diff(workspace: Path) -> None:
    schemas = write_subject_yaml(workspace, (
        "mode: backward\nignore:\n"
        "  - rule: required_property_added_to_open_content_model\n"
        '    path: "#/properties/agentId"\n'
        "    reason: the migration fills agentId\n"
        "  - rule: enum_array_narrowed\n"
        '    path: "#/properties/nowhere"\n'
        "    reason: matches nothing\n"
    ))  # fmt: skip
    panel = SchemaDiffPanel(schemas)
    diff = panel.select(SUBJECT, "1.0.0", "2.0.0")
    assert diff is not None
    agent = next(c for c in diff.changes if c.path == "#/properties/agentId")
    assert agent.ignored == "the migration fills agentId"
    assert agent not in diff.breaking("backward")
    assert "(ignored: the migration fills agentId)" in panel.table.value
    assert "unused:" in panel.message.value and "#/properties/nowhere" in panel.message.value


def test_side_by_side_aligns_both_schemas_and_links_changed_lines(panel: SchemaDiffPanel) -> None:
    panel.select(SUBJECT, "1.0.0", "2.0.0")
    html = panel.side_by_side.value
    assert f"{SUBJECT}@1.0.0" in html and f"{SUBJECT}@2.0.0" in html
    old_lines = re.findall(r'id="ek-line-[^"]+-old-\d+"', html)
    new_lines = re.findall(r'id="ek-line-[^"]+-new-\d+"', html)
    assert old_lines and new_lines
    assert "ek-add" in html and "ek-del" in html  # agentId added, agentEmail removed
    # the line of "agentId" in the new schema is linked to its table row
    index = next(i for i, c in enumerate(panel.rows) if c.path == "#/properties/agentId")
    linked = re.search(r'<div class="[^"]*ek-linked[^"]*" id="ek-line-\w+-new-\d+" '
                       r'data-change="([\d ]+)"[^>]*><span class="ek-no">\d+</span>'
                       r"\s*&quot;agentId&quot;", html)
    assert linked is not None and str(index) in linked.group(1).split()
    assert f'data-row="{index}"' in panel.table.value and "ek-jump" in panel.table.value


def test_an_error_never_wipes_the_last_good_diff(panel: SchemaDiffPanel) -> None:
    panel.select(SUBJECT, "1.0.0", "2.0.0")
    table, badges, downloads = panel.table.value, panel.badges.value, panel.downloads.value
    assert panel.load_uploads(b'{"type": "object",,}', b"{}", "broken.json") is None
    assert panel.error is not None and panel.error.startswith("broken.json:1:")
    assert "ek-error" in panel.message.value and "kept" in panel.message.value
    assert (panel.table.value, panel.badges.value, panel.downloads.value) == (
        table, badges, downloads)
    assert panel.diff is not None and panel.diff.new_label == f"{SUBJECT}@2.0.0"
    assert "broken.json" not in panel.uploads
    panel.select(SUBJECT, "1.0.0", "9.9.9")
    assert panel.table.value == table


def test_badges_and_history_agree_with_the_table(panel: SchemaDiffPanel) -> None:
    diff = panel.select(SUBJECT, "2.1.0", "3.0.0")
    assert diff is not None
    history = panel.check_history(SUBJECT)
    assert history is not None
    html = panel.history_view.value
    newest_pair = re.search(r'<tr class="ek-pair" data-old="2.1.0" data-breaking="(\d+)"', html)
    badge = re.search(r'data-mode="backward" data-breaking="(\d+)"', panel.badges.value)
    assert newest_pair is not None and badge is not None
    assert newest_pair.group(1) == badge.group(1) == str(len(diff.breaking("backward")))
    assert ">incompatible</span>" in html.split('data-old="2.1.0"')[1].split("</tr>")[0]
    # each pair shows its own count (no sum over pairs anywhere)
    counts = [int(n) for n in re.findall(r'class="ek-pair" data-old="[^"]+" data-breaking="(\d+)"',
                                         html)]
    assert counts == [len(p.diff.breaking("backward")) for p in history.pairs]
    assert str(sum(counts)) not in re.sub(r"<[^>]+>", " ", html).split()
    # the subject's own mode (none) allows everything and still shows the real counts
    panel.check_history(SUBJECT, transitive=False)
    assert "allowed (mode none); 4 breaking under backward" in panel.history_view.value


def test_matrix_and_lineage_of_the_subject(panel: SchemaDiffPanel) -> None:
    panel.subject.value = SUBJECT
    assert panel.matrix is not None and panel.lineage is not None
    buttons = [b for b in _buttons(panel.matrix_grid) if "ek-matrix-cell" in b._dom_classes]
    assert len(buttons) == 16
    cell = panel.matrix.cell("2.1.0", "2.0.0")
    assert cell.verdict == "backward"  # 2.0.0 -> 2.1.0 only added optional fields
    target = next(b for b in buttons if b.tooltip.startswith("2.0.0 → 2.1.0"))
    target.click()
    assert panel.diff is not None and panel.diff.new_label == f"{SUBJECT}@2.1.0"
    assert panel.diff.old_label == f"{SUBJECT}@2.0.0"
    lineage = panel.lineage.history("agentId")
    assert lineage["2.0.0"].status == "renamed" and "agentEmail" in lineage["2.0.0"].detail
    assert lineage["3.0.0"].status == "removed"
    assert panel.lineage.history("channel")["3.0.0"].status == "retyped"
    assert 'data-status="renamed"' in panel.lineage_view.value


def _buttons(widget):  # type: ignore[no-untyped-def]
    from .conftest import widget_tree

    return [w for w in widget_tree(widget) if type(w).__name__ == "Button"]


def test_to_dataframe_is_sorted_like_the_table(panel: SchemaDiffPanel) -> None:
    panel.select(SUBJECT, "2.1.0", "3.0.0")
    frame = panel.to_dataframe()
    assert list(frame["path"]) == [c.path for c in panel.rows]
    assert list(frame.columns[:3]) == ["severity", "path", "kind"]
    assert frame["severity"].iloc[0] == "breaking" and frame["severity"].iloc[-1] == "info"


def test_to_dataframe_without_pandas_names_the_extra(
    panel: SchemaDiffPanel, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from evolvekit.errors import ConfigError

    panel.select(SUBJECT, "1.0.0", "2.0.0")
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ConfigError, match=r"evolvekit\[notebook\]"):
        panel.to_dataframe()
