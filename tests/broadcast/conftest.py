"""Fixtures for the broadcaster tests: a small fake Migrator with the real one's methods,
and the repository's shipped schemas/rules for the tests that need the real Migrator."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evolvekit.errors import MappingError, MigrationError, RegistryError

REPO = Path(__file__).resolve().parents[2]
SHIPPED_SUBJECT = "interaction.completed"


class FakeRegistry:
    def __init__(self, versions: dict[str, list[str]]) -> None:
        self._versions = versions

    def subjects(self) -> list[str]:
        return list(self._versions)

    def versions(self, subject: str) -> list[str]:
        try:
            return list(self._versions[subject])
        except KeyError:
            raise RegistryError(f"unknown subject {subject!r}") from None


class FakeMigrator:
    """Subject ``demo``: 1.0.0 has ``agentEmail``, 2.0.0 renames it ``agentId``.
    An event with ``poison`` fails to migrate; ``calls`` counts migrations."""

    def __init__(self) -> None:
        self.registry = FakeRegistry({"demo": ["1.0.0", "2.0.0"], "other": ["1.0.0"]})
        self.calls = 0

    def versions(self, subject: str) -> list[str]:
        return self.registry.versions(subject)

    def detect(self, event: Any, subject: str) -> str:
        if "agentId" in event:
            return "2.0.0"
        if "agentEmail" in event:
            return "1.0.0"
        raise MigrationError(f"{subject}: no version accepts the event")

    def migrate(
        self, event: Any, subject: str, to_version: str, from_version: str | None = None
    ) -> dict[str, Any]:
        self.calls += 1
        source = from_version or self.detect(event, subject)
        if to_version not in self.registry.versions(subject):
            raise MigrationError(f"{subject} has no version {to_version}")
        if "poison" in event:
            raise MappingError("poisoned event", rule=0, path="poison")
        out = dict(event)
        if (source, to_version) == ("1.0.0", "2.0.0"):
            out["agentId"] = out.pop("agentEmail")
        elif (source, to_version) == ("2.0.0", "1.0.0"):
            out["agentEmail"] = out.pop("agentId")
        elif source != to_version:
            raise MigrationError(f"no route {source} -> {to_version}")
        return out


@pytest.fixture
def fake_migrator() -> FakeMigrator:
    return FakeMigrator()


def shipped_folders() -> tuple[Path, Path]:
    """``(schemas, rules)``: the repository ships interaction.completed 1.0.0..3.0.0, and a
    test that needs them fails (not skips) when they are missing."""
    schemas, rules = REPO / "schemas", REPO / "rules"
    for folder in (schemas, rules):
        if not (folder / SHIPPED_SUBJECT).is_dir():
            raise FileNotFoundError(f"{folder / SHIPPED_SUBJECT}: the shipped inputs are missing")
    return schemas, rules


@pytest.fixture
def real_migrator() -> Any:
    schemas, rules = shipped_folders()
    from evolvekit.mapping.migrate import Migrator

    return Migrator(schemas=schemas, rules=rules)
