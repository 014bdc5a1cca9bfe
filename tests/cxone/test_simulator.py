from __future__ import annotations

import time
from email.utils import parsedate_to_datetime

import httpx
import pytest

from evolvekit.cxone.config import SIMULATOR_DFO_CHANNEL, SIMULATOR_POINT_OF_CONTACT
from evolvekit.cxone.sim_tokens import SIM_TENANT_ID
from evolvekit.cxone.simulator import (
    SimulatorApp,
    SimulatorServer,
    create_app,
)
from evolvekit.errors import ConfigError

JSON = {"Accept": "application/json"}


def client(app: SimulatorApp) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sim")


async def get_token(http: httpx.AsyncClient, scope: str | None = None, **extra: str) -> str:
    form = {"grant_type": "client_credentials", "client_id": "app", "client_secret": "s", **extra}
    if scope:
        form["scope"] = scope
    response = await http.post("/oauth/token", data=form)
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def bearer(token: str, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}", **JSON}
    if key:
        headers["Idempotency-Key"] = key
    return headers


def test_create_app_rejects_bad_settings() -> None:
    with pytest.raises(ConfigError):
        create_app("genesys")
    with pytest.raises(ConfigError):
        create_app(rate_limit=0)
    with pytest.raises(ConfigError):
        create_app(faults="nonsense")


async def test_token_endpoint_checks_configured_credentials_and_scopes() -> None:
    app = create_app(client_id="app", client_secret="s", scopes="events:read")
    async with client(app) as http:
        refused = await http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": "app", "client_secret": "no"},
        )
        assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
        wrong_grant = await http.post("/oauth/token", data={"grant_type": "password"})
        assert wrong_grant.status_code == 400
        granted = await http.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "app",
                "client_secret": "s",
                "scope": "events:ingest events:read",
            },
        )
        assert granted.json()["scope"] == "events:read"
        basic = await http.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=("app", "s")
        )
        assert basic.status_code == 200
    assert app.state.snapshot()["token_requests"] == 2


async def test_events_are_stored_exactly_as_received_and_keys_deduplicate() -> None:
    app = create_app()
    raw = b'{"b": 1,   "a": [1, 2.50]}'
    async with client(app) as http:
        token = await get_token(http)
        first = await http.post("/api/v2/events", content=raw, headers=bearer(token, "k1"))
        again = await http.post("/api/v2/events", content=raw, headers=bearer(token, "k1"))
        other = await http.post("/api/v2/events", content=raw, headers=bearer(token, "k2"))
        assert first.status_code == 202 and again.status_code == 200
        assert again.json() == first.json() and other.json() != first.json()
        bodies = await http.get("/_simulator/events", params={"bodies": "true"})
        assert bodies.content == b"[" + raw + b"," + raw + b"]"
        listed = await http.get("/_simulator/events")
        assert raw in listed.content  # the body inside each entry, byte for byte
        assert [(e["key"], e["body"]) for e in listed.json()] == [
            ("k1", {"b": 1, "a": [1, 2.5]}),
            ("k2", {"b": 1, "a": [1, 2.5]}),
        ]
        stats = (await http.get("/_simulator/stats")).json()
    assert stats == {
        "token_requests": 1,
        "requests": 3,
        "stored": 2,
        "duplicates_ignored": 1,
        "throttled": 0,
        "throttled_by_rate_limit": 0,
        "throttled_by_fault": 0,
        "faults_injected": 0,
        "grants": {"password": 0, "refresh_token": 0, "access_key": 0, "client_credentials": 1},
    }


async def test_bearer_scope_and_body_checks() -> None:
    app = create_app()
    async with client(app) as http:
        assert (await http.post("/api/v2/events", json={}, headers=JSON)).status_code == 401
        bogus = await http.post("/api/v2/events", json={}, headers=bearer("nope"))
        assert bogus.status_code == 401
        read_only = await get_token(http, scope="events:read")
        denied = await http.post("/api/v2/events", json={}, headers=bearer(read_only))
        assert denied.status_code == 403 and denied.json()["scope"] == "events:ingest"
        ingest_only = await get_token(http, scope="events:ingest")
        no_read = await http.get("/api/v2/events", headers=bearer(ingest_only))
        assert no_read.status_code == 403 and no_read.json()["scope"] == "events:read"
        not_json = await http.post("/api/v2/events", content=b"{oops", headers=bearer(ingest_only))
        assert not_json.status_code == 400
    assert app.state.events() == []


async def test_short_token_lifetime_expires() -> None:
    app = create_app(token_ttl=0.05)
    async with client(app) as http:
        token = await get_token(http)
        assert (await http.post("/api/v2/events", json={}, headers=bearer(token))).is_success
        time.sleep(0.06)
        assert (
            await http.post("/api/v2/events", json={}, headers=bearer(token))
        ).status_code == 401


async def test_faults_apply_to_successive_event_requests() -> None:
    app = create_app(faults="503x2,expire-token,latency=1,429")
    async with client(app) as http:
        token = await get_token(http)
        codes = []
        for _ in range(3):
            response = await http.post("/api/v2/events", json={"n": 1}, headers=bearer(token))
            codes.append(response.status_code)
        assert codes == [503, 503, 401]
        revoked = await http.get("/_simulator/stats")  # not an event request: no fault used
        assert revoked.json()["faults_injected"] == 3
        token = await get_token(http)
        latency = await http.post("/api/v2/events", json={"n": 2}, headers=bearer(token))
        throttled = await http.post("/api/v2/events", json={"n": 3}, headers=bearer(token))
        assert latency.status_code == 202 and throttled.status_code == 429
        set_faults = await http.post("/_simulator/faults", json={"spec": "500"})
        assert set_faults.json()["faults"] == 1
        assert (
            await http.post("/api/v2/events", json={}, headers=bearer(token))
        ).status_code == 500
        bad = await http.post("/_simulator/faults", json={"spec": "explode"})
        assert bad.status_code == 400 and "not understood" in bad.json()["error"]
        assert (await http.post("/_simulator/faults", content=b"[]")).status_code == 400
    assert app.state.events() == [{"n": 2}]
    assert app.state.snapshot()["faults_injected"] == 6


async def test_drops_in_process_look_like_a_lost_connection() -> None:
    app = create_app(faults="drop-before,drop-after")
    async with client(app) as http:
        token = await get_token(http)
        with pytest.raises(httpx.TransportError):
            await http.post("/api/v2/events", json={"n": 1}, headers=bearer(token))
        with pytest.raises(httpx.TransportError):
            await http.post("/api/v2/events", json={"n": 2}, headers=bearer(token))
    assert app.state.events() == [{"n": 2}]  # dropped after storing, not before


def test_drops_over_a_real_socket() -> None:
    app = create_app(faults="drop-before,drop-after")
    with SimulatorServer(app) as server, httpx.Client(base_url=server.base_url) as http:
        token = http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "client_id": "a", "client_secret": "b"},
        ).json()["access_token"]
        for n in (1, 2):
            with pytest.raises(httpx.TransportError):
                http.post("/api/v2/events", json={"n": n}, headers=bearer(token))
        assert http.post("/api/v2/events", json={"n": 3}, headers=bearer(token)).is_success
        bodies = http.get("/_simulator/events", params={"bodies": "true"}).json()
        assert bodies == [{"n": 2}, {"n": 3}]


@pytest.mark.parametrize("form", ["seconds", "date"])
async def test_rate_limit_token_bucket(form: str) -> None:
    app = create_app(rate_limit=5, retry_after=form)  # type: ignore[arg-type]
    async with client(app) as http:
        token = await get_token(http)
        answers = [
            await http.post("/api/v2/events", json={}, headers=bearer(token)) for _ in range(7)
        ]
    codes = [a.status_code for a in answers]
    assert codes[:5] == [202] * 5 and 429 in codes[5:]  # burst = one second of the limit
    limited = next(a for a in answers if a.status_code == 429)
    assert limited.headers["X-RateLimit-Limit"] == "5"
    value = limited.headers["Retry-After"]
    if form == "seconds":
        assert value == "1"
    else:
        assert parsedate_to_datetime(value).timestamp() > time.time()
    assert app.state.snapshot()["throttled"] == codes.count(429)


async def test_throttled_counts_every_429_answered_split_by_cause() -> None:
    """One word, one meaning: ``throttled`` is every 429 the simulator answered (what a
    client counts as throttled), injected or from the rate limit; the split names the cause."""
    app = create_app(faults="429x2,503", rate_limit=3)
    async with client(app) as http:
        token = await get_token(http)
        answers = [
            await http.post("/api/v2/events", json={}, headers=bearer(token)) for _ in range(8)
        ]
    codes = [a.status_code for a in answers]
    assert codes[:3] == [429, 429, 503] and codes[3:6] == [202] * 3 and 429 in codes[6:]
    stats = app.state.snapshot()
    assert stats["throttled"] == codes.count(429) >= 3
    assert stats["throttled_by_fault"] == 2
    assert stats["throttled_by_rate_limit"] == codes.count(429) - 2
    assert stats["faults_injected"] == 3  # every fault, the 503 included


async def test_rate_limit_can_be_kept_secret() -> None:
    app = create_app(rate_limit=1, limit_headers=False)
    async with client(app) as http:
        token = await get_token(http)
        first = await http.post("/api/v2/events", json={}, headers=bearer(token))
        second = await http.post("/api/v2/events", json={}, headers=bearer(token))
    assert first.status_code == 202 and second.status_code == 429
    assert "x-ratelimit-limit" not in first.headers and "x-ratelimit-limit" not in second.headers
    assert second.headers["retry-after"] == "1"


async def test_paging() -> None:
    app = create_app()
    async with client(app) as http:
        token = await get_token(http)
        for n in range(5):
            await http.post("/api/v2/events", json={"n": n}, headers=bearer(token))
        page = (await http.get("/api/v2/events", params={"limit": 2}, headers=bearer(token))).json()
        assert page == {"events": [{"n": 0}, {"n": 1}], "next": "2"}
        page = (
            await http.get(
                "/api/v2/events", params={"since": "4", "limit": 2}, headers=bearer(token)
            )
        ).json()
        assert page == {"events": [{"n": 4}], "next": "5"}
        bad = await http.get("/api/v2/events", params={"since": "x"}, headers=bearer(token))
        assert bad.status_code == 400


async def test_reset_clears_everything() -> None:
    app = create_app(faults="503")
    async with client(app) as http:
        token = await get_token(http)
        await http.post("/api/v2/events", json={}, headers=bearer(token))
        await http.post("/api/v2/events", json={}, headers=bearer(token))
        assert (await http.post("/_simulator/reset")).status_code == 200
        assert (await http.get("/_simulator/events")).json() == []
        stats = (await http.get("/_simulator/stats")).json()
        grants = stats.pop("grants")
        assert set(stats.values()) == {0} and set(grants.values()) == {0}
        # Tokens are forgotten too.
        assert (
            await http.post("/api/v2/events", json={}, headers=bearer(token))
        ).status_code == 401


async def test_cxone_profile_discovery_password_grant_and_accept_quirk() -> None:
    app = create_app("cxone")
    async with client(app) as http:
        oidc = (await http.get("/.well-known/openid-configuration")).json()
        assert oidc["token_endpoint"] == "http://sim/auth/token"
        no_basic = await http.post(
            "/auth/token", data={"grant_type": "password", "username": "AK", "password": "AS"}
        )
        assert no_basic.status_code == 401
        granted = await http.post(
            "/auth/token",
            auth=("client", "secret"),
            data={"grant_type": "password", "username": "AK", "password": "AS"},
        )
        token = granted.json()["access_token"]
        unknown = await http.get("/.well-known/cxone-configuration", params={"tenantId": "t-1"})
        assert unknown.status_code == 404
        area = await http.get(
            "/.well-known/cxone-configuration", params={"tenantId": SIM_TENANT_ID}
        )
        assert area.json()["api_endpoint"] == "http://sim" and area.json()["area"]
        quirk = await http.post(
            "/api/v2/events", json={}, headers={"Authorization": f"Bearer {token}"}
        )
        assert quirk.status_code == 406 and quirk.text == "No known way to render data"
        ok = await http.post("/api/v2/events", json={"x": 1}, headers=bearer(token))
        assert ok.status_code == 202
        assert (await http.post("/oauth/token")).status_code == 404  # not this profile's


async def test_settings_change_at_run_time() -> None:
    app = create_app()
    async with client(app) as http:
        changed = await http.post(
            "/_simulator/faults",
            json={"rate_limit": 2, "token_ttl": 0.05, "retry_after": "date", "spec": "503"},
        )
        assert changed.status_code == 200
        assert changed.json() == {
            "faults": 1,
            "rate_limit": 2.0,
            "token_ttl": 0.05,
            "scopes": None,
            "retry_after": "date",
            "latency_ms": 0.0,
        }
        token = await get_token(http)
        codes = [
            (await http.post("/api/v2/events", json={}, headers=bearer(token))).status_code
            for _ in range(4)
        ]
        assert codes == [503, 202, 202, 429]  # the new fault, then a burst of two
        time.sleep(0.06)  # the 0.05 s token has expired
        assert (
            await http.post("/api/v2/events", json={}, headers=bearer(token))
        ).status_code == 401

        # A bad value changes nothing at all, not even the valid parts of the request.
        bad = await http.post("/_simulator/faults", json={"spec": "500", "token_ttl": -1})
        assert bad.status_code == 400 and "token_ttl" in bad.json()["error"]
        unknown = await http.post("/_simulator/faults", json={"colour": "red"})
        assert unknown.status_code == 400 and "colour" in unknown.json()["error"]
        assert (await http.post("/_simulator/faults", json={})).status_code == 400
        assert app.state.token_ttl == 0.05 and not app.state.faults

        lifted = await http.post(
            "/_simulator/faults",
            json={"rate_limit": None, "token_ttl": 60, "scopes": "events:read"},
        )
        assert lifted.json()["scopes"] == "events:read"
        token = await get_token(http)
        refused = await http.post("/api/v2/events", json={}, headers=bearer(token))
        assert refused.status_code == 403  # no rate limit any more, but no ingest scope


async def test_latency_delays_every_api_request_but_not_inspection() -> None:
    app = create_app(latency_ms=50)
    delays: list[tuple[str, float]] = []
    real_sleep = app.sleep

    async def recording_sleep(seconds: float) -> None:
        delays.append(("sleep", seconds))
        await real_sleep(0)

    app.sleep = recording_sleep
    async with client(app) as http:
        token = await get_token(http)
        await http.post("/api/v2/events", json={}, headers=bearer(token))
        await http.get("/_simulator/stats")
        assert delays == [("sleep", 0.05), ("sleep", 0.05)]  # token + event, not the stats
        changed = await http.post("/_simulator/faults", json={"latency_ms": 0})
        assert changed.json()["latency_ms"] == 0.0
        await http.post("/api/v2/events", json={}, headers=bearer(token))
        assert len(delays) == 2
        bad = await http.post("/_simulator/faults", json={"latency_ms": -1})
        assert bad.status_code == 400 and "latency_ms" in bad.json()["error"]
    with pytest.raises(ConfigError):
        create_app(latency_ms=-5)


DFO_MESSAGE = {
    "idOnExternalPlatform": "m-1",
    "direction": "inbound",
    "thread": {"idOnExternalPlatform": "t-1"},
    "messageContent": {"type": "TEXT", "payload": {"text": "hello"}},
    "authorEndUserIdentity": {"idOnExternalPlatform": "u-1"},
}
WORK_ITEM = {
    "pointOfContact": SIMULATOR_POINT_OF_CONTACT,
    "workItemID": "w-1",
    "workItemPayload": '{"n": 1}',
    "workItemType": "evolvekit",
}
DFO_PATH = f"/dfo/3.0/channels/{SIMULATOR_DFO_CHANNEL}/messages"
WORK_ITEM_PATH = "/inContactAPI/services/v30.0/interactions/work-items"


async def store_one_of_each_target(http: httpx.AsyncClient) -> None:
    """An event with a key, one without, a DFO message and a work item, each stored once."""
    token = await get_token(http)
    stored = [
        await http.post("/api/v2/events", json={"n": 1}, headers=bearer(token, "k-1")),
        await http.post("/api/v2/events", json={"n": 2}, headers=bearer(token)),
        await http.post(DFO_PATH, json=DFO_MESSAGE, headers=bearer(token)),
        await http.post(WORK_ITEM_PATH, params=WORK_ITEM, headers=bearer(token)),
    ]
    assert [a.status_code for a in stored] == [202, 202, 201, 202], [a.text for a in stored]
    assert (await http.post(DFO_PATH, json=DFO_MESSAGE, headers=bearer(token))).status_code == 200


async def test_inspection_names_path_key_target_and_body_of_every_entry() -> None:
    app = create_app()
    async with client(app) as http:
        await store_one_of_each_target(http)
        listed = await http.get("/_simulator/events")
    assert listed.status_code == 200
    assert listed.headers["content-type"] == "application/json"
    assert listed.json() == [  # storage order; the repeated DFO message is not stored again
        {"path": "/api/v2/events", "key": "k-1", "target": "events", "body": {"n": 1}},
        {"path": "/api/v2/events", "key": None, "target": "events", "body": {"n": 2}},
        {"path": DFO_PATH, "key": "m-1", "target": "dfo", "body": DFO_MESSAGE},
        {"path": WORK_ITEM_PATH, "key": "w-1", "target": "workitem", "body": WORK_ITEM},
    ]


async def test_inspection_gives_the_bare_bodies_only_when_asked() -> None:
    app = create_app()
    async with client(app) as http:
        await store_one_of_each_target(http)
        bodies = (await http.get("/_simulator/events", params={"bodies": "true"})).json()
        entries = (await http.get("/_simulator/events", params={"bodies": "false"})).json()
    assert bodies == [{"n": 1}, {"n": 2}, DFO_MESSAGE, WORK_ITEM]
    assert [e["body"] for e in entries] == bodies


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("detail=true", "'detail'"),
        ("bodies=true&limit=5", "'limit'"),
        ("bodies=yes", "'yes'"),
        ("bodies=", "''"),
        ("bodies=true&bodies=false", "'true&false'"),
    ],
)
async def test_inspection_refuses_an_unknown_parameter_or_value(query: str, named: str) -> None:
    app = create_app()
    async with client(app) as http:
        refused = await http.get(f"/_simulator/events?{query}")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert named in error and "bodies" in error and "\n" not in error
