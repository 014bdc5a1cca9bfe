"""The rule sets shipped in rules/: every sample of every version reaches every other version
valid, and the lossless pairs come back unchanged.

Which pairs are lossless (there and back returns the original event):
- interaction.completed 1.0.0 <-> 2.0.0 <-> 2.1.0: renames and pass-through (open content
  models keep 2.1.0's extra fields in 2.0.0 and 1.0.0), so every pair among them;
- interaction.completed 2.1.0 -> 3.0.0 -> 2.1.0 (and from 1.0.0/2.0.0 via 3.0.0) for channels
  already spelled as 3.0.0's lower-case enumeration;
- agent.session 1.0.0 <-> 2.0.0 for CXone's canonical strings ("True"/"False", plain integers).
Lossy, by design: interaction.completed 3.0.0 -> any 2.x/1.0.0 drops agent.email and
agent.name (no place for them) and truncates sub-second durations to whole seconds.
"""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import Any

import orjson
import pytest

from evolvekit.errors import MappingError
from evolvekit.mapping.migrate import Migrator
from evolvekit.mapping.ruleset import RuleSet

REPO = Path(__file__).resolve().parents[2]
SUBJECTS = {
    "interaction.completed": ["1.0.0", "2.0.0", "2.1.0", "3.0.0"],
    "agent.session": ["1.0.0", "2.0.0"],
}
LOSSY_FROM = {("interaction.completed", "3.0.0")}


@pytest.fixture(scope="module")
def migrator() -> Migrator:
    return Migrator(REPO / "schemas", REPO / "rules")


def _samples(subject: str, version: str) -> list[dict[str, Any]]:
    path = REPO / "schemas" / subject / "examples" / f"{version}.jsonl"
    return [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]


PAIRS = [
    (subject, src, dst)
    for subject, versions in SUBJECTS.items()
    for src, dst in itertools.permutations(versions, 2)
]


def test_registry_versions_match_the_rules(migrator: Migrator) -> None:
    for subject, versions in SUBJECTS.items():
        assert migrator.versions(subject) == versions


def test_every_adjacent_pair_has_a_rule_file_both_ways() -> None:
    for subject, versions in SUBJECTS.items():
        for a, b in itertools.pairwise(versions):
            for src, dst in ((a, b), (b, a)):
                path = REPO / "rules" / subject / f"{src}_to_{dst}.yaml"
                ruleset = RuleSet.load(path)
                assert (ruleset.subject, ruleset.from_version, ruleset.to_version) == (
                    subject,
                    src,
                    dst,
                )


@pytest.mark.parametrize(("subject", "src", "dst"), PAIRS)
def test_samples_migrate_to_valid_events(
    migrator: Migrator, subject: str, src: str, dst: str
) -> None:
    validator = migrator.registry.validator(subject, dst)
    samples = _samples(subject, src)
    assert samples
    for event in samples:
        before = copy.deepcopy(event)
        out = migrator.migrate(event, subject, dst, from_version=src)
        assert validator.errors(out) == [], (event, out)
        assert event == before  # the broadcaster migrates one event to several versions
        detected = migrator.migrate(event, subject, dst)  # source version detected
        assert detected == out and detected is not out


@pytest.mark.parametrize(("subject", "src", "dst"), PAIRS)
def test_round_trips(migrator: Migrator, subject: str, src: str, dst: str) -> None:
    for event in _samples(subject, src):
        there = migrator.migrate(event, subject, dst, from_version=src)
        back = migrator.migrate(there, subject, src, from_version=dst)
        lossy = (subject, src) in LOSSY_FROM  # the first leg drops data
        if not lossy:
            assert back == event
        # Lossy or not, coming back lands on a valid event of the original version.
        assert migrator.registry.validator(subject, src).errors(back) == []


def test_the_lossy_direction_really_loses(migrator: Migrator) -> None:
    subject = "interaction.completed"
    first = _samples(subject, "3.0.0")[0]
    assert first["agent"].get("name")
    back = migrator.migrate(
        migrator.migrate(first, subject, "2.1.0", from_version="3.0.0"),
        subject,
        "3.0.0",
        from_version="2.1.0",
    )
    assert back["agent"] == {"id": first["agent"]["id"]}


def test_sub_second_durations_truncate_to_whole_seconds(migrator: Migrator) -> None:
    event = _samples("interaction.completed", "3.0.0")[1]
    assert event["durationMs"] == 431500
    out = migrator.migrate(event, "interaction.completed", "2.1.0", from_version="3.0.0")
    assert out["durationSeconds"] == 431


def test_channel_spellings_normalise_and_unknown_ones_fail(migrator: Migrator) -> None:
    subject = "interaction.completed"
    event = dict(_samples(subject, "2.1.0")[0], channel=" Phone ")
    assert migrator.migrate(event, subject, "3.0.0", from_version="2.1.0")["channel"] == "voice"
    with pytest.raises(MappingError) as err:
        migrator.migrate(dict(event, channel="pigeon"), subject, "3.0.0", from_version="2.1.0")
    assert err.value.transform == "map"
    assert err.value.file is not None and err.value.file.endswith("2.1.0_to_3.0.0.yaml")


def test_agent_session_types_round_trip_exactly(migrator: Migrator) -> None:
    event = _samples("agent.session", "1.0.0")[0]
    typed = migrator.migrate(event, "agent.session", "2.0.0")
    assert typed["agentId"] == 1234 and typed["isActive"] is True
    assert typed["skills"][0] == {"id": 4021, "name": "Billing EN", "outbound": False}
    assert "Skills" not in typed
    back = migrator.migrate(typed, "agent.session", "1.0.0")
    assert back["IsActive"] == "True" and back["Skills"][0]["IsOutbound"] == "False"
