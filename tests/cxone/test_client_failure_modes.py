"""Every failure mode of issue 4, provoked in the simulator (in-process unless a real socket
is needed), and what the client does about it.

Time is simulated: the simulator's clock, the token cache's clock and the client's sleeps
share one ``FakeTime``, so a Retry-After of an hour or a 2-second token costs no real time.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import httpx
import pytest

from evolvekit.cxone.client import CXoneClient
from evolvekit.cxone.config import CXoneConfig
from evolvekit.cxone.simulator import SimulatorApp, SimulatorServer, create_app
from evolvekit.errors import CXoneAuthError, CXonePublishError, CXoneScopeError
from evolvekit.store import Store

from .conftest import SIM_URL


class FakeTime:
    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


def client_for(
    app: SimulatorApp, config: CXoneConfig, fake_time: FakeTime, **kwargs: object
) -> CXoneClient:
    cx = CXoneClient(
        config, transport=httpx.ASGITransport(app=app), sleep=fake_time.sleep, **kwargs
    )  # type: ignore[arg-type]
    cx.tokens._clock = fake_time.clock  # type: ignore[attr-defined]
    return cx


@pytest.mark.parametrize("form", ["seconds", "date"])
async def test_429_from_the_rate_limit_waits_as_told(
    form: str, fake_time: FakeTime, fast_config: CXoneConfig
) -> None:
    app = create_app(rate_limit=2, retry_after=form, clock=fake_time.clock)  # type: ignore[arg-type]
    async with client_for(app, fast_config, fake_time) as cx:
        results = [await cx.publish({"n": n}) for n in range(3)]
    assert all(r.ok for r in results)
    assert [r.throttled for r in results[:2]] == [0, 0] and results[2].throttled >= 1
    # Retry-After is 1 s; as an HTTP date (whole seconds, rounded up) up to 1 s more.
    limit = 1.0 if form == "seconds" else 2.0
    assert fake_time.waits and all(0 < w <= limit for w in fake_time.waits)
    assert results[2].waited_seconds == pytest.approx(sum(fake_time.waits))
    assert app.state.snapshot()["stored"] == 3


async def test_retry_after_of_an_hour_is_capped_reported_and_nothing_lost(
    fake_time: FakeTime,
    fast_config: CXoneConfig,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="evolvekit.cxone")
    # One request an hour, unannounced (an announced limit would also slow the pacing).
    app = create_app(rate_limit=1 / 3600, limit_headers=False, clock=fake_time.clock)
    config = fast_config.replace(retry_after_cap=5.0, max_attempts=3)
    store = Store(tmp_path)
    async with client_for(app, config, fake_time, store=store) as cx:
        [result] = await cx.publish_many([{"n": 1}])
    assert result.status == "outbox" and result.retry_after_capped and result.throttled == 3
    assert fake_time.waits == [5.0, 5.0]  # capped, not an hour each
    assert re.search(r"Retry-After of 3\d\d\d s capped to 5 s", caplog.text)
    assert [e["event"] for e in store.outbox_due()] == [{"n": 1}]
    store.close()


async def test_5xx_bursts_are_retried_with_the_same_key(
    fake_time: FakeTime, fast_config: CXoneConfig
) -> None:
    app = create_app(faults="500,502,503,504", clock=fake_time.clock)
    async with client_for(app, fast_config.replace(backoff_base=1.0), fake_time) as cx:
        result = await cx.publish({"n": 1})
    assert result.ok and result.attempts == 5 and result.http_status == 202
    assert len(fake_time.waits) == 4 and all(0 <= w <= 2**i for i, w in enumerate(fake_time.waits))
    assert app.state.events() == [{"n": 1}]


async def test_dropped_connections_before_and_after_storing(
    fake_time: FakeTime, fast_config: CXoneConfig
) -> None:
    app = create_app(faults="drop-before,drop-after", clock=fake_time.clock)
    async with client_for(app, fast_config, fake_time) as cx:
        result = await cx.publish({"n": 1})
    assert result.ok and result.attempts == 3
    assert app.state.events() == [{"n": 1}]
    assert app.state.snapshot()["duplicates_ignored"] == 1


async def test_tokens_are_refreshed_ahead_of_a_short_lifetime(
    fake_time: FakeTime, fast_config: CXoneConfig
) -> None:
    app = create_app(token_ttl=2, clock=fake_time.clock)
    async with client_for(app, fast_config, fake_time) as cx:
        first = await cx.publish({"n": 1})
        fake_time.now += 1.5  # past the refresh point (half of a 2 s lifetime), before expiry
        second = await cx.publish({"n": 2})
    assert first.attempts == second.attempts == 1  # no 401 was needed
    assert app.state.snapshot()["token_requests"] == 2


async def test_a_token_that_expires_sooner_than_expected_is_replaced_after_a_401(
    fake_time: FakeTime, fast_config: CXoneConfig
) -> None:
    app = create_app(token_ttl=2, clock=fake_time.clock)
    async with client_for(app, fast_config, fake_time) as cx:
        cx.tokens._clock = lambda: 1000.0  # type: ignore[attr-defined]  # its clock stands still
        await cx.publish({"n": 1})
        fake_time.now += 3  # the server's token has expired; the client thinks it is fresh
        result = await cx.publish({"n": 2})
    assert result.ok and result.attempts == 2 and result.http_status == 202
    assert app.state.snapshot()["token_requests"] == 2


async def test_revoked_tokens_again_and_again_end_in_an_auth_error(
    fake_time: FakeTime, fast_config: CXoneConfig
) -> None:
    app = create_app(faults="expire-tokenx9", clock=fake_time.clock)
    async with client_for(app, fast_config, fake_time) as cx:
        with pytest.raises(CXoneAuthError, match="rejected 4 tokens in a row"):
            await cx.publish({"n": 1})
    assert app.state.snapshot()["requests"] == 4 and app.state.events() == []


async def test_missing_scope_is_a_scope_error_after_one_request(
    fake_time: FakeTime, fast_config: CXoneConfig
) -> None:
    app = create_app(clock=fake_time.clock)
    app.state.configure(scopes="events:read")  # granted at run time, as an operator would
    async with client_for(app, fast_config, fake_time) as cx:
        with pytest.raises(CXoneScopeError, match="'events:ingest'"):
            await cx.publish({"n": 1})
    assert app.state.snapshot()["requests"] == 1 and fake_time.waits == []


async def test_other_4xx_raise_with_the_body_without_retrying(
    fake_time: FakeTime, fast_config: CXoneConfig
) -> None:
    app = create_app(faults="422", clock=fake_time.clock)
    async with client_for(app, fast_config, fake_time) as cx:
        with pytest.raises(CXonePublishError, match=r"HTTP 422.*injected_fault") as err:
            await cx.publish({"n": 1})
    assert err.value.status == 422 and err.value.body and "injected_fault" in err.value.body
    assert app.state.snapshot()["requests"] == 1


async def test_refused_outbox_entries_become_dead_letters(
    fake_time: FakeTime, fast_config: CXoneConfig, tmp_path: Path
) -> None:
    store = Store(tmp_path)
    store.outbox_put({"n": 1}, "refused", "HTTP 503")
    store.outbox_put({"n": 2}, "fine", "HTTP 503")
    app = create_app(faults="422", clock=fake_time.clock)
    async with client_for(app, fast_config, fake_time, store=store) as cx:
        summary = await cx.retry_outbox(concurrency=1)
    assert summary == {"attempted": 2, "published": 1, "dead_lettered": 1, "remaining": 0}
    [letter] = store.dead_letters()
    assert letter["stage"] == "publish" and letter["event"] == {"n": 1}
    assert "HTTP 422" in letter["reason"]
    assert app.state.events() == [{"n": 2}]
    store.close()


async def test_token_endpoint_outage_is_retried_like_a_5xx(fast_config: CXoneConfig) -> None:
    answers = [503, 502]
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        if request.url.path == "/oauth/token":
            if answers:
                return httpx.Response(answers.pop(0), text="<html>maintenance</html>")
            return httpx.Response(200, json={"access_token": "T", "expires_in": 60})
        return httpx.Response(202, json={"id": "e"})

    fake_time = FakeTime()
    async with CXoneClient(
        fast_config, transport=httpx.MockTransport(handler), sleep=fake_time.sleep
    ) as cx:
        result = await cx.publish({"n": 1})
    assert result.ok and result.attempts == 3 and result.error is None
    assert seen == ["/oauth/token"] * 3 + ["/api/v2/events"]


async def test_latency_beyond_the_timeout_is_retried_over_a_real_socket() -> None:
    app = create_app(faults="latency=400")
    with SimulatorServer(app) as server:
        config = CXoneConfig.for_simulator(server.base_url, timeout=0.15, backoff_base=0.0)
        async with CXoneClient(config) as cx:
            result = await cx.publish({"n": 1})
        stored = app.state.events()
    assert result.ok and result.attempts == 2
    assert stored == [{"n": 1}]  # the slow first attempt, if it lands, is a recognised repeat


def test_sim_url_is_not_listening() -> None:
    # The in-process tests above never touch the network: SIM_URL is a placeholder.
    assert SIM_URL.endswith(".test")


async def test_a_missing_scope_stops_publish_many_sending_but_loses_nothing(
    fake_time: FakeTime, fast_config: CXoneConfig, tmp_path: Path
) -> None:
    app = create_app(scopes="events:read", clock=fake_time.clock)
    store = Store(tmp_path)
    async with client_for(app, fast_config, fake_time, store=store) as cx:
        results = await cx.publish_many([{"n": n} for n in range(40)], concurrency=4)
    assert {r.status for r in results} == {"outbox"}
    assert all("lacks scope 'events:ingest'" in (r.error or "") for r in results)
    assert app.state.snapshot()["requests"] <= 4  # at most those already in flight
    assert store.outbox_size() == 40
    store.close()
