"""The notebooks as files: committed clean, self-asserting, and leaking no credential.

nbmake (configured in pyproject.toml) runs each notebook as a test; these tests check what
nbmake cannot: the committed files hold no outputs, and an executed notebook's outputs and
saved widget state hold no secret.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbclient
import nbformat
import pytest

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = REPO / "notebooks"
EXPECTED = [
    "00_quickstart.ipynb",
    "01_explore_schema_changes.ipynb",
    "02_prototype_mapping_rules.ipynb",
    "03_test_publish_to_cxone.ipynb",
    "04_broadcast_versioned_events.ipynb",
]


def _load(name: str) -> dict[str, Any]:
    return json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_the_five_notebooks_are_there() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == EXPECTED


@pytest.mark.parametrize("name", EXPECTED)
def test_committed_without_outputs(name: str) -> None:
    notebook = _load(name)
    assert set(notebook["metadata"]) <= {"kernelspec", "language_info"}, "no saved widget state"
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            assert cell["outputs"] == [], f"{name} cell {index} has outputs"
            assert cell["execution_count"] is None, f"{name} cell {index} has an execution count"
        assert "attachments" not in cell or not cell["attachments"]


@pytest.mark.parametrize("name", EXPECTED)
def test_each_notebook_tells_a_story_and_asserts_it(name: str) -> None:
    cells = _load(name)["cells"]
    prose = [c for c in cells if c["cell_type"] == "markdown"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    assert cells[0]["cell_type"] == "markdown" and len(prose) >= 3
    asserts = sum(line.lstrip().startswith("assert ") for src in code for line in src.splitlines())
    assert asserts >= 4, f"{name} asserts only {asserts} outcomes"


def test_no_secret_reaches_outputs_or_widget_state(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run 03 (which types a tenant secret into the panel) the way a saved notebook keeps it:
    outputs plus the widget state; neither the typed secret nor a CXONE_* one may appear."""
    monkeypatch.setenv("CXONE_CLIENT_SECRET", "env-canary-5c1f")
    notebook = nbformat.read(NOTEBOOKS / "03_test_publish_to_cxone.ipynb", as_version=4)
    typed = "typed-secret"
    assert typed in "".join(c.source for c in notebook.cells)  # what the notebook types
    client = nbclient.NotebookClient(
        notebook, timeout=120, kernel_name="python3", store_widget_state=True,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )  # fmt: skip
    client.execute()
    outputs = json.dumps([c.get("outputs", []) for c in notebook.cells])
    state = json.dumps(notebook.metadata.get("widgets", {}))
    assert '"PasswordModel"' in state  # the password widgets' state was saved ...
    assert "received (hidden)" not in state  # ... after the hand-over reset the fields
    for secret in (typed, "env-canary-5c1f"):
        assert secret not in outputs, f"{secret!r} is in a cell output"
        assert secret not in state, f"{secret!r} is in the saved widget state"
    assert "Secret('****')" in outputs  # the notebook printed the config, masked
