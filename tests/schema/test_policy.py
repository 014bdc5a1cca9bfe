"""subject.yaml policy and ignores: parsing, wildcard paths, expiry, unused entries."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from evolvekit.errors import ConfigError
from evolvekit.schema import compat
from evolvekit.schema.diff import diff_schemas
from evolvekit.schema.policy import Ignore, apply_ignores, parse_ignores, path_matches
from evolvekit.schema.registry import SchemaRegistry

OLD = {"type": "object", "properties": {"a": {"type": "number"}, "b": {"type": "number"}}}
NEW = {"type": "object", "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}
TODAY = dt.date(2026, 6, 1)


def test_path_wildcard_matches_exactly_one_segment() -> None:
    assert path_matches("#/properties/*", "#/properties/amount")
    assert path_matches("#/properties/*/maxLength", "#/properties/a/maxLength")
    assert not path_matches("#/properties/*", "#/properties/a/maxLength")
    assert not path_matches("#/*", "#/properties/a")
    assert path_matches("#/properties/amount", "#/properties/amount")


def test_ignored_changes_show_their_reason_and_do_not_fail() -> None:
    diff = diff_schemas(OLD, NEW)
    assert not diff.backward
    entry = Ignore("type_narrowed", "#/properties/*", "producers never sent fractions")
    outcome = apply_ignores(diff, [entry], TODAY)
    assert diff.backward and not outcome.unused and not outcome.expired
    assert [c.ignored for c in diff.changes] == ["producers never sent fractions"] * 2
    assert diff.to_dict()["changes"][0]["ignored"] == "producers never sent fractions"


def test_an_ignore_for_one_path_leaves_the_others_breaking() -> None:
    diff = diff_schemas(OLD, NEW)
    apply_ignores(diff, [Ignore("type_narrowed", "#/properties/a", "checked")], TODAY)
    assert [c.path for c in diff.breaking()] == ["#/properties/b"]


def test_expired_ignore_applies_to_nothing_and_is_reported() -> None:
    diff = diff_schemas(OLD, NEW)
    entry = Ignore("type_narrowed", "#/properties/*", "until the migration", dt.date(2026, 5, 31))
    outcome = apply_ignores(diff, [entry], TODAY)
    assert not diff.backward
    assert outcome.messages() == [
        "expired: ignore type_narrowed at #/properties/* until 2026-05-31 (until the migration)"
    ]
    assert not apply_ignores(diff_schemas(OLD, NEW), [entry], dt.date(2026, 5, 31)).expired


def test_unused_ignore_is_a_warning() -> None:
    outcome = apply_ignores(diff_schemas(OLD, NEW), [Ignore("pattern_added", "#/x", "r")], TODAY)
    assert outcome.warnings() == ["unused: ignore pattern_added at #/x (r) matches no change"]


def test_parse_ignores_accepts_yaml_dates_and_iso_strings() -> None:
    parsed = parse_ignores([
        {"rule": "type_narrowed", "path": "#/properties/a", "reason": "r",
         "until": dt.date(2027, 1, 2)},
        {"rule": "type_narrowed", "path": "#/properties/b", "reason": "r", "until": "2027-01-03"},
    ], file="subject.yaml")  # fmt: skip
    assert [i.until for i in parsed] == [dt.date(2027, 1, 2), dt.date(2027, 1, 3)]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"rule": "type_narrowed", "path": "#/a"}, "reason is required"),
        ({"rule": "type_narrowed", "path": "#/a", "reason": " "}, "reason is required"),
        ({"rule": "nope", "path": "#/a", "reason": "r"}, "is not a change kind"),
        ({"rule": "type_narrowed", "path": "a", "reason": "r"}, "path must be a string"),
        ({"rule": "type_narrowed", "path": "#/a", "reason": "r", "until": "soon"}, "not a date"),
        ({"rule": "type_narrowed", "path": "#/a", "reason": "r", "why": 1}, "unknown key 'why'"),
    ],
)
def test_bad_ignore_entries_are_one_line_config_errors(entry: dict[str, object],
                                                        message: str) -> None:  # fmt: skip
    with pytest.raises(ConfigError, match=message) as info:
        parse_ignores([entry], file="schemas/s/subject.yaml")
    assert "ignore[0]" in str(info.value) and "\n" not in str(info.value)


def _registry(tmp_path: Path, yaml_text: str) -> SchemaRegistry:
    import json

    folder = tmp_path / "schemas" / "s"
    folder.mkdir(parents=True)
    (folder / "1.0.0.json").write_text(json.dumps(OLD), encoding="utf-8")
    (folder / "2.0.0.json").write_text(json.dumps(NEW), encoding="utf-8")
    (folder / "subject.yaml").write_text(yaml_text, encoding="utf-8")
    return SchemaRegistry(tmp_path / "schemas")


def test_subject_yaml_policy_ignores_and_sources(tmp_path: Path) -> None:
    reg = _registry(tmp_path, "mode: backward\npolicy: lenient\nignore:\n"
                    "  - rule: type_narrowed\n    path: \"#/properties/*\"\n"
                    "    reason: fractions never sent\n    until: 2027-01-01\n"
                    "  - rule: pattern_added\n    path: \"#/properties/a\"\n"
                    "    reason: old\n")  # fmt: skip
    check = compat.check_history(reg, "s", today=TODAY)
    assert check.ok and check.policy == "lenient"
    assert check.warnings == ["unused: ignore pattern_added at #/properties/a (old) matches no "
                              "change"]  # fmt: skip
    diff = check.pairs[0].diff
    assert (diff.mode_source, diff.policy_source) == ("subject.yaml", "subject.yaml")
    assert compat.check_history(reg, "s", policy="strict", today=TODAY).policy == "strict"
    expired = compat.check_history(reg, "s", today=dt.date(2027, 1, 2))
    assert not expired.ok and expired.expired[0].startswith("expired: ignore type_narrowed")
