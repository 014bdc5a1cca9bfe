from __future__ import annotations

import asyncio

import httpx
import pytest

from evolvekit.cxone.pool import ShardedTransport, default_transport


class HeldShard(httpx.AsyncBaseTransport):
    """Answers once ``release`` is set; counts what it saw."""

    def __init__(self, release: asyncio.Event, limits: httpx.Limits) -> None:
        self.release, self.limits = release, limits
        self.requests = 0
        self.closed = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        await self.release.wait()
        if request.url.path == "/broken":
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json={"path": request.url.path})

    async def aclose(self) -> None:
        self.closed = True


async def test_requests_go_to_the_shard_with_the_fewest_in_flight() -> None:
    release = asyncio.Event()
    made: list[HeldShard] = []

    def make(limits: httpx.Limits) -> HeldShard:
        made.append(HeldShard(release, limits))
        return made[-1]

    transport = ShardedTransport(shards=4, per_shard=3, make_shard=make)
    assert [s.limits.max_connections for s in made] == [3, 3, 3, 3]
    async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
        sent = [asyncio.create_task(http.get(f"/{n}")) for n in range(10)]
        while sum(transport.in_flight) < 10:
            await asyncio.sleep(0)
        assert sorted(transport.in_flight) == [2, 2, 3, 3]  # spread, never piled on one
        release.set()
        answers = await asyncio.gather(*sent)
        assert [a.json()["path"] for a in answers] == [f"/{n}" for n in range(10)]
        assert transport.in_flight == [0, 0, 0, 0]
        with pytest.raises(httpx.ConnectError):
            await http.get("/broken")
        assert transport.in_flight == [0, 0, 0, 0]  # a failed request is not counted for ever
    assert all(s.closed for s in made)  # closing the client closes every shard
    assert sum(s.requests for s in made) == 11


def test_shape_checks() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ShardedTransport(shards=0)
    with pytest.raises(ValueError, match="at least 1"):
        ShardedTransport(per_shard=0)


@pytest.mark.parametrize("variable", ["HTTPS_PROXY", "http_proxy", "ALL_PROXY"])
def test_a_proxy_in_the_environment_leaves_the_pool_to_httpx(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    assert isinstance(default_transport(), ShardedTransport)
    monkeypatch.setenv(variable, "http://proxy.example:3128")
    assert default_transport() is None  # httpx's own transport applies the proxy
