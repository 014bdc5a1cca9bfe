"""Migrator: route finding over rule files, version detection, chained migration."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evolvekit.errors import MigrationError
from evolvekit.mapping.migrate import Migrator
from evolvekit.mapping.ruleset import RuleSet
from evolvekit.schema.registry import SchemaRegistry

REPO = Path(__file__).resolve().parents[2]
SUBJECT = "interaction.completed"


@pytest.fixture(scope="module")
def migrator() -> Migrator:
    return Migrator(REPO / "schemas", REPO / "rules")


def _object_schema(required: list[str], props: dict[str, Any], closed: bool = False) -> dict:
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "required": required,
        "properties": props,
    }
    if closed:
        schema["additionalProperties"] = False
    return schema


def _workspace(tmp_path: Path, edges: list[tuple[str, str, str]], versions: int = 3) -> Path:
    """A tiny workspace: subject "s" with versions 1.0.0..N.0.0, field f<N> required in N,
    and a rule file per (from, to, yaml text) edge."""
    home = tmp_path / "ws"
    folder = home / "schemas" / "s"
    folder.mkdir(parents=True)
    for n in range(1, versions + 1):
        schema = _object_schema([f"f{n}"], {f"f{n}": {"type": "string"}}, closed=True)
        (folder / f"{n}.0.0.json").write_text(json.dumps(schema))
    rules = home / "rules" / "s"
    rules.mkdir(parents=True)
    for src, dst, text in edges:
        (rules / f"{src}_to_{dst}.yaml").write_text(text)
    return home


def _rename(a: str, b: str) -> str:
    return f"rules:\n  - from: {a}\n    to: {b}\n"


# ---- route ------------------------------------------------------------------------------


def test_route_same_version_is_empty(migrator: Migrator) -> None:
    assert migrator.route(SUBJECT, "2.0.0", "v2.0.0") == []


def test_route_upgrade_chains_every_step(migrator: Migrator) -> None:
    chain = migrator.route(SUBJECT, "1.0.0", "3.0.0")
    assert [(r.from_version, r.to_version) for r in chain] == [
        ("1.0.0", "2.0.0"),
        ("2.0.0", "2.1.0"),
        ("2.1.0", "3.0.0"),
    ]
    assert all(isinstance(r, RuleSet) and r.subject == SUBJECT for r in chain)


def test_route_downgrade(migrator: Migrator) -> None:
    chain = migrator.route(SUBJECT, "3.0.0", "2.0.0")
    assert [(r.from_version, r.to_version) for r in chain] == [
        ("3.0.0", "2.1.0"),
        ("2.1.0", "2.0.0"),
    ]


def test_route_takes_the_shortest_chain(tmp_path: Path) -> None:
    home = _workspace(
        tmp_path,
        [
            ("1.0.0", "2.0.0", _rename("f1", "f2")),
            ("2.0.0", "3.0.0", _rename("f2", "f3")),
            ("1.0.0", "3.0.0", _rename("f1", "f3")),
        ],
    )
    mig = Migrator(home / "schemas", home / "rules")
    chain = mig.route("s", "1.0.0", "3.0.0")
    assert [(r.from_version, r.to_version) for r in chain] == [("1.0.0", "3.0.0")]
    assert mig.migrate({"f1": "x"}, "s", "3.0.0") == {"f3": "x"}


def test_no_route_names_the_versions(tmp_path: Path) -> None:
    home = _workspace(tmp_path, [("1.0.0", "2.0.0", _rename("f1", "f2"))])
    mig = Migrator(home / "schemas", home / "rules")
    with pytest.raises(MigrationError) as err:
        mig.route("s", "1.0.0", "3.0.0")
    message = str(err.value)
    assert "no route from 1.0.0 to 3.0.0" in message
    assert "reach only 2.0.0" in message
    with pytest.raises(MigrationError, match=r"no rule file starts at 3\.0\.0"):
        mig.route("s", "3.0.0", "1.0.0")


def test_no_rule_files_at_all(tmp_path: Path) -> None:
    home = _workspace(tmp_path, [])
    mig = Migrator(home / "schemas", home / "rules")
    with pytest.raises(MigrationError, match="there are no rule files for s"):
        mig.route("s", "1.0.0", "2.0.0")


def test_two_files_for_one_edge_are_refused(tmp_path: Path) -> None:
    home = _workspace(tmp_path, [("1.0.0", "2.0.0", _rename("f1", "f2"))])
    (home / "rules" / "s" / "v1.0.0_to_v2.0.0.yml").write_text(_rename("f1", "f2"))
    mig = Migrator(home / "schemas", home / "rules")
    with pytest.raises(MigrationError, match=r"two rule files for 1\.0\.0 -> 2\.0\.0"):
        mig.route("s", "1.0.0", "2.0.0")


def test_bad_version_in_route_is_a_migration_error(migrator: Migrator) -> None:
    with pytest.raises(MigrationError, match="not a semantic version"):
        migrator.route(SUBJECT, "two", "3.0.0")


def test_edges_lists_the_rule_files(migrator: Migrator) -> None:
    edges = migrator.edges(SUBJECT)
    assert ("1.0.0", "2.0.0") in edges and ("3.0.0", "2.1.0") in edges
    assert len(edges) == 6


def test_rules_default_to_the_folder_beside_schemas(tmp_path: Path) -> None:
    home = _workspace(tmp_path, [("1.0.0", "2.0.0", _rename("f1", "f2"))])
    mig = Migrator(SchemaRegistry(home / "schemas"))
    assert mig.rules_root == (home / "rules").resolve()
    assert mig.migrate({"f1": "v"}, "s", "2.0.0") == {"f2": "v"}


# ---- migrate ----------------------------------------------------------------------------

LEGACY = json.loads((Path(__file__).parent / "tutorial.json").read_text())["event"]


def test_migrate_tutorial_event_keeps_unnamed_fields(migrator: Migrator) -> None:
    out = migrator.migrate(LEGACY, SUBJECT, "2.0.0")
    assert out == {
        "eventType": "interaction.completed",
        "timestamp": "2024-01-15T10:30:00Z",
        "customerId": "CUST-99281",
        "interactionId": "INT-4421",
        "agentId": "agent.smith@company.com",
        "durationSeconds": 245,
    }


def test_migrate_chains_up_and_never_mutates(migrator: Migrator) -> None:
    before = copy.deepcopy(LEGACY)
    out = migrator.migrate(LEGACY, SUBJECT, "3.0.0")
    assert before == LEGACY
    assert out["agent"] == {"id": "agent.smith@company.com"}
    assert out["durationMs"] == 245000
    assert "agentEmail" not in out and "callDuration" not in out
    assert migrator.registry.validator(SUBJECT, "3.0.0").is_valid(out)


def test_migrate_same_version_returns_a_copy(migrator: Migrator) -> None:
    out = migrator.migrate(LEGACY, SUBJECT, "1.0.0")
    assert out == LEGACY and out is not LEGACY


def test_migrate_restamps_the_version_field(migrator: Migrator) -> None:
    event = {
        "schema_version": "3.0.0",
        "customerId": "CUST-1",
        "interactionId": "INT-1",
        "agent": {"id": "a@b.co"},
        "durationMs": 2000,
    }
    down = migrator.migrate(event, SUBJECT, "2.0.0")
    assert down["schema_version"] == "2.0.0"
    assert down["agentId"] == "a@b.co" and down["durationSeconds"] == 2
    legacy = dict(LEGACY, schema_version="v1.0.0")
    assert migrator.migrate(legacy, SUBJECT, "2.1.0")["schema_version"] == "v2.1.0"
    # versions as callers spell them ("v" prefix) reach the same chain and stamp
    spelled = migrator.migrate(event, SUBJECT, "v2.0.0", from_version="v3.0.0")
    assert spelled == down
    assert migrator.migrate(legacy, SUBJECT, "1.0.0")["schema_version"] == "v1.0.0"
    with pytest.raises(MigrationError, match="not a semantic version"):
        migrator.migrate(event, SUBJECT, "two")


def test_migrate_leaves_a_nested_version_field_to_the_rules(tmp_path: Path) -> None:
    home = _workspace(tmp_path, [("1.0.0", "2.0.0", _rename("f1", "f2"))], versions=2)
    mig = Migrator(home / "schemas", home / "rules", version_field="meta.v")
    out = mig.migrate({"f1": "x", "meta": {"v": "1.0.0"}}, "s", "2.0.0")
    assert out == {"f2": "x", "meta": {"v": "1.0.0"}}


def test_compiled_chain_is_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    mig = Migrator(REPO / "schemas", REPO / "rules")
    calls = []
    original = RuleSet.compile

    def counting(self: RuleSet) -> Any:
        calls.append((self.from_version, self.to_version))
        return original(self)

    monkeypatch.setattr(RuleSet, "compile", counting)
    for _ in range(3):
        mig.migrate(LEGACY, SUBJECT, "2.1.0", from_version="1.0.0")
    assert calls == [("1.0.0", "2.0.0"), ("2.0.0", "2.1.0")]


def test_migrate_rejects_non_objects(migrator: Migrator) -> None:
    with pytest.raises(MigrationError, match="JSON object"):
        migrator.migrate(["not", "an", "event"], SUBJECT, "2.0.0")  # type: ignore[arg-type]


# ---- detect -----------------------------------------------------------------------------


def test_detect_by_validation_takes_the_newest_that_accepts(migrator: Migrator) -> None:
    assert migrator.detect(LEGACY, SUBJECT) == "1.0.0"
    v2 = migrator.migrate(LEGACY, SUBJECT, "2.0.0", from_version="1.0.0")
    # valid under 2.0.0 and under the additive 2.1.0: the newest that accepts it
    assert migrator.detect(v2, SUBJECT) == "2.1.0"


def test_detect_reads_the_subject_version_field_first(migrator: Migrator) -> None:
    # subject.yaml names schema_version; the field wins even over a schema that would accept
    event = dict(LEGACY, schema_version="v2.0.0")
    assert migrator.detect(event, SUBJECT) == "2.0.0"


def test_detect_with_a_migrator_version_field(tmp_path: Path) -> None:
    home = _workspace(tmp_path, [])
    mig = Migrator(home / "schemas", home / "rules", version_field="meta.v")
    assert mig.detect({"f1": "x", "meta": {"v": "2.0.0"}}, "s") == "2.0.0"
    assert mig.detect({"f3": "x"}, "s") == "3.0.0"  # no field: validation decides


def test_detect_refuses_an_unknown_stated_version(migrator: Migrator) -> None:
    with pytest.raises(MigrationError, match=r"states version 9\.0\.0.*1\.0\.0, 2\.0\.0"):
        migrator.detect(dict(LEGACY, schema_version="9.0.0"), SUBJECT)
    with pytest.raises(MigrationError, match="not a semantic version"):
        migrator.detect(dict(LEGACY, schema_version="latest-ish"), SUBJECT)
    with pytest.raises(MigrationError, match="not a version string"):
        migrator.detect(dict(LEGACY, schema_version=3), SUBJECT)


def test_detect_no_match_names_the_closest_version_and_why(migrator: Migrator) -> None:
    event = dict(LEGACY)
    event["interactionId"] = 4421  # wrong type: 1.0.0 fails by one error only
    with pytest.raises(MigrationError) as err:
        migrator.detect(event, SUBJECT)
    message = str(err.value)
    assert "matches no registered version" in message
    assert "closest is 1.0.0 (1 error;" in message
    assert "#/interactionId" in message and "string" in message


def test_detect_ties_go_to_the_version_that_knows_the_event_fields(migrator: Migrator) -> None:
    # One error under every version (1.0.0: the bad callDuration; 2.x: no agentId; 3.0.0: no
    # agent): only 1.0.0 has all its required fields, so its error is the one worth reading.
    event = dict(LEGACY, callDuration="abc")
    with pytest.raises(MigrationError) as err:
        migrator.detect(event, SUBJECT)
    assert "closest is 1.0.0 (1 error; first: #/callDuration:" in str(err.value)


def test_refresh_sees_a_newly_registered_version(tmp_path: Path) -> None:
    home = _workspace(tmp_path, [("1.0.0", "2.0.0", _rename("f1", "f2"))], versions=2)
    mig = Migrator(home / "schemas", home / "rules")
    assert mig.versions("s") == ["1.0.0", "2.0.0"]
    assert mig.detect({"f2": "x"}, "s") == "2.0.0"
    assert len(mig.route("s", "1.0.0", "2.0.0")) == 1
    mig.registry.add("s", _object_schema(["f3"], {"f3": {"type": "string"}}), "3.0.0")
    (home / "rules" / "s" / "2.0.0_to_3.0.0.yaml").write_text(_rename("f2", "f3"))
    with pytest.raises(MigrationError):  # versions and rule files are kept until refresh()
        mig.route("s", "1.0.0", "3.0.0")
    mig.refresh()
    assert mig.versions("s") == ["1.0.0", "2.0.0", "3.0.0"]
    assert mig.detect({"f3": "x"}, "s") == "3.0.0"
    assert mig.migrate({"f1": "v"}, "s", "3.0.0") == {"f3": "v"}


# ---- properties -------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
_legacy_events = st.fixed_dictionaries(
    {
        "customerId": _text,
        "interactionId": _text,
        "agentEmail": _text.filter(bool),
    },
    optional={
        "callDuration": st.integers(min_value=0, max_value=10**9),
        "eventType": st.just("interaction.completed"),
        "note": _text,
    },
)
_shared = Migrator(REPO / "schemas", REPO / "rules")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event=_legacy_events, target=st.sampled_from(["2.0.0", "2.1.0", "3.0.0"]))
def test_any_legacy_event_goes_up_valid_and_comes_back(event: dict, target: str) -> None:
    up = _shared.migrate(event, SUBJECT, target, from_version="1.0.0")
    assert _shared.registry.validator(SUBJECT, target).is_valid(up)
    assert _shared.migrate(up, SUBJECT, "1.0.0", from_version=target) == event
