"""``evolvekit cxone verify``: publish events, read them back, say what arrived.

Reading back, per target:

- ``dfo``: the channel's message list, page by page with ``scrollToken``; or, with
  ``via="extraction"``, a Data Extraction job (the platform's documented way to read data
  back: one active job per tenant, >= ``extraction_spacing`` seconds between calls, a download
  URL valid for a short time);
- ``workitem``: a Data Extraction job (work items have no list endpoint);
- ``events``: the tutorial's ``GET /api/v2/events``.

Each published event is then ``arrived`` (found under its key, as sent), ``differs`` (found,
but the stored copy is not what was sent: the differing fields are named) or ``missing``.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from evolvekit.cxone.client import CXoneClient
from evolvekit.cxone.transport import PublishResult
from evolvekit.errors import CXoneError

Via = Literal["list", "extraction"]
EXTRACTION_JOBS = "/data-extraction/v1/jobs"


@dataclass
class VerifyReport:
    published: int = 0
    not_published: list[tuple[int, str]] = field(default_factory=list)  # (line, error)
    arrived: list[int] = field(default_factory=list)  # line numbers
    missing: list[tuple[int, str]] = field(default_factory=list)  # (line, key)
    differs: list[tuple[int, str, list[str]]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not (self.not_published or self.missing or self.differs)


def expected_body(client: CXoneClient, event: Any, key: str) -> Any:
    """What the target sends for ``event``: what should be stored."""
    outgoing = client.target.outgoing(event, key)
    if outgoing.params is not None:
        return dict(outgoing.params)
    return orjson.loads(outgoing.content or b"null")


def stored_key(target: str, body: Any) -> str | None:
    if isinstance(body, dict):
        name = {"dfo": "idOnExternalPlatform", "workitem": "workItemID"}.get(target)
        if name is not None and isinstance(body.get(name), str):
            return str(body[name])
    return None


def differing_fields(sent: Any, stored: Any, prefix: str = "") -> list[str]:
    """The JSON paths where ``stored`` is not ``sent``."""
    if isinstance(sent, dict) and isinstance(stored, dict):
        names = sorted(set(sent) | set(stored))
        return [
            p for n in names for p in differing_fields(sent.get(n), stored.get(n), f"{prefix}/{n}")
        ]
    return [] if sent == stored else [prefix or "/"]


class Verifier:
    def __init__(
        self,
        client: CXoneClient,
        *,
        via: Via = "list",
        poll_interval: float | None = None,
        sleep: Callable[[float], Any] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.via = via
        self.poll_interval = poll_interval
        self._sleep = sleep

    async def run(
        self, events: Sequence[Any], keys: Sequence[str | None], concurrency: int = 8
    ) -> VerifyReport:
        client = self.client
        results = await client.publish_many(events, keys=keys, concurrency=concurrency)
        report = VerifyReport(published=sum(r.ok for r in results))
        sent: list[tuple[int, str, Any]] = []
        for line, (event, result) in enumerate(zip(events, results, strict=True), start=1):
            if result.ok:
                sent.append(
                    (
                        line,
                        result.idempotency_key,
                        expected_body(client, event, result.idempotency_key),
                    )
                )
            else:
                report.not_published.append((line, result.error or result.status))
        stored = await self.read_back()
        self._compare(report, sent, stored)
        return report

    def _compare(
        self, report: VerifyReport, sent: list[tuple[int, str, Any]], stored: list[Any]
    ) -> None:
        target = self.client.target.name
        if target == "events":  # stored bodies carry no key: match equal bodies, as a multiset
            pool = Counter(orjson.dumps(b, option=orjson.OPT_SORT_KEYS) for b in stored)
            for line, key, body in sent:
                canonical = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
                if pool[canonical] > 0:
                    pool[canonical] -= 1
                    report.arrived.append(line)
                else:
                    report.missing.append((line, key))
            return
        by_key = {stored_key(target, b): b for b in stored}
        for line, key, body in sent:
            found = by_key.get(key)
            if found is None:
                report.missing.append((line, key))
            elif differing_fields(body, found):
                report.differs.append((line, key, differing_fields(body, found)))
            else:
                report.arrived.append(line)

    async def read_back(self) -> list[Any]:
        target = self.client.target.name
        if target == "events":
            return [event async for event in self.client.read_events(limit=1000)]
        if target == "dfo" and self.via == "list":
            return await self._dfo_list()
        return await self._extract(target)

    async def _dfo_list(self) -> list[Any]:
        url = await self.client.target_url()
        messages: list[Any] = []
        token: str | None = None
        while True:
            params: dict[str, str | int] = {
                "limit": 1000,
                **({"scrollToken": token} if token else {}),
            }
            response = await self.client.requests.send("GET", url, PublishResult(""), params=params)
            page = response.json()
            if not isinstance(page, dict) or not isinstance(page.get("messages"), list):
                raise CXoneError(f"{url} answered a page without a 'messages' list")
            messages += page["messages"]
            token = page.get("scrollToken")
            if not token or not page["messages"]:
                return messages

    async def _extract(self, target: str) -> list[Any]:
        """A Data Extraction job: start, poll (respecting the spacing), download."""
        client = self.client
        base = await client.api_base()
        spacing = self.poll_interval if self.poll_interval is not None else 30.0
        entity = "dfo-messages" if target == "dfo" else "work-items"
        started = await client.requests.send(
            "POST",
            base + EXTRACTION_JOBS,
            PublishResult(""),
            content=orjson.dumps({"entityName": entity, "version": "1"}),
            headers={"Content-Type": "application/json"},
        )
        job_id = started.json()["jobId"]
        for _ in range(60):
            await self._sleep(spacing)
            status = await client.requests.send(
                "GET", f"{base}{EXTRACTION_JOBS}/{job_id}", PublishResult("")
            )
            job = status.json().get("jobStatus", {})
            if job.get("status") == "SUCCEEDED":
                download = await client.http.get(job["result"]["url"])  # a signed URL: no token
                if download.status_code != 200:
                    raise CXoneError(
                        f"the extraction download answered HTTP {download.status_code}"
                    )
                lines = download.content.splitlines()
                return [orjson.loads(line) for line in lines if line.strip()]
            if job.get("status") in ("FAILED", "CANCELLED", "EXPIRED"):
                raise CXoneError(f"Data Extraction job {job_id} ended {job.get('status')}")
        raise CXoneError(f"Data Extraction job {job_id} did not finish")
