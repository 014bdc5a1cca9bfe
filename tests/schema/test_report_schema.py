"""evolvekit/schema/report.schema.json describes the JSON reports that diff and check print."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from evolvekit.cli.main import main
from evolvekit.schema.diff import diff_schemas
from evolvekit.schema.policy import Ignore, apply_ignores
from evolvekit.schema.report import render

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def _validator() -> jsonschema.Draft202012Validator:
    text = (resources.files("evolvekit.schema") / "report.schema.json").read_text("utf-8")
    schema = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    main(list(argv))
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(("old", "new"), [("1.0.0", "2.0.0"), ("2.0.0", "2.1.0"),
                                          ("2.1.0", "3.0.0"), ("3.0.0", "1.0.0")])  # fmt: skip
def test_real_diff_reports_validate(capsys: pytest.CaptureFixture[str], old: str,
                                    new: str) -> None:  # fmt: skip
    report = _run(capsys, "diff", f"interaction.completed@{old}", f"interaction.completed@{new}",
                  "--schemas", str(SCHEMAS), "--format", "json")  # fmt: skip
    assert any("example" in c for c in report["changes"])
    errors = sorted(_validator().iter_errors(report), key=str)
    assert not errors, errors[0].message


def test_real_check_report_validates(capsys: pytest.CaptureFixture[str]) -> None:
    report = _run(capsys, "check", "--schemas", str(SCHEMAS), "--format", "json")
    assert report["checks"] and report["checks"][0]["pairs"]
    assert not list(_validator().iter_errors(report))


def test_ignored_change_and_a_wrong_report_are_judged() -> None:
    old = {"type": "object", "properties": {"a": {"type": "number"}}}
    new = {"type": "object", "properties": {"a": {"type": "integer"}}}
    diff = diff_schemas(old, new)
    apply_ignores(diff, [Ignore("type_narrowed", "#/properties/a", "ints only")], dt.date.today())
    report = json.loads(render(diff, "json"))
    assert report["changes"][0]["ignored"] == "ints only"
    validator = _validator()
    assert validator.is_valid(report)
    del report["changes"][0]["explanation"]
    assert not validator.is_valid(report)
    assert not validator.is_valid({**json.loads(render(diff, "json")), "extra": 1})
