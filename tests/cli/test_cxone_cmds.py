from __future__ import annotations

import socket
from pathlib import Path

import orjson
import pytest

from evolvekit.cli.main import main
from evolvekit.cxone.config import ENV_VARS
from evolvekit.cxone.simulator import SimulatorServer, create_app
from evolvekit.store import Store


@pytest.fixture(autouse=True)
def no_cxone_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)


def write_events(path: Path, events: list[object]) -> Path:
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in events) + b"\n")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_publish_to_a_simulator_it_starts_itself(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = write_events(tmp_path / "events.jsonl", [{"n": i} for i in range(5)])
    code = main(["publish", str(events), "--data-dir", str(tmp_path / "data")])
    out, err = capsys.readouterr()
    assert code == 0
    assert "started the built-in simulator" in err
    assert "published 5, retried 0, throttled 0, sent to outbox 0, failed 0 (of 5)" in out


def test_publish_with_key_field_to_a_running_simulator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app()
    events = write_events(
        tmp_path / "e.jsonl", [{"meta": {"id": "a"}}, {"meta": {"id": "b"}}, {"meta": {"id": "a"}}]
    )
    with SimulatorServer(app) as server:
        code = main(
            [
                "publish",
                str(events),
                "--base-url",
                server.base_url,
                "--key-field",
                "meta.id",
                "--concurrency",
                "1",
                "--data-dir",
                str(tmp_path),
            ]
        )
    assert code == 0
    assert "assuming a simulator" in capsys.readouterr().err
    stats = app.state.snapshot()
    assert stats["stored"] == 2 and stats["duplicates_ignored"] == 1


def test_publish_and_the_simulator_agree_on_throttled(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 14: ``publish`` said ``throttled 2`` where the simulator said ``throttled: 0``."""
    app = create_app(faults="429x2")
    events = write_events(tmp_path / "e.jsonl", [{"n": 1}, {"n": 2}])
    with SimulatorServer(app) as server:
        code = main(["publish", str(events), "--base-url", server.base_url, "--concurrency",
                     "1", "--data-dir", str(tmp_path)])  # fmt: skip
    assert code == 0
    assert "published 2, retried 1, throttled 2, sent to outbox 0, failed 0 (of 2)" in (
        capsys.readouterr().out
    )
    stats = app.state.snapshot()
    assert stats["throttled"] == stats["throttled_by_fault"] == 2
    assert stats["throttled_by_rate_limit"] == 0 and stats["stored"] == 2


def test_outbox_when_cxone_is_down_then_retry_outbox(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    port = free_port()
    events = write_events(tmp_path / "e.jsonl", [{"n": 1}, {"n": 2}])
    data = tmp_path / "data"
    # Nobody listens yet: every event ends in the outbox, nothing is lost.
    code = main(
        [
            "publish",
            str(events),
            "--base-url",
            f"http://127.0.0.1:{port}",
            "--data-dir",
            str(data),
            "--max-attempts",
            "1",
        ]
    )
    out, err = capsys.readouterr()
    assert code == 1 and "sent to outbox 2" in out and "--retry-outbox" in err
    with Store(data) as store:
        assert store.outbox_size() == 2

    app = create_app()
    with SimulatorServer(app, port=port):
        code = main(
            [
                "publish",
                "--retry-outbox",
                "--base-url",
                f"http://127.0.0.1:{port}",
                "--data-dir",
                str(data),
            ]
        )
    assert code == 0
    out = capsys.readouterr().out
    assert "outbox: 2 due, 2 published, 0 refused (now dead letters), 0 remaining" in out
    assert sorted(e["n"] for e in app.state.events()) == [1, 2]


def test_bad_input_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"n": 1}\n{"n": \n')
    assert main(["publish", str(bad)]) == 2
    assert f"{bad}:2" in capsys.readouterr().err
    good = write_events(tmp_path / "g.jsonl", [{"n": 1}])
    assert main(["publish", str(good), "--key-field", "id"]) == 2
    assert "no usable idempotency key at 'id'" in capsys.readouterr().err
    assert main(["publish"]) == 2
    assert main(["publish", str(tmp_path / "missing.jsonl")]) == 2
    assert main(["publish", str(good), "--concurrency", "0"]) == 2


def test_retry_outbox_never_empties_into_a_throwaway_simulator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Store(tmp_path) as store:
        store.outbox_put({"n": 1}, "k", "HTTP 503")
    assert main(["publish", "--retry-outbox", "--data-dir", str(tmp_path)]) == 2
    assert "needs a real target" in capsys.readouterr().err
    with Store(tmp_path) as store:
        assert store.outbox_size() == 1


def test_remote_url_without_credentials_names_the_variables(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_events(tmp_path / "g.jsonl", [{"n": 1}])
    code = main(
        [
            "publish",
            str(good),
            "--base-url",
            "https://api-na1.niceincontact.com",
            "--data-dir",
            str(tmp_path),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "CXONE_CLIENT_ID" in err and "CXONE_CLIENT_SECRET" in err
    assert "Traceback" not in err


def test_simulator_help_documents_the_fault_spec(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["simulator", "--help"])
    out = capsys.readouterr().out
    assert "CODExN" in out and "drop-after" in out and "expire-token" in out


def test_simulator_rejects_a_bad_spec_before_listening(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["simulator", "--port", "0", "--faults", "429x3,explode"]) == 2
    assert "'explode' is not understood" in capsys.readouterr().err


def test_simulator_serves(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}

    def fake_run(app: object, **kwargs: object) -> None:
        seen.update(kwargs, app=app)

    monkeypatch.setattr("uvicorn.run", fake_run)
    assert (
        main(
            [
                "simulator",
                "--port",
                "9999",
                "--profile",
                "cxone",
                "--rate-limit",
                "5",
                "--faults",
                "503",
                "--no-limit-headers",
            ]
        )
        == 0
    )
    assert seen["port"] == 9999
    app = seen["app"]
    assert app.state.profile == "cxone" and app.state.rate_limit == 5  # type: ignore[attr-defined]
    assert len(app.state.faults) == 1  # type: ignore[attr-defined]
    assert app.state.limit_headers is False  # type: ignore[attr-defined]


def test_retry_outbox_turns_refused_events_into_dead_letters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Store(tmp_path) as store:
        store.outbox_put({"n": 1}, "k", "HTTP 503")
    with SimulatorServer(create_app(faults="422")) as server:
        code = main(
            [
                "publish",
                "--retry-outbox",
                "--base-url",
                server.base_url,
                "--data-dir",
                str(tmp_path),
            ]
        )
    assert code == 1
    assert (
        "1 due, 0 published, 1 refused (now dead letters), 0 remaining" in capsys.readouterr().out
    )
    with Store(tmp_path) as store:
        assert store.outbox_size() == 0
        assert [d["event"] for d in store.dead_letters(stage="publish")] == [{"n": 1}]


def test_publish_refuses_events_over_max_event_bytes_like_the_service(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    huge = {"n": 2, "blob": "x" * 40_000}  # over the service's 32 KiB per event
    events = write_events(tmp_path / "e.jsonl", [{"n": 1}, huge, {"n": 3}])
    data = tmp_path / "data"
    code = main(["publish", str(events), "--data-dir", str(data)])
    out, err = capsys.readouterr()
    assert code == 1
    assert "line 2: 40" in err and "over max_event_bytes 32768; not sent" in err
    assert "published 2, " in out and "(of 2)" in out  # the others did go
    with Store(data) as store:
        [letter] = store.dead_letters()
    assert letter["stage"] == "publish" and letter["event"] == huge
    bigger_limit = main(
        ["publish", str(events), "--data-dir", str(data), "--max-event-bytes", "100000"]
    )
    assert bigger_limit == 0
