"""`evolvekit cxone verify`: publish, read back, and find what did not arrive."""

from __future__ import annotations

from pathlib import Path

import httpx
import orjson
import pytest

from evolvekit.cli.main import main
from evolvekit.cxone.client import CXoneClient
from evolvekit.cxone.config import ENV_VARS, CXoneConfig
from evolvekit.cxone.simulator import SimulatorServer, create_app
from evolvekit.cxone.verify import Verifier, differing_fields

from .conftest import SIM_URL, SleepRecorder

EVENTS = [{"id": n, "name": f"event {n}"} for n in range(1, 6)]


@pytest.fixture(autouse=True)
def no_cxone_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)


def write_events(path: Path) -> Path:
    path.write_bytes(b"\n".join(orjson.dumps(e) for e in EVENTS) + b"\n")
    return path


@pytest.mark.parametrize(
    ("target", "via"),
    [("dfo", "list"), ("dfo", "extraction"), ("workitem", "extraction"), ("events", "list")],
)
async def test_verify_finds_the_lost_event(target: str, via: str) -> None:
    # The third write is acknowledged but never stored: a lost write.
    app = create_app("cxone", faults="latency=0,latency=0,lose", extraction_spacing=0)
    config = CXoneConfig.for_simulator(SIM_URL, profile="cxone", target=target)
    sleeps = SleepRecorder()
    async with CXoneClient(config, transport=httpx.ASGITransport(app=app), sleep=sleeps) as cx:
        verifier = Verifier(cx, via=via, poll_interval=0.0, sleep=sleeps)  # type: ignore[arg-type]
        report = await verifier.run(EVENTS, [f"k-{e['id']}" for e in EVENTS], concurrency=1)
    assert report.published == 5 and report.not_published == []
    assert report.arrived == [1, 2, 4, 5]
    assert [line for line, _key in report.missing] == [3]
    if target != "events":
        assert report.missing == [(3, "k-3")]
    assert not report.ok


async def test_verify_names_fields_that_differ() -> None:
    app = create_app("cxone")
    config = CXoneConfig.for_simulator(SIM_URL, profile="cxone")
    async with CXoneClient(config, transport=httpx.ASGITransport(app=app)) as cx:
        verifier = Verifier(cx)
        original = verifier.read_back

        async def tampered() -> list[object]:
            stored = await original()
            stored[0]["messageContent"]["payload"]["text"] = "changed"  # type: ignore[index]
            return stored

        verifier.read_back = tampered  # type: ignore[method-assign]
        report = await verifier.run(EVENTS[:2], ["a", "b"])
    assert report.differs == [(1, "a", ["/messageContent/payload/text"])]
    assert report.arrived == [2]


def test_differing_fields() -> None:
    assert differing_fields({"a": 1, "b": {"c": 2}}, {"a": 1, "b": {"c": 3}, "d": 0}) == [
        "/b/c",
        "/d",
    ]
    assert differing_fields([1], [1]) == []


def test_the_command_reports_missing_lines(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = write_events(tmp_path / "e.jsonl")
    app = create_app("cxone", faults="latency=0,lose", extraction_spacing=0)
    with SimulatorServer(app) as server:
        code = main(
            [
                "cxone",
                "verify",
                str(events),
                "--base-url",
                server.base_url,
                "--key-field",
                "id",
                "--concurrency",
                "1",
            ]
        )
    out = capsys.readouterr().out
    assert code == 1
    assert "verify (target dfo): 5 events, published 5, arrived 4, missing 1, differ 0" in out
    assert "  line 2: missing (key 2)" in out


def test_the_command_on_the_built_in_simulator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    events = write_events(tmp_path / "e.jsonl")
    assert main(["cxone", "verify", str(events), "--target", "workitem"]) == 0
    assert "arrived 5, missing 0, differ 0" in capsys.readouterr().out
