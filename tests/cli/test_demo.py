"""``evolvekit demo`` walks the shipped registry and exits 0."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from evolvekit.cli import demo
from evolvekit.cli.main import main

REPO = Path(__file__).resolve().parents[2]


def _section(out: str, title: str) -> str:
    """The text of one demo section (from its title to the next section rule)."""
    start = out.index(f"== {title}\n")
    body = out[start:].split("\n", 2)[2]
    end = re.search(r"^={20,}$", body, re.M)
    return body[: end.start()] if end else body


def test_demo_walks_the_shipped_registry(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVOLVEKIT_HOME", raising=False)
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "\x1b[" not in out  # not a TTY: no colour
    for title in ("Schema registry", "Registry check (evolvekit check)", "Demo finished"):
        assert f"== {title}\n" in out
    # The tutorial's migration, 1.0.0 -> 2.0.0: agentId becomes required, agentEmail goes.
    tutorial = _section(out, "interaction.completed: 1.0.0 -> 2.0.0")
    breaking = tutorial.split("caution (")[0]
    assert "breaking (" in breaking
    assert re.search(
        r"required_property_added_to_open_content_model\s+#/properties/agentId", breaking
    )
    assert re.search(
        r"property_removed_from_open_content_model\s+#/properties/agentEmail", tutorial
    )
    assert re.search(r"agentEmail -> \S*agentId \(similarity 0\.\d\d\)", tutorial)
    assert "backward: INCOMPATIBLE" in tutorial
    # The mode printed is the one subject.yaml sets (none), and it says where it came from.
    assert "(mode none from subject.yaml" in tutorial.splitlines()[0]
    assert "mode backward" not in tutorial
    assert "why: agentId was added as required" in tutorial
    # Every consecutive pair of every subject gets a section.
    assert "== interaction.completed: 2.1.0 -> 3.0.0\n" in out
    assert "== agent.session: 1.0.0 -> 2.0.0\n" in out
    check = _section(out, "Registry check (evolvekit check)")
    assert check.split()[:5] == ["subject", "compared", "mode", "verdict", "breaking"]
    assert "interaction.completed" in check and "agent.session" in check
    assert re.search(r"\d+ checked, 0 violation\(s\)", check)


def test_demo_runs_from_an_installed_copy_outside_the_repository(tmp_path: Path) -> None:
    # What a non-editable install holds: the package with the examples inside it
    # (pyproject's force-include), run from a folder with no schemas/ above it.
    site = tmp_path / "site"
    package = site / "evolvekit"
    ignore = shutil.ignore_patterns("__pycache__", "_examples")
    shutil.copytree(REPO / "evolvekit", package, ignore=ignore)
    for folder in ("schemas", "rules"):
        shutil.copytree(REPO / folder, package / "_examples" / folder)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CXONE_", "EVOLVEKIT_"))}
    env["PYTHONPATH"] = str(site)  # ahead of the editable install's path
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "evolvekit", "demo"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert time.monotonic() - started < 30
    assert f"folder: {package / '_examples' / 'schemas'} (packaged)" in done.stdout
    assert "== interaction.completed: 1.0.0 -> 2.0.0\n" in done.stdout
    assert "every accepted event accounted for: 11 of 11" in done.stdout
    assert "Traceback" not in done.stderr


def test_demo_reports_a_failing_registry(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    subject = tmp_path / "schemas" / "orders"
    subject.mkdir(parents=True)
    (subject / "1.0.0.json").write_text('{"type": "number"}', encoding="utf-8")
    (subject / "2.0.0.json").write_text('{"type": "integer"}', encoding="utf-8")
    assert main(["demo", "--schemas", str(tmp_path / "schemas")]) == 1
    out = capsys.readouterr().out
    assert "type_narrowed" in out
    assert "Demo finished with problems" in out and "check failed for orders" in out


def test_schema_steps_come_first_in_order() -> None:
    # Later stages append their own steps; the schema walk opens the demo.
    names = [step.__name__ for step in demo.STEPS]
    assert names[:3] == ["step_registry", "step_diffs", "step_check"]


def test_the_service_walk_is_the_last_step() -> None:
    assert demo.STEPS[-1].__name__ == "step_pipeline"


def test_demo_runs_the_service_end_to_end(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVOLVEKIT_HOME", raising=False)
    for name in ("CXONE_BASE_URL", "CXONE_CLIENT_ID", "CXONE_CLIENT_SECRET", "CXONE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    started = time.monotonic()
    assert main(["demo"]) == 0
    assert time.monotonic() - started < 30
    out = capsys.readouterr().out
    service = _section(out, "Pipeline service (in-process, simulated CXone)")
    assert "built-in CXone simulator at http://127.0.0.1:" in service
    assert "target      interaction.completed@3.0.0" in service
    posted = _section(out, "Posting legacy events to /ingest")
    assert re.search(r"the same event again \(Studio retries\)\s+-> 202 id 1 \(duplicate\)", posted)
    assert re.search(r"\.\.\. retried with the same key\s+-> 202 id \d+ \(duplicate\)", posted)
    assert re.search(r"malformed JSON\s+-> 400\s+malformed_json", posted)
    # a long answer is wrapped under its request, never cut
    assert "send application/json or\n      application/x-www-form-urlencoded" in posted
    assert re.search(r"wrong content type\s+-> 415", posted)
    # Each consumer receives every published event, in its own version.
    legacy = _section(out, "Consumer pinned to interaction.completed@1.0.0")
    current = _section(out, "Consumer pinned to interaction.completed@3.0.0")
    assert legacy.count("seq ") == current.count("seq ") == 8
    assert '"agentEmail":"lee.chan@company.com"' in legacy and '"agent":' not in legacy
    assert '"agent":{"id":"lee.chan@company.com"}' in current
    assert '"channel":"voice"' in current  # "Phone" normalised by the 2.1.0 -> 3.0.0 rules
    stored = _section(out, "What the simulated CXone stored")
    assert stored.count('"interactionId"') == 8
    assert "8 entries at POST /api/v2/events" in stored
    keys = re.findall(r"^  (evolvekit-\w+-\d+)  \{", stored, re.MULTILINE)
    assert len(set(keys)) == 8  # each under its own idempotency key
    assert re.search(r'"stored":8,"duplicates_ignored":[1-9]', stored)  # a dropped answer
    dead = _section(out, "Dead letters (evolvekit deadletters list)")
    assert "stage migrate" in dead and "'fax' is not in the table" in dead
    assert "stage detect" in dead and "matches no registered version" in dead
    assert "stage subject" in dead and "call.abandoned" in dead
    summary = _section(out, "Summary")
    assert re.search(r"accepted\s+11\n", summary) and re.search(r"duplicates\s+2\n", summary)
    assert re.search(r"published\s+8\n", summary) and re.search(r"dead_lettered\s+3\n", summary)
    assert "every accepted event accounted for: 11 of 11" in summary
    assert "Demo finished with problems" not in out
