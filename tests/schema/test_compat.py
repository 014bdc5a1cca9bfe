"""compat: modes (plain and transitive), policies, candidates and the whole registry."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evolvekit.errors import InputError
from evolvekit.schema.compat import (
    CANDIDATE,
    MODE_NAMES,
    check_all,
    check_candidate,
    check_history,
    pair_ok,
)
from evolvekit.schema.diff import diff_schemas
from evolvekit.schema.registry import SchemaRegistry

V1 = {"type": "object", "properties": {"id": {"type": "string"}}, "additionalProperties": False}
V2 = {"type": "object", "properties": {"id": {"type": "string"}, "note": {"type": "string"}},
      "additionalProperties": False}  # fmt: skip
V3 = {"type": "object", "properties": {"note": {"type": "string"}},
      "additionalProperties": False}  # fmt: skip


def make_registry(root: Path, subject: str, versions: list[dict[str, Any]], mode: str) -> Any:
    folder = root / "schemas" / subject
    folder.mkdir(parents=True)
    for index, schema in enumerate(versions, start=1):
        (folder / f"{index}.0.0.json").write_text(json.dumps(schema))
    (folder / "subject.yaml").write_text(f"mode: {mode}\n")
    return SchemaRegistry(root / "schemas")


def test_backward_compares_with_the_previous_version_only(tmp_path: Path) -> None:
    reg = make_registry(tmp_path, "s", [V1, V2, V3], "backward")
    check = check_history(reg, "s")
    assert [(p.old_version, p.new_version) for p in check.pairs] == [("2.0.0", "3.0.0")]
    # dropping "id" from a closed model breaks strict backward, lenient allows it
    assert not check.ok and check.breaking >= 1
    assert check_history(reg, "s", policy="lenient").ok
    assert check.compared == "3.0.0 vs 2.0.0"


def test_transitive_compares_with_every_earlier_version(tmp_path: Path) -> None:
    reg = make_registry(tmp_path, "s", [V2, V1, V2], "forward_transitive")
    check = check_history(reg, "s")
    assert [p.old_version for p in check.pairs] == ["2.0.0", "1.0.0"]
    assert check.transitive
    assert all(p.diff.compatible("forward") == p.ok for p in check.pairs)


@pytest.mark.parametrize(
    ("mode", "ok"),
    [("backward", True), ("forward", False), ("full", False), ("none", True)],
)
def test_modes_on_an_added_closed_model_property(tmp_path: Path, mode: str, ok: bool) -> None:
    # V1 -> V2 adds an optional property to a closed model: backward yes, forward no
    reg = make_registry(tmp_path, "s", [V1, V2], mode)
    check = check_history(reg, "s")
    assert check.ok is ok
    assert check.to_dict()["ok"] is ok


def test_candidate_is_checked_before_it_is_registered(tmp_path: Path) -> None:
    reg = make_registry(tmp_path, "s", [V1], "backward")
    good = check_candidate(reg, "s", V2)
    assert good.ok and good.version == CANDIDATE
    bad = check_candidate(reg, "s", {"type": "string"}, version="2.0.0")
    assert not bad.ok and bad.version == "2.0.0"
    assert bad.pairs[0].diff.breaking("backward")


def test_candidate_for_a_new_subject_has_nothing_to_break(tmp_path: Path) -> None:
    reg = make_registry(tmp_path, "s", [V1], "backward")
    check = check_candidate(reg, "brand.new", V1)
    assert check.ok and check.pairs == []


def test_candidate_relative_refs_resolve_in_the_subject_folder() -> None:
    reg = SchemaRegistry(Path(__file__).resolve().parents[2] / "schemas")
    subject = "interaction.completed"
    latest = reg.versions(subject)[-1]
    check = check_candidate(reg, subject, reg.get(subject, latest), version="9.0.0")
    assert check.ok
    assert all(p.diff.changes == [] for p in check.pairs if p.old_version == latest)


def test_check_all_covers_every_subject(tmp_path: Path) -> None:
    reg = make_registry(tmp_path, "s", [V1, V2], "full")
    results = check_all(reg)
    assert [c.subject for c in results] == ["s"]
    assert not results[0].ok


def test_shipped_registry_passes_its_own_modes() -> None:
    reg = SchemaRegistry(Path(__file__).resolve().parents[2] / "schemas")
    results = check_all(reg)
    assert results and all(c.ok for c in results)


def test_pair_ok_and_bad_names() -> None:
    d = diff_schemas(V1, V2)
    assert pair_ok(d, "backward_transitive") and not pair_ok(d, "full")
    assert "none" in MODE_NAMES
    with pytest.raises(InputError):
        pair_ok(d, "sideways")
