"""`evolvekit cxone doctor`: one failing step at a time, with the asserted text."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import httpx
import orjson
import pytest

from evolvekit.cli.main import main
from evolvekit.cxone.config import ENV_VARS, CXoneConfig
from evolvekit.cxone.doctor import Doctor, DoctorReport
from evolvekit.cxone.sim_tokens import SimTokens
from evolvekit.cxone.simulator import SimulatorApp, SimulatorServer, create_app

from .conftest import SIM_URL


@pytest.fixture(autouse=True)
def no_cxone_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)


def platform(**changes: object) -> CXoneConfig:
    return CXoneConfig.for_simulator(SIM_URL, profile="cxone").replace(**changes)


async def doctor(app: SimulatorApp, config: CXoneConfig, **kwargs: object) -> DoctorReport:
    transport = httpx.ASGITransport(app=app)
    return await Doctor(config, environ={}, transport=transport, **kwargs).run()  # type: ignore[arg-type]


def lines(report: DoctorReport) -> list[str]:
    return report.render().splitlines()


def outcomes(report: DoctorReport) -> list[str]:
    return [c.outcome for c in report.checks]


async def test_every_check_passes_against_the_simulator() -> None:
    report = await doctor(create_app("cxone"), platform())
    assert report.ok and outcomes(report) == ["ok"] * 6
    text = report.render()
    assert "[ok  ] 4. claims: tenantId=11111111-2222-3333-4444-555555555555" in text
    assert "accepted a dry request (HTTP 200)" in text and text.endswith("all checks passed")


async def test_missing_variables_are_named_and_nothing_else_runs() -> None:
    config = CXoneConfig(auth_mode="cxone_password", base_url=SIM_URL, client_id="app")
    report = await doctor(create_app("cxone"), config)
    assert outcomes(report) == ["FAIL"] + ["skip"] * 5
    assert lines(report)[1] == (
        "  [FAIL] 1. variables: missing for auth mode cxone_password: CXONE_CLIENT_SECRET, "
        "CXONE_ACCESS_KEY_ID, CXONE_ACCESS_KEY_SECRET"
    )
    assert (
        "fix: set CXONE_CLIENT_SECRET, CXONE_ACCESS_KEY_ID, CXONE_ACCESS_KEY_SECRET"
        in lines(report)[2]
    )


async def test_unreachable_discovery() -> None:
    report = await doctor(create_app("tutorial"), platform())  # no OpenID document there
    assert outcomes(report) == ["ok", "FAIL", "skip", "skip", "skip", "skip"]
    assert (
        "2. discovery: OpenID discovery http://simulator.test/.well-known/openid-configuration"
        in (report.render())
    )
    assert f"fix: check CXONE_ISSUER (now {SIM_URL})" in report.render()


async def test_refused_credentials() -> None:
    app = create_app("cxone", client_secret="the-right-one")
    report = await doctor(app, platform())
    assert outcomes(report)[:3] == ["ok", "ok", "FAIL"]
    assert "3. token: token endpoint" in report.render()
    assert "refused the credentials (HTTP 401)" in report.render()
    assert "fix: check the client id/secret and access key" in report.render()
    assert "the-right-one" not in report.render() and "simulator-secret" not in report.render()


async def test_a_token_without_a_tenant(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(SimTokens, "_jwt", lambda self, client_id: "opaque-token")
    report = await doctor(create_app("cxone"), platform())
    assert outcomes(report) == ["ok", "ok", "ok", "FAIL", "skip", "skip"]
    assert "[FAIL] 4. claims: the access token names no tenantId" in report.render()
    assert "fix: set CXONE_BASE_URL to the API host" in report.render()


async def test_an_unknown_tenant_has_no_api_host(monkeypatch: pytest.MonkeyPatch) -> None:
    original = SimTokens._jwt

    def other_tenant(self: SimTokens, client_id: str) -> str:
        token = original(self, client_id)
        header, body, sig = token.split(".")
        claims = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        claims["tenantId"] = "not-a-tenant"
        body = base64.urlsafe_b64encode(orjson.dumps(claims)).rstrip(b"=").decode()
        return f"{header}.{body}.{sig}"

    monkeypatch.setattr(SimTokens, "_jwt", other_tenant)
    report = await doctor(create_app("cxone"), platform(base_url=None))
    assert outcomes(report) == ["ok", "ok", "ok", "ok", "FAIL", "skip"]
    assert "[FAIL] 5. API host: CXone discovery" in report.render()
    assert "tenantId=not-a-tenant answered HTTP 404" in report.render()


async def test_a_channel_the_tenant_does_not_have() -> None:
    report = await doctor(create_app("cxone"), platform(dfo_channel_id="nope"))
    assert outcomes(report) == ["ok"] * 5 + ["FAIL"]
    assert "[FAIL] 6. target dfo:" in report.render()
    assert "channelId: channel nope not found (NotFound)" in report.render()
    assert "fix: check CXONE_DFO_CHANNEL_ID (now nope)" in report.render()


async def test_a_real_tenant_is_not_written_to_without_asking() -> None:
    app = create_app("cxone")
    config = platform().replace(simulator=False, base_url="http://cxone.example", issuer=SIM_URL)
    transport = httpx.ASGITransport(app=app)
    quiet = await Doctor(config, environ={}, transport=transport).run()
    assert "not written to (a real tenant stores events); --write-test-event" in quiet.render()
    assert app.state.entries == []
    written = await Doctor(config, environ={}, transport=transport, write_test_event=True).run()
    assert written.ok and "accepted one test event" in written.render()
    assert len(app.state.entries) == 1


@pytest.fixture
def server() -> Iterator[SimulatorServer]:
    with SimulatorServer(create_app("cxone")) as running:
        yield running


def test_the_command_exits_0_1_and_2(
    server: SimulatorServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cxone", "doctor", "--base-url", server.base_url]) == 0
    assert "all checks passed" in capsys.readouterr().out
    assert main(["cxone", "doctor", "--base-url", server.base_url, "--dfo-channel", "x"]) == 1
    assert "[FAIL] 6. target dfo" in capsys.readouterr().out
    assert main(["cxone", "doctor"]) == 1  # nothing configured: the variables check fails
    with pytest.raises(SystemExit) as usage:
        main(["cxone", "doctor", "--target", "fax"])
    assert usage.value.code == 2
