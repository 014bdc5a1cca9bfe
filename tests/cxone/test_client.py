from __future__ import annotations

import logging
import random
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from evolvekit.cxone.client import CXoneClient
from evolvekit.cxone.config import CXoneConfig
from evolvekit.cxone.simulator import SimulatorApp, create_app, parse_fault_spec
from evolvekit.errors import (
    ConfigError,
    CXoneAuthError,
    CXonePublishError,
    CXoneScopeError,
    InputError,
)
from evolvekit.store import Store

from .conftest import SIM_URL, SleepRecorder

MakeClient = Callable[..., CXoneClient]


class Recorder:
    """Wraps the simulator to record every request the client sends."""

    def __init__(self, app: SimulatorApp) -> None:
        self.app = app
        self.requests: list[dict[str, str]] = []

    async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "http":
            headers = {k.decode(): v.decode() for k, v in scope["headers"]}
            self.requests.append({"path": scope["path"], **headers})
        await self.app(scope, receive, send)

    def event_requests(self) -> list[dict[str, str]]:
        return [r for r in self.requests if r["path"] == "/api/v2/events"]


def scripted(*answers: httpx.Response | type[Exception]) -> httpx.MockTransport:
    """A CXone that answers tokens normally and events from the script, in order."""
    script = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "T", "expires_in": 3600})
        answer = script.pop(0) if script else httpx.Response(202, json={"id": "e"})
        if isinstance(answer, type):
            raise answer("scripted failure", request=request)  # type: ignore[call-arg]
        return answer

    return httpx.MockTransport(handler)


async def test_publish_sends_accept_and_an_idempotency_key(
    sim: SimulatorApp, make_client: MakeClient
) -> None:
    recorder = Recorder(sim)
    async with make_client(recorder) as cx:
        result = await cx.publish({"eventType": "x"})
        given = await cx.publish({"eventType": "x"}, idempotency_key="caller-key")
    assert result.ok and result.http_status == 202 and result.attempts == 1
    assert result.response["status"] == "accepted"
    sent = recorder.event_requests()
    assert all(r["accept"] == "application/json" for r in recorder.requests)
    assert sent[0]["idempotency-key"] == result.idempotency_key
    assert len(result.idempotency_key) == 36  # a UUID, not a content hash
    assert sent[1]["idempotency-key"] == "caller-key" == given.idempotency_key
    # Two identical events are two events.
    assert sim.state.events() == [{"eventType": "x"}, {"eventType": "x"}]


async def test_key_is_constant_across_retries(
    sim: SimulatorApp, make_client: MakeClient, fast_config: CXoneConfig
) -> None:
    sim.state.set_faults("503,500,drop-before,429,drop-after,502")
    recorder = Recorder(sim)
    async with make_client(recorder, config=fast_config.replace(max_attempts=8)) as cx:
        result = await cx.publish({"n": 1})
    keys = {r["idempotency-key"] for r in recorder.event_requests()}
    assert keys == {result.idempotency_key}
    assert result.ok and result.attempts == 7 and result.throttled == 1
    assert sim.state.events() == [{"n": 1}]
    assert sim.state.snapshot()["duplicates_ignored"] == 1


async def test_401_refreshes_once_with_a_new_token(
    sim: SimulatorApp, make_client: MakeClient
) -> None:
    recorder = Recorder(sim)
    async with make_client(recorder) as cx:
        await cx.publish({"n": 0})
        sim.state.set_faults("expire-token")
        result = await cx.publish({"n": 1})
    assert result.ok and result.attempts == 2
    tokens = [r["authorization"] for r in recorder.event_requests()]
    assert tokens[1] == tokens[0] and tokens[2] != tokens[1]  # the retry used a NEW token
    assert sim.state.snapshot()["token_requests"] == 2


async def test_401_does_not_use_up_the_retry_budget(
    make_client: MakeClient, fast_config: CXoneConfig
) -> None:
    config = fast_config.replace(max_attempts=2)
    transport_answers = scripted(
        httpx.Response(429), httpx.Response(401), httpx.Response(202, json={"id": "ok"})
    )
    async with CXoneClient(config, transport=transport_answers, sleep=SleepRecorder()) as cx:
        result = await cx.publish({"n": 1})
    assert result.ok and result.attempts == 3 and result.throttled == 1


async def test_repeated_401_is_an_error_not_a_loop(
    make_client: MakeClient, fast_config: CXoneConfig
) -> None:
    transport = scripted(*[httpx.Response(401, json={"error": "invalid_token"})] * 5)
    async with CXoneClient(fast_config, transport=transport, sleep=SleepRecorder()) as cx:
        with pytest.raises(CXoneAuthError, match="rejected 4 tokens in a row"):
            await cx.publish({"n": 1})
    assert cx.tokens.requests == 4  # type: ignore[attr-defined]


async def test_403_names_the_scope_and_does_not_retry(make_client: MakeClient) -> None:
    app = create_app(scopes="events:read")
    recorder = Recorder(app)
    async with make_client(recorder) as cx:
        with pytest.raises(CXoneScopeError, match="events:ingest") as err:
            await cx.publish({"n": 1})
    assert err.value.scope == "events:ingest"
    assert len(recorder.event_requests()) == 1


async def test_403_without_a_scope_field_names_the_configured_scope(
    fast_config: CXoneConfig,
) -> None:
    transport = scripted(httpx.Response(403, text="Forbidden"))
    async with CXoneClient(fast_config, transport=transport) as cx:
        with pytest.raises(CXoneScopeError) as err:
            await cx.publish({})
    assert err.value.scope == "events:ingest"


async def test_429_honours_retry_after_seconds_and_dates(fast_config: CXoneConfig) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    sleeps = SleepRecorder()
    transport = scripted(
        httpx.Response(429, headers={"Retry-After": "7"}),
        httpx.Response(429, headers={"Retry-After": later}),
    )
    async with CXoneClient(fast_config, transport=transport, sleep=sleeps) as cx:
        result = await cx.publish({"n": 1})
    assert result.ok and result.throttled == 2 and result.attempts == 3
    assert sleeps.waits[0] == 7 and 25 < sleeps.waits[1] <= 30
    assert result.waited_seconds == pytest.approx(sum(sleeps.waits))
    assert not result.retry_after_capped


async def test_retry_after_of_an_hour_is_capped_and_reported(
    fast_config: CXoneConfig, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="evolvekit.cxone")
    sleeps = SleepRecorder()
    config = fast_config.replace(retry_after_cap=5.0)
    transport = scripted(httpx.Response(429, headers={"Retry-After": "3600"}))
    async with CXoneClient(config, transport=transport, sleep=sleeps) as cx:
        result = await cx.publish({"n": 1})
    assert result.ok and result.retry_after_capped and sleeps.waits == [5.0]
    assert "Retry-After of 3600 s capped to 5 s" in caplog.text


async def test_429_without_retry_after_uses_jittered_backoff(fast_config: CXoneConfig) -> None:
    sleeps = SleepRecorder()
    config = fast_config.replace(backoff_base=1.0, backoff_cap=100.0)
    transport = scripted(*[httpx.Response(429)] * 4)
    async with CXoneClient(config, transport=transport, sleep=sleeps) as cx:
        result = await cx.publish({"n": 1})
    assert result.ok and len(sleeps.waits) == 4
    assert all(0 <= w <= 2**i for i, w in enumerate(sleeps.waits))


@pytest.mark.parametrize(
    "failure", [httpx.ReadTimeout, httpx.ConnectError, httpx.RemoteProtocolError]
)
async def test_timeouts_and_connection_errors_retry(
    fast_config: CXoneConfig, failure: type[Exception]
) -> None:
    transport = scripted(failure, httpx.Response(503), failure)
    async with CXoneClient(fast_config, transport=transport, sleep=SleepRecorder()) as cx:
        result = await cx.publish({"n": 1})
    assert result.ok and result.attempts == 4


async def test_gives_up_after_max_attempts(fast_config: CXoneConfig) -> None:
    transport = scripted(*[httpx.Response(503)] * 10)
    async with CXoneClient(
        fast_config.replace(max_attempts=3), transport=transport, sleep=SleepRecorder()
    ) as cx:
        with pytest.raises(CXonePublishError, match="gave up after 3 attempts: HTTP 503"):
            await cx.publish({"n": 1})


async def test_other_4xx_raise_with_the_body(fast_config: CXoneConfig) -> None:
    transport = scripted(httpx.Response(422, json={"error": "eventType is required"}))
    async with CXoneClient(fast_config, transport=transport) as cx:
        with pytest.raises(CXonePublishError, match="eventType is required") as err:
            await cx.publish({"n": 1})
    assert err.value.status == 422 and err.value.body is not None


async def test_unreachable_host_is_a_fast_clear_error() -> None:
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = CXoneConfig.for_simulator(
        f"http://127.0.0.1:{port}", max_attempts=2, backoff_base=0.01
    )
    started = time.monotonic()
    async with CXoneClient(config) as cx:
        with pytest.raises(CXonePublishError, match=f"cannot reach .*127.0.0.1:{port}"):
            await cx.publish({"n": 1})
    assert time.monotonic() - started < 5


async def test_html_and_empty_token_bodies_are_auth_errors(fast_config: CXoneConfig) -> None:
    for body in (b"<html>login</html>", b""):

        def handler(request: httpx.Request, body: bytes = body) -> httpx.Response:
            return httpx.Response(200, content=body, headers={"content-type": "text/html"})

        async with CXoneClient(fast_config, transport=httpx.MockTransport(handler)) as cx:
            with pytest.raises(CXoneAuthError, match=r"not JSON|empty body"):
                await cx.publish({"n": 1})


async def test_missing_credentials_fail_before_any_request() -> None:
    with pytest.raises(ConfigError, match="CXONE_CLIENT_ID, CXONE_CLIENT_SECRET"):
        CXoneClient(CXoneConfig.from_env({}))


async def test_secrets_stay_out_of_errors_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    app = create_app(client_id="app", client_secret="expected-secret")
    config = CXoneConfig.for_simulator(
        SIM_URL, client_id="app", client_secret="wrong-hunter2-secret"
    )
    async with CXoneClient(config, transport=httpx.ASGITransport(app=app)) as cx:
        with pytest.raises(CXoneAuthError) as err:
            await cx.publish({"n": 1})
        results = await cx.publish_many([{"n": 2}])
    text = " ".join(
        [str(err.value), repr(err.value), repr(cx), repr(config), caplog.text, str(results)]
    )
    assert "hunter2" not in text and "invalid_client" in str(err.value)


async def test_non_serialisable_event(make_client: MakeClient, sim: SimulatorApp) -> None:
    async with make_client() as cx:
        with pytest.raises(InputError, match="not JSON-serialisable"):
            await cx.publish({"when": object()})
        with pytest.raises(InputError, match="/a/0/b is NaN or infinite"):
            await cx.publish({"a": [{"b": float("nan")}]})
        results = await cx.publish_many([{"n": 1}, {"bad": {1, 2}}, {"n": 3}])
    assert [r.status for r in results] == ["published", "failed", "published"]
    assert "not JSON-serialisable" in (results[1].error or "")
    assert sim.state.events() == [{"n": 1}, {"n": 3}]


async def test_publish_many_results_in_order_with_progress_and_keys(
    make_client: MakeClient, sim: SimulatorApp
) -> None:
    progress: list[int] = []
    events = [{"n": i} for i in range(30)]
    keys = [f"key-{i}" for i in range(30)]
    async with make_client() as cx:
        results = await cx.publish_many(
            events,
            concurrency=4,
            keys=keys,
            on_progress=lambda done, total, r: progress.append(done),
        )
        again = await cx.publish_many(events, concurrency=4, keys=keys)
        with pytest.raises(InputError):
            await cx.publish_many(events, keys=keys[:3])
    assert [r.idempotency_key for r in results] == keys and all(r.ok for r in results)
    assert progress == list(range(1, 31))
    assert all(r.http_status == 200 for r in again)  # acknowledged, not stored twice
    assert len(sim.state.events()) == 30


async def test_publish_many_slows_down_on_429(make_client: MakeClient) -> None:
    app = create_app(faults="429x5")
    async with make_client(app) as cx:
        before = cx.limiter.rate
        results = await cx.publish_many([{"n": i} for i in range(10)], concurrency=2)
        assert cx.limiter.rate < before
    assert all(r.ok for r in results) and sum(r.throttled for r in results) == 5


async def test_failures_go_to_the_outbox_and_retry_later(
    make_client: MakeClient, sim: SimulatorApp, tmp_path: Path, fast_config: CXoneConfig
) -> None:
    store = Store(tmp_path)
    sim.state.set_faults("503x3")
    config = fast_config.replace(max_attempts=3)
    async with make_client(config=config, store=store) as cx:
        results = await cx.publish_many([{"n": 1}, {"n": 2}], concurrency=1)
    assert [r.status for r in results] == ["outbox", "published"]
    assert "gave up after 3 attempts" in (results[0].error or "")
    assert store.outbox_size() == 1
    entry = store.outbox_due()[0]
    assert entry["key"] == results[0].idempotency_key and entry["event"] == {"n": 1}

    sim.state.set_faults("503x3")  # still down: rescheduled, not lost
    async with make_client(config=config, store=store) as cx:
        summary = await cx.retry_outbox()
    assert summary == {"attempted": 1, "published": 0, "dead_lettered": 0, "remaining": 1}
    assert store.outbox_due() == []  # not due again straight away
    later = store.outbox_due(now=time.time() + 7200)
    assert later[0]["attempts"] == 1

    store.outbox_retry_later(later[0]["id"], "test", 0.0)
    async with make_client(config=config, store=store) as cx:
        summary = await cx.retry_outbox()
    assert summary == {"attempted": 1, "published": 1, "dead_lettered": 0, "remaining": 0}
    assert sim.state.events() == [{"n": 2}, {"n": 1}]
    store.close()


async def test_refused_events_are_not_parked_in_the_outbox(
    tmp_path: Path, fast_config: CXoneConfig
) -> None:
    store = Store(tmp_path)
    transport = scripted(httpx.Response(400, json={"error": "bad event"}))
    async with CXoneClient(fast_config, transport=transport, store=store) as cx:
        results = await cx.publish_many([{"n": 1}])
    assert results[0].status == "failed" and store.outbox_size() == 0
    store.close()


async def test_retry_outbox_needs_a_store(make_client: MakeClient) -> None:
    async with make_client() as cx:
        with pytest.raises(InputError, match="store"):
            await cx.retry_outbox()


async def test_read_events_pages(make_client: MakeClient, sim: SimulatorApp) -> None:
    async with make_client() as cx:
        await cx.publish_many([{"n": i} for i in range(25)])
        sim.state.set_faults("503,expire-token")
        read = [event async for event in cx.read_events(limit=10)]
        assert [e["n"] for e in read] == list(range(25))
        assert cx.last_cursor == "25"
        more = [event async for event in cx.read_events(since="20", limit=10)]
        assert [e["n"] for e in more] == list(range(20, 25))


async def test_read_events_rejects_a_malformed_page(fast_config: CXoneConfig) -> None:
    transport = scripted(httpx.Response(200, text="<html>maintenance</html>"))
    async with CXoneClient(fast_config, transport=transport) as cx:
        with pytest.raises(Exception, match="without an 'events' list"):
            [e async for e in cx.read_events()]


async def test_cxone_profile_end_to_end_with_api_discovery() -> None:
    app = create_app("cxone")
    config = CXoneConfig.for_simulator(SIM_URL, profile="cxone").replace(
        base_url=None,
        target="events",  # the cxone profile's default target is dfo
    )
    assert config.needs_api_discovery
    async with CXoneClient(config, transport=httpx.ASGITransport(app=app)) as cx:
        result = await cx.publish({"n": 1})
        assert await cx.events_url() == SIM_URL + "/api/v2/events"
    assert result.ok and app.state.events() == [{"n": 1}]


async def test_client_must_be_opened(fast_config: CXoneConfig) -> None:
    cx = CXoneClient(fast_config)
    with pytest.raises(Exception, match="not open"):
        await cx.publish({})


async def test_concurrent_publishes_at_expiry_cause_one_token_request(
    make_client: MakeClient, sim: SimulatorApp
) -> None:
    now = [0.0]
    async with make_client() as cx:
        cx.tokens._clock = lambda: now[0]  # type: ignore[attr-defined]
        await cx.publish({"warm": True})
        now[0] = 10_000.0  # the cached token is now past its expiry
        results = await cx.publish_many([{"n": i} for i in range(50)], concurrency=50)
    assert all(r.ok for r in results)
    assert sim.state.snapshot()["token_requests"] == 2  # the first token and ONE refresh


def stored_as_sent(app: SimulatorApp, target: str) -> tuple[list[Any], list[str | None]]:
    """The events the simulator stored for ``target``, unwrapped, and the keys they were
    stored under (Idempotency-Key, idOnExternalPlatform, workItemID)."""
    with app.state.lock:
        entries = [e for e in app.state.entries if e.kind == target]
    bodies = [orjson.loads(e.body) for e in entries]
    if target == "dfo":
        assert [b["idOnExternalPlatform"] for b in bodies] == [e.key for e in entries]
        bodies = [orjson.loads(b["messageContent"]["payload"]["text"]) for b in bodies]
    elif target == "workitem":
        assert [b["workItemID"] for b in bodies] == [e.key for e in entries]
        bodies = [orjson.loads(b["workItemPayload"]) for b in bodies]
    return bodies, [e.key for e in entries]


@pytest.mark.parametrize("target", ["events", "dfo", "workitem"])
async def test_exactly_once_through_drops_bursts_and_token_churn(
    fast_config: CXoneConfig, target: str
) -> None:
    """1,000 events through drop-after, 503 bursts, expire-token and a 2 s token lifetime:
    exactly 1,000 stored, no duplicates (at-least-once delivery, exactly-once effect), and
    the 500 pairs of identical events stay pairs.

    Both sides run on a clock 20x faster than real time, so the 2-second tokens expire
    several times within the sub-second run: some are refreshed ahead of expiry by the
    client, others expire in flight and come back as 401s."""

    def fast_clock() -> float:
        return time.monotonic() * 20

    app = create_app(token_ttl=2.0, clock=fast_clock)
    # Blocks of 25 event requests, "latency=0" items passing requests through untouched.
    passing = ["latency=0"] * 4
    block = [
        "drop-after",
        *passing,
        "503x2",
        *passing,
        "expire-token",
        *passing,
        *passing,
        "drop-before",
        *passing,
    ]
    pattern = ",".join(block * 24)  # faults over the first ~600 requests, then expiry only
    app.state.set_faults(pattern)
    # Tokens live 0.1 s of real time here: on a loaded machine one can expire in flight
    # several times over, so allow more consecutive 401s than the default 3.
    config = fast_config.replace(
        max_attempts=10, token_skew_seconds=1.0, target=target, max_token_refreshes=8
    )
    # Pairs of genuinely identical events: each must be stored twice, never merged.
    events = [{"pair": i // 2, "payload": "same"} for i in range(1000)]
    async with CXoneClient(
        config, transport=httpx.ASGITransport(app=app), sleep=SleepRecorder()
    ) as cx:
        cx.tokens._clock = fast_clock  # type: ignore[attr-defined]
        results = await cx.publish_many(events, concurrency=8)
    stored, stored_keys = stored_as_sent(app, target)
    stats = app.state.snapshot()
    assert all(r.ok for r in results), [r.error for r in results if not r.ok][:3]
    assert len(stored) == 1000
    assert len(set(stored_keys)) == 1000  # 0 duplicates by the target's idempotency key
    assert set(stored_keys) == {r.idempotency_key for r in results}
    assert sorted(e["pair"] for e in stored) == sorted(e["pair"] for e in events)
    assert len({r.idempotency_key for r in results}) == 1000
    assert stats["stored"] == 1000
    assert stats["duplicates_ignored"] >= 24  # every drop-after was re-sent and recognised
    # Beyond the first token and the 24 revoked ones, expiring tokens were replaced too.
    assert stats["token_requests"] - 1 - 24 >= 2
    print(f"exactly-once: {len(results)} events, {stats}")
    assert stats["faults_injected"] == len(parse_fault_spec(pattern))


async def test_read_events_without_the_read_scope(make_client: MakeClient) -> None:
    app = create_app(scopes="events:ingest")
    async with make_client(app) as cx:
        with pytest.raises(CXoneScopeError, match="events:read"):
            [e async for e in cx.read_events()]


class _ZeroDraw(random.Random):
    def random(self) -> float:
        return 0.0  # backoff draws its minimum: only the fixed part of a wait is left


async def test_408_is_retried_not_refused(tmp_path: Path, fast_config: CXoneConfig) -> None:
    transport = scripted(httpx.Response(408), httpx.Response(202, json={"id": "e"}))
    async with CXoneClient(fast_config, transport=transport) as cx:
        result = await cx.publish({"n": 1})
    assert result.ok and result.attempts == 2
    # a request timeout that lasts is kept for later, neither refused nor dead-lettered
    store = Store(tmp_path)
    always = httpx.MockTransport(
        lambda r: httpx.Response(200, json={"access_token": "T", "expires_in": 3600})
        if r.url.path == "/oauth/token" else httpx.Response(408)
    )  # fmt: skip
    config = fast_config.replace(max_attempts=2)
    async with CXoneClient(config, transport=always, store=store) as cx:
        [parked] = await cx.publish_many([{"n": 2}])
        assert parked.status == "outbox" and store.outbox_size() == 1
        store.outbox_retry_later(store.outbox_due()[0]["id"], "test", 0.0)
        summary = await cx.retry_outbox()
    assert summary == {"attempted": 1, "published": 0, "dead_lettered": 0, "remaining": 1}
    assert store.dead_letters() == []
    store.close()


async def test_an_outbox_retry_waits_at_least_30_seconds(
    tmp_path: Path, fast_config: CXoneConfig
) -> None:
    store = Store(tmp_path)
    store.outbox_put({"n": 1}, "k1", "HTTP 503")
    config = fast_config.replace(max_attempts=1)
    async with CXoneClient(config, transport=scripted(httpx.Response(503)), store=store,
                           rng=_ZeroDraw()) as cx:  # fmt: skip
        before = time.time()
        summary = await cx.retry_outbox()
        after = time.time()
    assert summary["remaining"] == 1
    assert store.outbox_due(now=before + 29.9) == []  # never sooner than 30 s ...
    [entry] = store.outbox_due(now=after + 30.0)  # ... and with a zero draw, exactly 30 s
    assert entry["attempts"] == 1
    store.close()
