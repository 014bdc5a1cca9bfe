"""Reports of a SchemaDiff in every format, built from hand-made diffs (the renderer is pure)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from evolvekit.errors import InputError
from evolvekit.schema.changes import MISSING, Change, RenameHint, SchemaDiff
from evolvekit.schema.report import (
    FORMATS,
    CheckRow,
    PairResult,
    md_code,
    render,
    render_history,
    render_summary,
    short_value,
)

BACKWARD = frozenset({"backward"})
FORWARD = frozenset({"forward"})


def tutorial_diff() -> SchemaDiff:
    """The tutorial's 1.0.0 -> 2.0.0 change, as a diff engine would report it."""
    return SchemaDiff(
        changes=[
            Change(
                "required_attribute_added",
                "#/required",
                ["customerId", "interactionId", "agentEmail"],
                ["customerId", "interactionId", "agentId"],
                BACKWARD,
            ),
            Change(
                "property_removed_from_open_content_model",
                "#/properties/agentEmail",
                {"type": "string"},
                MISSING,
                FORWARD,
            ),
            Change(
                "property_added_to_open_content_model",
                "#/properties/agentId",
                MISSING,
                {"type": "string"},
                BACKWARD,
            ),
            Change("description_changed", "#/description", None, "Completed interaction"),
        ],
        hints=[RenameHint("agentEmail", "agentId", 0.62)],
        old_label="interaction.completed@1.0.0",
        new_label="interaction.completed@2.0.0",
    )


def hostile_diff() -> SchemaDiff:
    """Values and names full of characters that markdown and HTML treat specially."""
    return SchemaDiff(
        changes=[
            Change(
                "enum_array_changed",
                "#/properties/a|b",
                ["x|y", "`tick`"],
                ["<script>alert(1)</script>", "&amp;"],
                BACKWARD,
            ),
            Change("title_changed", "#/properties/line\nbreak/title", "``double``", '"q"'),
        ],
        old_label="<old>",
        new_label="new`label`",
    )


# --- text ----------------------------------------------------------------------------


def test_text_groups_by_severity_for_the_mode() -> None:
    text = render(tutorial_diff(), "text")
    lines = text.splitlines()
    headers = [line for line in lines if re.match(r"^(breaking|caution|info) \(\d+\)$", line)]
    assert headers == ["breaking (2)", "caution (1)", "info (1)"]
    # Under forward, the removal becomes the breaking one and the additions are cautions.
    fwd = render(tutorial_diff(), "text", mode="forward").splitlines()
    assert [line for line in fwd if re.match(r"^(breaking|caution|info) \(", line)] == [
        "breaking (1)",
        "caution (2)",
        "info (1)",
    ]
    start = fwd.index("breaking (1)")
    assert "#/properties/agentEmail" in fwd[start + 1]


def test_text_one_line_per_change_with_values_and_breaks() -> None:
    text = render(tutorial_diff(), "text")
    line = next(x for x in text.splitlines() if "required_attribute_added" in x)
    assert re.search(
        r"^  required_attribute_added\s+#/required\s+"
        r'\["customerId","interactionId","agentEmail"\] -> '
        r'\["customerId","interactionId","agentId"\]  \(breaks: backward\)$',
        line,
    )
    removed = next(x for x in text.splitlines() if "agentEmail " in x and "removed" in x)
    assert removed.rstrip().endswith('{"type":"string"} -> (absent)  (breaks: forward)')
    info = next(x for x in text.splitlines() if "description_changed" in x)
    assert 'null -> "Completed interaction"' in info and "breaks" not in info


def test_text_verdict_per_direction_and_hints() -> None:
    text = render(tutorial_diff(), "text")
    assert re.search(r"^backward: +INCOMPATIBLE \(2 breaking\)  <- mode$", text, re.M)
    assert re.search(r"^forward: +INCOMPATIBLE \(1 breaking\)$", text, re.M)
    assert re.search(r"^full: +INCOMPATIBLE \(3 breaking\)$", text, re.M)
    assert "  agentEmail -> agentId (similarity 0.62)" in text
    compatible = SchemaDiff([Change("title_changed", "#/title", "a", "b")])
    assert re.search(r"^backward: +compatible  <- mode$", render(compatible), re.M)


def test_text_no_changes() -> None:
    text = render(SchemaDiff([]), "text")
    assert "no changes" in text
    assert "breaking (" not in text
    assert re.search(r"^full: +compatible$", text, re.M)


def test_text_colour_only_when_asked() -> None:
    plain = render(tutorial_diff(), "text")
    coloured = render(tutorial_diff(), "text", color=True)
    assert "\x1b[" not in plain
    assert "\x1b[31m" in coloured and "\x1b[0m" in coloured
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain


def test_text_escapes_control_characters() -> None:
    diff = SchemaDiff([Change("title_changed", "#/properties/evil\x1b[2J", "a", "b")])
    text = render(diff, "text")
    assert "\x1b" not in text
    assert "evil\\x1b[2J" in text
    assert "break/title" in render(hostile_diff(), "text")
    assert "line\\x0abreak" in render(hostile_diff(), "text")


def test_long_values_are_shortened_with_an_ellipsis() -> None:
    big = {"enum": [f"value{i}" for i in range(100)]}
    shown = short_value(big)
    assert len(shown) == 60 and shown.endswith("...")
    assert short_value(MISSING) == "(absent)"
    assert short_value(None) == "null"
    line = render(SchemaDiff([Change("enum_array_changed", "#/x", big, MISSING)]), "text")
    assert "value99" not in line and "..." in line


# --- json ----------------------------------------------------------------------------


def test_json_is_exactly_designs_shape() -> None:
    diff = tutorial_diff()
    for mode in ("backward", "forward", "full"):
        data = json.loads(render(diff, "json", mode=mode))
        assert data == diff.to_dict(mode)
        assert list(data) == [
            "compatible",
            "mode",
            "policy",
            "mode_source",
            "policy_source",
            "backward",
            "forward",
            "changes",
            "hints",
        ]
        assert data["mode"] == mode
    data = json.loads(render(diff, "json"))
    assert data["compatible"] is False and data["backward"] is False and data["forward"] is False
    assert data["policy"] == "strict"
    removed = data["changes"][1]
    assert removed == {
        "kind": "property_removed_from_open_content_model",
        "path": "#/properties/agentEmail",
        "old": {"type": "string"},
        "breaks": ["forward"],
        "severity": "caution",
        "explanation": "agentEmail was removed; the object still allows any property: an event "
        'whose agentEmail fails {"type":"string"}, written by a new producer, is rejected by an '
        "old reader.",
    }
    assert "new" not in removed  # absent is left out ...
    assert data["changes"][3]["old"] is None  # ... while JSON null is a value
    assert data["hints"] == [{"removed": "agentEmail", "added": "agentId", "similarity": 0.62}]


def test_json_mode_transitive_is_normalised() -> None:
    assert json.loads(render(tutorial_diff(), "json", mode="full_transitive"))["mode"] == "full"


# --- markdown ------------------------------------------------------------------------


def _md_cells(row: str) -> list[str]:
    """Split a GFM table row on unescaped pipes (as GFM does, code spans included)."""
    inner = row.strip()
    assert inner.startswith("|") and inner.endswith("|")
    return [c.strip() for c in re.split(r"(?<!\\)\|", inner[1:-1])]


def test_markdown_table_and_badges() -> None:
    md = render(tutorial_diff(), "markdown")
    assert md.startswith("### Schema diff `interaction.completed@1.0.0` → ")
    assert "**❌ backward (2 breaking)**" in md
    assert "❌ forward (1 breaking)" in md and "❌ full (3 breaking)" in md
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert _md_cells(rows[0]) == ["severity", "kind", "path", "old", "new", "breaks", "why",
                                  "example"]  # fmt: skip
    body = [_md_cells(r) for r in rows[2:]]
    assert len(body) == 4
    assert [r[0] for r in body] == ["🔴 breaking", "🔴 breaking", "🟡 caution", "⚪ info"]
    assert body[2][1:6] == [
        "`property_removed_from_open_content_model`",
        "`#/properties/agentEmail`",
        '`{"type":"string"}`',
        "",
        "forward",
    ]
    assert body[2][6].startswith("agentEmail was removed") and body[2][7] == ""
    assert "- `agentEmail` → `agentId` (similarity 0.62)" in md
    ok = render(SchemaDiff([]), "markdown")
    assert "**✅ backward**" in ok and "No changes." in ok


def test_markdown_escapes_pipes_backticks_and_newlines() -> None:
    md = render(hostile_diff(), "markdown")
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert len(rows) == 4  # header, rule, two changes: the newline did not split a row
    for row in rows:
        assert len(_md_cells(row)) == 8
    first = _md_cells(rows[2])
    assert first[2] == r"`#/properties/a\|b`"
    assert first[3] == r'`` ["x\|y","`tick`"] ``'
    second = _md_cells(rows[3])
    assert second[3] == '``` "``double``" ```'
    assert "\\x0a" in second[2]
    assert "`` new`label` ``" in md.splitlines()[0]


def test_md_code_fences() -> None:
    assert md_code("plain") == "`plain`"
    assert md_code("a`b") == "`` a`b ``"
    assert md_code("x|y") == r"`x\|y`"
    assert md_code("") == ""


# --- html ----------------------------------------------------------------------------


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.depth = 0
        self.top_level: list[str] = []
        self.text: list[str] = []
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth == 0:
            self.top_level.append(tag)
        self.depth += 1
        self.tags.append(tag)
        self.attrs.extend(attrs)
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self.depth -= 1
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.style += data
        else:
            self.text.append(data)


def _parse(html_text: str) -> _Collector:
    parser = _Collector()
    parser.feed(html_text)
    parser.close()
    assert parser.depth == 0, "unbalanced tags"
    return parser


def test_html_is_one_self_contained_div() -> None:
    out = render(tutorial_diff(), "html")
    parsed = _parse(out)
    assert parsed.top_level == ["div"]
    assert "script" not in parsed.tags and "link" not in parsed.tags and "img" not in parsed.tags
    assert not [a for a, _ in parsed.attrs if a in {"src", "href"} or a.startswith("on")]
    assert "@import" not in parsed.style and "url(" not in parsed.style
    # Every rule is scoped by the wrapper's class, so the notebook around it is untouched.
    selectors = re.findall(r"(?:^|})\s*([^{}]+?)\s*{", parsed.style)
    assert selectors
    for group in selectors:
        for selector in group.split(","):
            assert selector.strip().startswith(".evolvekit-report"), selector
    assert parsed.tags.count("tr") == 5  # header + four changes
    text = "".join(parsed.text)
    assert "backward ✗ 2" in text and "forward ✗ 1" in text
    assert 'class="ek-badge ek-bad ek-current"' in out
    assert '<tr class="ek-breaking">' in out and '<tr class="ek-caution">' in out


def test_html_escapes_every_value() -> None:
    out = render(hostile_diff(), "html")
    assert "<script>" not in out and "<old>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&amp;lt;old&amp;gt;" not in out and "&lt;old&gt;" in out
    assert "&amp;amp;" in out  # the literal "&amp;" value is itself escaped
    parsed = _parse(out)
    assert "script" not in parsed.tags
    text = "".join(parsed.text)
    assert '["<script>alert(1)</script>","&amp;"]' in text  # round-trips to the value


def test_html_no_changes() -> None:
    out = render(SchemaDiff([]), "html")
    assert "No changes." in out and "<table" not in out
    assert "backward ✓" in out


# --- errors --------------------------------------------------------------------------


def test_unknown_format_and_mode_are_input_errors() -> None:
    with pytest.raises(InputError, match="unknown report format 'yaml'"):
        render(tutorial_diff(), "yaml")
    with pytest.raises(InputError, match="unknown compatibility mode"):
        render(tutorial_diff(), "text", mode="sideways")
    assert set(FORMATS) == {"text", "json", "markdown", "html"}


# --- check summary -------------------------------------------------------------------


def _rows() -> list[CheckRow]:
    bad = tutorial_diff()
    return [
        CheckRow("agent.session", "2.0.0 vs 1.0.0", "none", True),
        CheckRow(
            "interaction.completed",
            "2.0.0 vs 1.0.0",
            "backward",
            False,
            breaking=2,
            pairs=(PairResult("1.0.0", "2.0.0", bad, False),),
        ),
        CheckRow("x", "1.0.0.json vs main", "backward", False, note="deleted"),
    ]


def test_summary_text_table() -> None:
    text = render_summary(_rows(), "text")
    lines = text.splitlines()
    assert lines[0].split() == ["subject", "compared", "mode", "verdict", "breaking"]
    assert re.match(
        r"^agent\.session\s+2\.0\.0 vs 1\.0\.0\s+none\s+accepted \(mode none\)\s+0$", lines[1]
    )
    assert re.match(r"^interaction\.completed\s+.*backward\s+INCOMPATIBLE\s+2$", lines[2])
    assert "VIOLATION (deleted)" in lines[3]
    assert lines[-1] == "3 checked, 2 violation(s)"
    # Columns line up: "compared" starts at the same offset on every row.
    offsets = {
        line.index(c) for line, c in zip(lines[:3], ["compared", "2.0.0", "2.0.0"], strict=True)
    }
    assert len(offsets) == 1
    assert "\x1b[" not in text and "\x1b[32m" in render_summary(_rows(), "text", color=True)


def test_summary_markdown_json_html() -> None:
    md = render_summary(_rows(), "markdown")
    assert md.startswith("### Schema compatibility check: ❌ failed")
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert len(rows) == 5 and all(len(_md_cells(r)) == 5 for r in rows)
    assert "✅ accepted (mode none)" in rows[2]
    data = json.loads(render_summary(_rows(), "json"))
    assert data["ok"] is False
    assert [c["ok"] for c in data["checks"]] == [True, False, False]
    pair = data["checks"][1]["pairs"][0]
    assert pair["old"] == "1.0.0" and pair["new"] == "2.0.0" and pair["compatible"] is False
    assert data["checks"][2]["note"] == "deleted"
    out = render_summary(_rows(), "html")
    assert _parse(out).top_level == ["div"]
    assert out.count('<tr class="ek-breaking">') == 2
    ok = render_summary([CheckRow("a", "1.0.0", "backward", True)], "markdown")
    assert "✅ passed" in ok
    with pytest.raises(InputError):
        render_summary(_rows(), "yaml")


def test_render_history_from_compat_checks() -> None:
    from evolvekit.schema.compat import HistoryCheck, PairCheck

    failing = HistoryCheck("interaction.completed", "backward_transitive", "strict", "2.0.0")
    failing.pairs.append(PairCheck("1.0.0", "2.0.0", tutorial_diff(), ok=False))
    passing = HistoryCheck("agent.session", "forward", "strict", "1.0.0")
    text = render_history([failing, passing], "text")
    lines = text.splitlines()
    assert re.match(
        r"^interaction\.completed\s+2\.0\.0 vs 1\.0\.0\s+backward_transitive\s+INCOMPATIBLE\s+2$",
        lines[1],
    )
    assert re.match(
        r"^agent\.session\s+1\.0\.0 \(no earlier version\)\s+forward\s+compatible", lines[2]
    )
    assert render_history(passing, "text").splitlines()[-1] == "1 checked, 0 violation(s)"
    data = json.loads(render_history(failing, "json"))
    assert data["checks"][0]["pairs"][0]["ok"] is False
    assert data["checks"][0]["pairs"][0]["changes"] == tutorial_diff().to_dict()["changes"]
