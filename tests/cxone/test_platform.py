"""The real platform's shapes against the simulator's cxone profile: targets dfo and
workitem, the refresh and access-key grants, 429 without Retry-After, CorrelationId."""

from __future__ import annotations

import logging
import random

import httpx
import orjson
import pytest

from evolvekit.cxone.client import CXoneClient
from evolvekit.cxone.config import SIMULATOR_ACCESS_KEY_SECRET, SIMULATOR_CLIENT_SECRET, CXoneConfig
from evolvekit.cxone.platform_auth import PlatformTokenProvider
from evolvekit.cxone.retry import backoff_delay
from evolvekit.cxone.simulator import SimulatorApp, create_app

from .conftest import SIM_URL, SleepRecorder


def platform_config(**changes: object) -> CXoneConfig:
    settings: dict[str, object] = {
        "backoff_base": 0.0,
        "rate_limit_initial": 5000.0,
        "rate_limit_max": 5000.0,
        **changes,
    }
    return CXoneConfig.for_simulator(SIM_URL, profile="cxone").replace(**settings)


def platform_client(app: SimulatorApp, config: CXoneConfig, **kwargs: object) -> CXoneClient:
    kwargs.setdefault("sleep", SleepRecorder())
    return CXoneClient(config, transport=httpx.ASGITransport(app=app), **kwargs)  # type: ignore[arg-type]


async def test_dfo_is_the_cxone_default_and_keys_travel_as_id_on_external_platform() -> None:
    app = create_app("cxone")
    config = platform_config()
    assert config.resolved_target == "dfo"
    async with platform_client(app, config) as cx:
        first = await cx.publish({"n": 1}, idempotency_key="k-1")
        again = await cx.publish({"n": 1}, idempotency_key="k-1")  # a retry after a restart
    assert first.http_status == 201 and again.http_status == 200
    assert again.response == first.response
    [message] = app.state.events("dfo")
    assert message["idOnExternalPlatform"] == "k-1"
    assert orjson.loads(message["messageContent"]["payload"]["text"]) == {"n": 1}
    assert first.correlation_id and len(first.correlation_id) == 32


async def test_work_items_carry_the_key_as_work_item_id() -> None:
    app = create_app("cxone")
    async with platform_client(app, platform_config(target="workitem")) as cx:
        results = await cx.publish_many([{"n": 1}, {"n": 2}], keys=["w-1", "w-2"])
        repeat = await cx.publish({"n": 1}, idempotency_key="w-1")
    assert [r.http_status for r in results] == [202, 202] and repeat.http_status == 200
    assert repeat.response == results[0].response and "contactId" in repeat.response
    items = app.state.events("workitem")
    assert [i["workItemID"] for i in items] == ["w-1", "w-2"]
    assert items[0]["pointOfContact"] == config_poc()


def config_poc() -> str:
    return str(platform_config().workitem_point_of_contact)


async def test_a_dfo_refusal_is_one_line_with_field_code_and_correlation_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app("cxone")
    caplog.set_level(logging.INFO, logger="evolvekit.cxone")
    async with platform_client(app, platform_config(dfo_channel_id="no-such-channel")) as cx:
        [result] = await cx.publish_many([{"n": 1}])
    assert result.status == "failed" and result.http_status == 404
    assert "channelId: channel no-such-channel not found (NotFound)" in (result.error or "")
    assert f"[CorrelationId {result.correlation_id}]" in (result.error or "")
    assert "\n" not in (result.error or "")


async def test_correlation_id_is_logged_for_failed_requests_and_no_secret_is(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app("cxone", faults="503,429")
    caplog.set_level(logging.DEBUG)
    async with platform_client(app, platform_config()) as cx:
        result = await cx.publish({"n": 1})
    assert result.ok and result.attempts == 3
    failures = [r.getMessage() for r in caplog.records if "answered HTTP" in r.getMessage()]
    assert len(failures) == 2
    assert all("CorrelationId " in line and "CorrelationId none" not in line for line in failures)
    assert "HTTP 503" in failures[0] and "HTTP 429" in failures[1]
    everything = caplog.text
    for secret in (SIMULATOR_CLIENT_SECRET, SIMULATOR_ACCESS_KEY_SECRET, "Bearer", "eyJ"):
        assert secret not in everything


async def test_429_without_retry_after_backs_off_exponentially_with_jitter() -> None:
    app = create_app("cxone", faults="429x4")
    sleeps = SleepRecorder()
    config = platform_config(backoff_base=0.5, backoff_cap=30.0)
    async with platform_client(app, config, sleep=sleeps, rng=random.Random(7)) as cx:
        result = await cx.publish({"n": 1})
    expected_rng = random.Random(7)
    assert result.ok and result.throttled == 4
    assert sleeps.waits == [backoff_delay(n, 0.5, 30.0, expected_rng) for n in range(1, 5)]
    assert all(0 <= wait <= 0.5 * 2**n for n, wait in enumerate(sleeps.waits, start=1))


async def test_the_rate_limit_429_can_come_without_retry_after() -> None:
    app = create_app("cxone", rate_limit=1, retry_after="none")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SIM_URL) as h:
        token = (
            await h.post(
                "/auth/token",
                auth=("c", "s"),
                data={"grant_type": "password", "username": "u", "password": "p"},
            )
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        url = "/dfo/3.0/channels/chat_evolvekit_sim/messages"
        answers = [await h.post(url, json={}, headers=headers) for _ in range(2)]
    assert answers[0].status_code == 400  # passed the limit, refused as a bad message
    assert answers[1].status_code == 429 and "retry-after" not in answers[1].headers


@pytest.mark.parametrize("profile", ["tutorial", "cxone"])
@pytest.mark.parametrize("limit_headers", [True, False])
async def test_every_target_states_the_rate_limit_unless_told_not_to(
    profile: str, limit_headers: bool
) -> None:
    app = create_app(profile, rate_limit=100, limit_headers=limit_headers)
    stated: dict[str, tuple[str | None, str | None]] = {}
    for target in ("events", "dfo", "workitem"):
        config = CXoneConfig.for_simulator(SIM_URL, profile=profile, target=target)
        async with platform_client(app, config) as cx:
            [result] = await cx.publish_many([{"n": target}], keys=[f"k-{target}"])
        assert result.ok, result.error
        # the client learned (or did not learn) the limit from the answer
        stated[target] = (
            None if cx.limiter.advertised is None else f"{cx.limiter.advertised:g}",
            result.correlation_id,
        )
    expected_limit = "100" if limit_headers else None
    assert {t: limit for t, (limit, _) in stated.items()} == dict.fromkeys(stated, expected_limit)
    # CorrelationId is the platform's (profile cxone); the tutorial's API has none
    assert all((cid is not None) == (profile == "cxone") for _, cid in stated.values())


async def test_token_expiry_mid_batch_uses_the_refresh_grant() -> None:
    now = [0.0]
    app = create_app("cxone", token_ttl=100.0, clock=lambda: now[0])
    async with platform_client(app, platform_config(token_skew_seconds=10.0)) as cx:
        assert isinstance(cx.tokens, PlatformTokenProvider)
        cx.tokens._clock = lambda: now[0]  # type: ignore[attr-defined]
        first = await cx.publish_many([{"n": i} for i in range(5)])
        now[0] = 95.0  # within the skew: renewed ahead of expiry, with the refresh token
        second = await cx.publish_many([{"n": i} for i in range(5, 10)])
        now[0] = 500.0  # long expired at the simulator too: refreshed again
        third = await cx.publish_many([{"n": i} for i in range(10, 15)])
        claims = cx.tokens.claims
    assert all(r.ok for r in first + second + third)
    grants = app.state.snapshot()["grants"]
    assert grants == {"password": 1, "refresh_token": 2, "access_key": 0, "client_credentials": 0}
    assert {"tenantId", "icBUId", "icClusterId"} <= set(claims)
    assert len(app.state.events("dfo")) == 15


async def test_a_refused_refresh_token_falls_back_to_a_new_password_grant() -> None:
    now = [0.0]
    app = create_app("cxone", token_ttl=100.0, clock=lambda: now[0])
    async with platform_client(app, platform_config()) as cx:
        cx.tokens._clock = lambda: now[0]  # type: ignore[attr-defined]
        assert (await cx.publish({"n": 1})).ok
        with app.state.lock:
            app.state.refresh_tokens.clear()  # the platform forgot it (revoked, restarted)
        now[0] = 200.0
        assert (await cx.publish({"n": 2})).ok
    assert app.state.snapshot()["grants"]["password"] == 2


async def test_the_access_key_flow() -> None:
    app = create_app("cxone")
    config = platform_config(auth_mode="cxone_access_key", client_id=None, client_secret=None)
    async with platform_client(app, config.replace(base_url=None)) as cx:
        assert (await cx.publish({"n": 1})).ok
        assert await cx.api_base() == SIM_URL  # discovered from the token's tenant
    assert app.state.snapshot()["grants"]["access_key"] == 1


async def test_dry_run_checks_and_stores_nothing() -> None:
    app = create_app("cxone")
    async with platform_client(app, platform_config()) as cx:
        result = await cx.publish({"n": 1}, dry_run=True)
    assert result.ok and result.response == {"dryRun": True, "status": "valid"}
    assert app.state.entries == []


async def test_inspection_names_path_and_key_for_every_target() -> None:
    app = create_app("cxone")
    for target in ("events", "dfo", "workitem"):
        async with platform_client(app, platform_config(target=target)) as cx:
            await cx.publish({"t": target}, idempotency_key=f"key-{target}")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=SIM_URL) as h:
        entries = (await h.get("/_simulator/events")).json()
    assert [(e["target"], e["key"]) for e in entries] == [
        ("events", "key-events"),
        ("dfo", "key-dfo"),
        ("workitem", "key-workitem"),
    ]
    assert entries[0]["path"] == "/api/v2/events"
    assert entries[1]["path"] == "/dfo/3.0/channels/chat_evolvekit_sim/messages"
    assert entries[2]["path"] == "/inContactAPI/services/v30.0/interactions/work-items"
