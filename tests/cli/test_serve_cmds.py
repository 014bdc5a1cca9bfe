"""``evolvekit deadletters list|show|replay|purge`` and ``evolvekit serve`` argument errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import orjson
import pytest

from evolvekit.cli.main import main
from evolvekit.pipeline.sources import IngestLog

REPO = Path(__file__).resolve().parents[2]
SUBJECT = "interaction.completed"
FAX = {
    "eventType": SUBJECT,
    "customerId": "C1",
    "interactionId": "INT-1",
    "agentEmail": "a@x",
    "channel": "fax",
}
FINE = {"eventType": SUBJECT, "customerId": "C2", "interactionId": "INT-2", "agentEmail": "b@x"}


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    with IngestLog(data) as log:
        log.dead_letter("migrate", "map: 'fax' is not in the table", FAX, SUBJECT, "1.0.0")
        # Failed while CXone refused it; the event itself is fine.
        log.dead_letter("publish", "CXone refused the event: HTTP 422", FINE, SUBJECT, "1.0.0")
    return data


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_text_and_json(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    code, out, _ = run(capsys, "deadletters", "list", "--data-dir", str(data_dir))
    assert code == 0
    assert "migrate" in out and f"{SUBJECT}@1.0.0" in out and "'fax'" in out
    assert "2 dead letter(s)" in out
    code, out, _ = run(
        capsys, "deadletters", "list", "--data-dir", str(data_dir), "--format", "json"
    )
    records = orjson.loads(out)
    assert [r["stage"] for r in records] == ["migrate", "publish"]
    assert set(records[0]) == {"id", "at", "stage", "reason", "subject", "version", "event"}
    assert records[0]["event"] == FAX
    code, out, _ = run(
        capsys,
        "deadletters",
        "list",
        "--data-dir",
        str(data_dir),
        "--format",
        "json",
        "--stage",
        "publish",
    )
    assert [r["stage"] for r in orjson.loads(out)] == ["publish"]


def test_show(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    code, out, _ = run(capsys, "deadletters", "show", "1", "--data-dir", str(data_dir))
    assert code == 0 and "stage    migrate" in out and '"channel": "fax"' in out
    code, out, _ = run(
        capsys, "deadletters", "show", "2", "--data-dir", str(data_dir), "--format", "json"
    )
    assert orjson.loads(out)["event"] == FINE
    code, _, err = run(capsys, "deadletters", "show", "9", "--data-dir", str(data_dir))
    assert code == 2 and "no dead letter 9" in err


def test_replay_requeues_what_now_passes(
    capsys: pytest.CaptureFixture[str], data_dir: Path
) -> None:
    code, out, _ = run(capsys, "deadletters", "replay", "--data-dir", str(data_dir), "--dry-run")
    assert code == 1 and "would pass" in out and "still fails  migrate" in out
    with IngestLog(data_dir) as log:
        assert log.dead_letter_count() == 2  # a dry run changes nothing
    code, out, _ = run(capsys, "deadletters", "replay", "--data-dir", str(data_dir))
    assert code == 1
    assert "replayed 2: 1 queued for delivery, 1 still fail" in out
    with IngestLog(data_dir) as log:
        [pending] = log.pending_after(0)
        assert pending["event"] == FINE and pending["subject"] == SUBJECT
        assert [d["stage"] for d in log.dead_letters()] == ["migrate"]


def test_replay_after_fixing_the_rule(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(REPO / "rules", rules)
    rule_file = rules / SUBJECT / "2.1.0_to_3.0.0.yaml"
    text = rule_file.read_text(encoding="utf-8")
    rule_file.write_text(
        text.replace("          video: video\n", "          video: video\n          fax: voice\n"),
        encoding="utf-8",
    )
    code, out, _ = run(
        capsys,
        "deadletters",
        "replay",
        "1",
        "--data-dir",
        str(data_dir),
        "--schemas",
        str(REPO / "schemas"),
        "--rules-dir",
        str(rules),
    )
    assert code == 0, out
    assert f"passes       -> {SUBJECT}@3.0.0" in out
    with IngestLog(data_dir) as log:
        assert [r["event"] for r in log.pending_after(0)] == [FAX]
        assert [d["id"] for d in log.dead_letters()] == [2]


def test_replay_and_purge_in_json(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    argv = ("deadletters", "replay", "--data-dir", str(data_dir), "--format", "json")
    code, out, _ = run(capsys, *argv, "--dry-run")
    report = orjson.loads(out)
    assert code == 1 and report["dry_run"] is True
    assert (report["replayed"], report["passed"], report["failed"]) == (2, 1, 1)
    fails, passes = report["results"]
    assert fails["status"] == "still_fails" and fails["stage"] == "migrate"
    assert "'fax'" in fails["reason"]
    assert passes == {"id": 2, "subject": SUBJECT, "version": "3.0.0", "status": "would_pass"}
    code, out, _ = run(capsys, *argv, "--stage", "publish")
    [queued] = orjson.loads(out)["results"]
    assert code == 0 and queued["status"] == "queued" and isinstance(queued["ingest_id"], int)
    code, out, _ = run(
        capsys, "deadletters", "purge", "--all", "--data-dir", str(data_dir), "--format", "json"
    )
    assert code == 0 and orjson.loads(out) == {"dead_letters": 1}


def test_replay_unknown_id(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    code, _, err = run(capsys, "deadletters", "replay", "7", "--data-dir", str(data_dir))
    assert code == 2 and "no dead letter 7" in err


def test_purge(capsys: pytest.CaptureFixture[str], data_dir: Path) -> None:
    code, out, _ = run(
        capsys, "deadletters", "purge", "--older-than", "7d", "--data-dir", str(data_dir)
    )
    assert code == 0 and "purged 0 dead letters record(s)" in out
    code, out, _ = run(
        capsys, "deadletters", "purge", "--all", "--include-log", "--data-dir", str(data_dir)
    )
    assert code == 0 and "purged 2 dead letters record(s)" in out
    with IngestLog(data_dir) as log:
        assert log.dead_letter_count() == 0
    code, _, err = run(
        capsys, "deadletters", "purge", "--older-than", "soon", "--data-dir", str(data_dir)
    )
    assert code == 2 and "not a duration" in err


def test_no_store_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "deadletters", "list", "--data-dir", str(tmp_path / "none"))
    assert code == 2 and "no evolvekit store" in err
    assert not (tmp_path / "none").exists()  # looking does not create one


def test_data_dir_from_the_config_file(
    capsys: pytest.CaptureFixture[str], data_dir: Path, tmp_path: Path
) -> None:
    config = tmp_path / "evolvekit.toml"
    config.write_text(f'data_dir = "{data_dir}"\n', encoding="utf-8")
    code, out, _ = run(capsys, "deadletters", "list", "--config", str(config))
    assert code == 0 and "2 dead letter(s)" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--target", "nonsense"], "expected SUBJECT=VERSION"),
        (["--sinks", "kafka"], "unknown sink(s) kafka"),
        (["--config", "/nonexistent/evolvekit.toml"], "cannot read the config file"),
        (["--target", f"{SUBJECT}=9.9.9"], "no version 9.9.9"),
        (["--port", "70000"], "not a port number"),
        (["--host", "0.0.0.0"], "refusing to serve ingest on 0.0.0.0 without a token"),
    ],
)
def test_serve_refuses_bad_settings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, argv: list[str], message: str
) -> None:
    code, _, err = run(
        capsys,
        "serve",
        "--data-dir",
        str(tmp_path / "d"),
        "--port",
        "0",
        "--broadcast-port",
        "0",
        "--schemas",
        str(REPO / "schemas"),
        "--rules-dir",
        str(REPO / "rules"),
        *argv,
    )
    assert code == 2
    assert message in err and "Traceback" not in err


def test_data_dir_from_the_environment(
    capsys: pytest.CaptureFixture[str], data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EVOLVEKIT_DATA_DIR", str(data_dir))
    code, out, _ = run(capsys, "deadletters", "list")
    assert code == 0 and "2 dead letter(s)" in out
