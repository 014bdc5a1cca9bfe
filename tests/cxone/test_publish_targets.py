"""`evolvekit publish --target dfo|workitem --template FILE` end to end over a socket."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from evolvekit.cli.main import main
from evolvekit.cxone.config import ENV_VARS
from evolvekit.cxone.simulator import SimulatorServer, create_app

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def no_cxone_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)


def shipped_events() -> Path:
    return ROOT / "schemas" / "interaction.completed" / "examples" / "3.0.0.jsonl"


@pytest.mark.parametrize("target", ["dfo", "workitem"])
def test_publish_twice_with_a_template_stores_each_key_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], target: str
) -> None:
    app = create_app()
    template = ROOT / "templates" / "cxone" / "interaction.completed.yaml"
    events = [orjson.loads(line) for line in shipped_events().read_bytes().splitlines()]
    with SimulatorServer(app) as server:
        for _ in range(2):  # a re-run of the same file: the same keys, nothing twice
            code = main(
                [
                    "publish",
                    str(shipped_events()),
                    "--base-url",
                    server.base_url,
                    "--target",
                    target,
                    "--template",
                    str(template),
                    "--key-field",
                    "interactionId",
                    "--data-dir",
                    str(tmp_path),
                ]
            )
            assert code == 0
    err = capsys.readouterr().err
    assert f"(target {target})" in err
    with app.state.lock:
        entries = list(app.state.entries)
    assert [e.kind for e in entries] == [target] * len(events)
    assert sorted(e.key or "" for e in entries) == sorted(e["interactionId"] for e in events)
    assert app.state.snapshot()["duplicates_ignored"] == len(events)
    first = orjson.loads(entries[0].body)
    if target == "dfo":
        assert first["thread"]["idOnExternalPlatform"] == events[0]["interactionId"]
        fields = {f["ident"]: f["value"] for f in first["contact"]["customFields"]}
        assert fields["channel"] == events[0]["channel"]
    else:
        assert first["workItemType"] == "interaction.completed"
        assert orjson.loads(first["workItemPayload"]) == events[0]


def test_a_bad_template_stops_publish_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = tmp_path / "t.yaml"
    template.write_text("thread:\n  id: '{interactionId'\n")
    code = main(
        [
            "publish",
            str(shipped_events()),
            "--target",
            "dfo",
            "--template",
            str(template),
            "--data-dir",
            str(tmp_path),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert f"{template}:2:7: thread.id: unbalanced '{{'" in err
