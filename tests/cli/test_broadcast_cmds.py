"""``evolvekit broadcast`` / ``evolvekit listen`` end to end, with the shipped schemas/rules."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from evolvekit.cli.main import main

REPO = Path(__file__).resolve().parents[2]
SUBJECT = "interaction.completed"
EVENT = {
    "eventType": "interaction.completed",
    "customerId": "C1",
    "interactionId": "I1",
    "agentEmail": "a@example.com",
    "callDuration": 12,
}



def test_the_shipped_inputs_are_present() -> None:
    """These tests run the CLI on the repository's own schemas and rules: a hard requirement."""
    assert (REPO / "schemas" / SUBJECT).is_dir(), "schemas/interaction.completed is missing"
    assert (REPO / "rules" / SUBJECT).is_dir(), "rules/interaction.completed is missing"


def cli(*args: str, stdin: bytes | None = None) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "evolvekit", *args],
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env={**os.environ, "EVOLVEKIT_HOME": str(REPO)},
    )


def read_url(proc: subprocess.Popen[bytes]) -> str:
    assert proc.stderr is not None
    line = proc.stderr.readline().decode()
    match = re.search(r"on (ws://\S+)", line)
    assert match, line
    return match.group(1)


def test_broadcast_file_then_listen_with_replay(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    events = tmp_path / "events.jsonl"
    second = dict(EVENT, interactionId="I2")
    events.write_text(json.dumps(EVENT) + "\nnot json\n\n" + json.dumps(second) + "\n")
    proc = cli("broadcast", "--port", "0", "--subject", SUBJECT, str(events))
    try:
        url = read_url(proc)
        assert proc.stderr is not None
        rest = [proc.stderr.readline().decode() for _ in range(2)]
        assert re.search(r"events\.jsonl:2: not valid JSON", rest[0]), rest
        assert "2 event(s) broadcast, 1 line(s) failed" in rest[1]
        code = main(["listen", url + f"?subject={SUBJECT}&version=2.0.0", "--since", "0",
                     "--count", "2"])  # fmt: skip
        assert code == 0
        captured = capsys.readouterr()
        # stderr says where it listens before the first frame; stdout holds only frames
        assert captured.err.splitlines()[0] == (
            f"connected to {url} (subject {SUBJECT}, version 2.0.0), waiting")
        lines = [json.loads(line) for line in captured.out.splitlines()]
        assert lines[0]["control"] == "resume" and lines[0]["recovered"] is True
        assert [f["payload"]["interactionId"] for f in lines[1:]] == ["I1", "I2"]
        assert all(f["schema_version"] == "2.0.0" for f in lines[1:])
        assert lines[1]["payload"]["agentId"] == "a@example.com"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(15) == 1  # one line failed
    finally:
        proc.kill()


def test_broadcast_stdin_exit_when_done_and_detection_failure() -> None:
    data = (json.dumps(EVENT) + "\n" + json.dumps({"nothing": "matches"}) + "\n").encode()
    proc = cli("broadcast", "--port", "0", "--subject", SUBJECT, "--exit-when-done", stdin=data)
    _, err = proc.communicate(data, timeout=30)
    text = err.decode()
    assert proc.returncode == 1, text
    assert "<stdin>:2:" in text and "Traceback" not in text
    assert "1 event(s) broadcast, 1 line(s) failed" in text


def test_broadcast_sigterm_stops_cleanly(tmp_path: Path) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text(json.dumps(EVENT) + "\n")
    proc = cli("broadcast", "--port", "0", "--subject", SUBJECT, "--version", "1.0.0", str(events))
    try:
        read_url(proc)
        assert proc.stderr is not None
        assert "1 event(s) broadcast, 0 line(s) failed" in proc.stderr.readline().decode()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        proc.kill()


def test_listen_refusal_is_one_line_exit_2(capsys) -> None:  # type: ignore[no-untyped-def]
    proc = cli("broadcast", "--port", "0", "--subject", SUBJECT, "--token", "tok", stdin=b"")
    try:
        url = read_url(proc)
        assert main(["listen", url, "--no-reconnect"]) == 2
        assert "HTTP 401" in capsys.readouterr().err
        assert main(["listen", f"{url}?subject={SUBJECT}&version=8.0.0", "--token", "tok"]) == 2
        err = capsys.readouterr().err
        assert "versions on offer" in err and err.count("\n") == 1
    finally:
        proc.kill()
        proc.wait()


def two_version_workspace(tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the shipped subject with only 1.0.0 and 2.0.0 (and the rules between)."""
    import shutil

    schemas, rules = tmp_path / "schemas" / SUBJECT, tmp_path / "rules" / SUBJECT
    schemas.mkdir(parents=True)
    rules.mkdir(parents=True)
    for name in ("1.0.0.json", "2.0.0.json", "subject.yaml"):
        shutil.copy(REPO / "schemas" / SUBJECT / name, schemas / name)
    for name in ("1.0.0_to_2.0.0.yaml", "2.0.0_to_1.0.0.yaml"):
        shutil.copy(REPO / "rules" / SUBJECT / name, rules / name)
    return schemas.parent, rules.parent


def test_schemas_and_rules_dir_flags_are_used(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    schemas, rules = two_version_workspace(tmp_path)
    events = tmp_path / "e.jsonl"
    events.write_text(json.dumps(EVENT) + "\n")
    common = [
        "broadcast",
        "--port",
        "0",
        "--subject",
        SUBJECT,
        "--exit-when-done",
        "--schemas",
        str(schemas),
        "--rules-dir",
        str(rules),
    ]
    assert main([*common, "--version", "1.0.0", str(events)]) == 0
    assert main([*common, "--version", "3.0.0", str(events)]) == 2  # the shipped one has 3.0.0
    assert "versions on offer: 1.0.0, 2.0.0\n" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["broadcast", "--subject", "no.such", "--port", "0"], "unknown subject 'no.such'"),
        (["broadcast", "--subject", SUBJECT, "--version", "9.0.0"], "versions on offer"),
        (["broadcast", "--subject", SUBJECT, "--port", "0", "/no/such.jsonl"], "cannot read"),
        (["broadcast", "--subject", SUBJECT, "--port", "70000"], "port must be 0..65535"),
        (["broadcast", "--subject", SUBJECT, "--queue-size", "0"], "queue_size must be"),
        (["listen", "http://127.0.0.1:1/"], "not a ws:// or wss:// URL"),
        (["listen", "ws://127.0.0.1:1/", "--no-reconnect"], "cannot connect"),
        (["listen", "ws://127.0.0.1:1/", "--count", "0"], "--count must be at least 1"),
    ],
)
def test_bad_input_is_one_line_exit_2(argv: list[str], message: str, capsys) -> None:  # type: ignore[no-untyped-def]
    assert main([*argv, "--exit-when-done"] if argv[0] == "broadcast" else argv) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_broadcast_refuses_a_non_loopback_host_without_a_token(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EVOLVEKIT_BROADCAST_TOKENS", raising=False)
    code = main(["broadcast", "--subject", "interaction.completed", "--host", "0.0.0.0"])
    err = capsys.readouterr().err
    assert code == 2 and "refusing to serve the broadcaster on 0.0.0.0 without a token" in err
