"""Fixtures for the workbench tests: the shipped registry, and copies safe to write into."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def schemas() -> Path:
    return REPO / "schemas"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A writable copy of the shipped schemas/ and rules/."""
    shutil.copytree(REPO / "schemas", tmp_path / "schemas")
    shutil.copytree(REPO / "rules", tmp_path / "rules")
    return tmp_path


@pytest.fixture
def editor(schemas: Path) -> Iterator[Any]:
    """A RuleEditor on interaction.completed 1.0.0 -> 2.0.0 with the examples, no debounce."""
    from evolvekit.workbench import RuleEditor

    ed = RuleEditor(schemas, subject="interaction.completed", from_version="1.0.0",
                    to_version="2.0.0", debounce=0)  # fmt: skip
    ed.use_examples()
    yield ed
    ed.close()


def upload_value(name: str, content: bytes) -> tuple[dict[str, Any], ...]:
    """What an ipywidgets 8 FileUpload holds after a person picked one file."""
    return (
        {
            "name": name,
            "type": "application/json",
            "size": len(content),
            "content": memoryview(content),
            "last_modified": datetime(2024, 1, 1, tzinfo=UTC),
        },
    )


def widget_tree(widget: Any) -> Iterator[Any]:
    """``widget`` and every widget inside it."""
    yield widget
    for child in getattr(widget, "children", ()):
        yield from widget_tree(child)
