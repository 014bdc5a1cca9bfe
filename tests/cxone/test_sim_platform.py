"""The simulator's DFO, work-item and Data Extraction endpoints, over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from evolvekit.cxone.simulator import SimulatorApp, create_app

CHANNEL_URL = "/dfo/3.0/channels/chat_evolvekit_sim/messages"


def message(key: str, text: str = "hi") -> dict[str, object]:
    return {
        "idOnExternalPlatform": key,
        "direction": "inbound",
        "thread": {"idOnExternalPlatform": "t-1"},
        "messageContent": {"type": "TEXT", "payload": {"text": text}},
        "authorEndUserIdentity": {"idOnExternalPlatform": "u-1"},
    }


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app(clock: Clock) -> SimulatorApp:
    return create_app("cxone", clock=clock, extraction_spacing=30, extraction_url_ttl=30)


@pytest.fixture
async def http(app: SimulatorApp) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sim"
    ) as client:
        answer = await client.post(
            "/authentication/v1/token/access-key",
            json={"accessKeyId": "AK", "accessKeySecret": "AS"},
        )
        token = answer.json()["access_token"]
        client.headers.update({"Authorization": f"Bearer {token}", "Accept": "application/json"})
        yield client


async def test_dfo_validation_errors_are_dfo_shaped(http: httpx.AsyncClient) -> None:
    bad = {"idOnExternalPlatform": "", "direction": "sideways", "messageContent": {"type": "X"}}
    answer = await http.post(CHANNEL_URL, json=bad)
    assert answer.status_code == 400
    fields = {e["field"] for e in answer.json()["errors"]}
    assert {"idOnExternalPlatform", "direction", "messageContent.type"} <= fields
    assert all({"field", "message", "errorCode"} == set(e) for e in answer.json()["errors"])
    quirk = await http.post(CHANNEL_URL, json=message("m"), headers={"Accept": "text/html"})
    assert quirk.status_code == 406 and "correlationid" in quirk.headers


async def test_dfo_list_pages_with_a_scroll_token(http: httpx.AsyncClient) -> None:
    for n in range(5):
        assert (await http.post(CHANNEL_URL, json=message(f"m-{n}"))).status_code == 201
    keys: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        params = {"limit": "2", **({"scrollToken": token} if token else {})}
        page = (await http.get(CHANNEL_URL, params=params)).json()
        pages += 1
        assert page["hits"] == 5
        keys += [m["idOnExternalPlatform"] for m in page["messages"]]
        token = page["scrollToken"]
        if token is None:
            break
    assert keys == [f"m-{n}" for n in range(5)] and pages == 3


async def test_work_items_need_a_point_of_contact(http: httpx.AsyncClient) -> None:
    url = "/inContactAPI/services/v30.0/interactions/work-items"
    missing = await http.post(url, params={"workItemID": "w"})
    assert missing.status_code == 400 and "pointOfContact" in missing.json()["error_description"]


async def test_data_extraction_spacing_one_job_and_url_lifetime(
    http: httpx.AsyncClient, app: SimulatorApp, clock: Clock
) -> None:
    await http.post(CHANNEL_URL, json=message("m-1"))
    job = await http.post("/data-extraction/v1/jobs", json={"entityName": "dfo-messages"})
    assert job.status_code == 202
    job_id = job.json()["jobId"]
    too_soon = await http.get(f"/data-extraction/v1/jobs/{job_id}")
    assert too_soon.status_code == 429
    clock.now += 30
    busy = await http.post("/data-extraction/v1/jobs", json={})
    assert busy.status_code == 409  # one active job per tenant
    clock.now += 30
    status = (await http.get(f"/data-extraction/v1/jobs/{job_id}")).json()
    assert status["jobStatus"]["status"] == "SUCCEEDED"
    url = status["jobStatus"]["result"]["url"]
    download = await http.get(url)
    assert download.status_code == 200 and b'"m-1"' in download.content
    clock.now += 31
    assert (await http.get(url)).status_code == 403  # the URL has expired
