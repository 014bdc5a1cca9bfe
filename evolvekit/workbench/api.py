"""The synchronous notebook API: ``publish`` and ``broadcast`` in one call each, no plumbing.

A notebook cell already runs an event loop; these functions do the threads and loops
themselves and return a result table (``_repr_html_`` renders it as a sortable table, and
``to_dataframe()`` gives a DataFrame):

    report = ek.workbench.publish(events, faults="429x2")      # the built-in simulator
    report = ek.workbench.broadcast(events, version="2.0.0", consumers=["3.0.0"])

Neither needs ipywidgets; both show a tqdm progress bar while they run (``progress=False``
turns it off).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode

import httpx

from evolvekit import jsonio
from evolvekit.errors import InputError
from evolvekit.frames import DEFAULT_KEY_FIELD, business_key, dataframe
from evolvekit.workbench._common import esc, key_cell, run_coroutine, table, wrap
from evolvekit.workbench.feed import FRAME_COLUMNS, ConsumerFeed, frame_records

if TYPE_CHECKING:
    from evolvekit.cxone.client import PublishResult
    from evolvekit.cxone.config import CXoneConfig
    from evolvekit.schema.registry import SchemaRegistry

RESULT_COLUMNS: Final = (
    "key", "status", "http_status", "attempts", "waited_s", "http_429s", "idempotency_key",
    "error",
)  # fmt: skip
ATTEMPT_COLUMNS: Final = (
    "ms", "method", "path", "key", "idempotency_key", "status", "retry_after", "error",
)  # fmt: skip
# Fast retries against the local simulator, so a fault demo takes a second.
SIMULATOR_RETRY: Final[dict[str, Any]] = {"backoff_base": 0.05, "backoff_cap": 0.5}


class RecordingTransport(httpx.AsyncBaseTransport):
    """Forwards to ``inner`` and notes each attempt; credentials are never recorded."""

    def __init__(self, inner: httpx.AsyncBaseTransport, log: list[dict[str, Any]]) -> None:
        self.inner = inner
        self.log = log
        self.started = time.monotonic()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        entry: dict[str, Any] = {
            "ms": round((time.monotonic() - self.started) * 1000),
            "method": request.method,
            "path": request.url.path,
            "idempotency_key": request.headers.get("Idempotency-Key"),
            "status": None,
            "retry_after": None,
            "error": None,
        }
        try:
            response = await self.inner.handle_async_request(request)
        except httpx.TransportError as exc:
            entry["error"] = type(exc).__name__
            self.log.append(entry)
            raise
        entry["status"] = response.status_code
        entry["retry_after"] = response.headers.get("Retry-After")
        self.log.append(entry)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


ProgressFn = Callable[[int, int], None]


def publish_recorded(
    config: CXoneConfig,
    events: Sequence[Mapping[str, Any]],
    *,
    concurrency: int = 4,
    on_progress: ProgressFn | None = None,
) -> tuple[list[PublishResult], list[dict[str, Any]]]:
    """Publish ``events`` with ``config``; returns the results and every HTTP attempt."""
    from evolvekit import CXoneClient  # type: ignore[attr-defined]  # the public name

    log: list[dict[str, Any]] = []

    def progress(done: int, total: int, _: object) -> None:
        if on_progress is not None:
            on_progress(done, total)

    async def run() -> list[PublishResult]:
        transport = RecordingTransport(httpx.AsyncHTTPTransport(), log)
        async with CXoneClient(config, transport=transport) as client:
            return await client.publish_many(
                [dict(e) for e in events], concurrency=concurrency, on_progress=progress
            )

    return run_coroutine(run), log


@dataclass
class PublishReport:
    """What ``publish`` did: one result per event (with its business key) and every attempt."""

    events: list[Mapping[str, Any]]
    results: list[PublishResult]
    attempts: list[dict[str, Any]]
    key_field: str = DEFAULT_KEY_FIELD
    stored: list[Any] = field(default_factory=list)
    simulator_stats: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.results) and all(r.ok for r in self.results)

    @property
    def http_429s(self) -> int:
        """429 answers the client saw (injected faults and the rate limit alike): the sum of
        the results' ``throttled``, and what the simulator's ``throttled`` counts."""
        return sum(a["status"] == 429 for a in self.attempts)

    def records(self) -> list[dict[str, Any]]:
        return result_records(self.events, self.results, self.key_field)

    def attempt_records(self) -> list[dict[str, Any]]:
        return attempt_records(self.events, self.results, self.attempts, self.key_field)

    def to_dataframe(self) -> Any:
        """One row per event: business key, status, HTTP, attempts, waits, 429s, error."""
        return dataframe(self.records(), RESULT_COLUMNS)

    def attempts_dataframe(self) -> Any:
        return dataframe(self.attempt_records(), ATTEMPT_COLUMNS)

    def _repr_html_(self) -> str:
        published = sum(r.ok for r in self.results)
        css = "ek-ok" if published == len(self.results) else "ek-bad"
        return wrap(
            f'<span class="ek-badge {css}">{published}/{len(self.results)} published</span> '
            f"{len(self.attempts)} HTTP attempt(s), {self.http_429s} throttled (answered 429)"
            + results_table(self.records(), self.key_field)
        )


def result_records(
    events: Sequence[Mapping[str, Any]], results: Sequence[PublishResult], key_field: str
) -> list[dict[str, Any]]:
    return [
        {
            "key": business_key(event, key_field),
            "status": r.status,
            "http_status": r.http_status,
            "attempts": r.attempts,
            "waited_s": round(r.waited_seconds, 3),
            "http_429s": r.throttled,
            "idempotency_key": r.idempotency_key,
            "error": r.error,
        }
        for event, r in zip(events, results, strict=False)
    ]


def attempt_records(
    events: Sequence[Mapping[str, Any]],
    results: Sequence[PublishResult],
    attempts: Sequence[Mapping[str, Any]],
    key_field: str,
) -> list[dict[str, Any]]:
    """The attempts, each with the business key of the event its idempotency key belongs to."""
    keys = {
        r.idempotency_key: business_key(e, key_field)
        for e, r in zip(events, results, strict=False)
    }
    return [{**a, "key": keys.get(a["idempotency_key"] or "")} for a in attempts]


def results_table(records: Sequence[Mapping[str, Any]], key_field: str) -> str:
    rows = [
        [key_cell({key_field: r["key"]}, key_field), esc(r["status"]),
         esc(r["http_status"] or ""), str(r["attempts"]), f"{r['waited_s']:.2f}",
         str(r["http_429s"]), f"<code>{esc(r['idempotency_key'])}</code>", esc(r["error"] or "")]
        for r in records
    ]  # fmt: skip
    headers = [key_field, "status", "HTTP", "attempts", "waited s", "429s", "idempotency key",
               "error"]  # fmt: skip
    return table(headers, rows)


def _progress_bar(total: int, what: str, enabled: bool) -> tuple[ProgressFn, Callable[[], None]]:
    if not enabled:
        return (lambda done, total: None), (lambda: None)
    from tqdm.auto import tqdm

    bar = tqdm(total=total, desc=what, unit="event")

    def update(done: int, _total: int) -> None:
        bar.update(done - bar.n)

    return update, bar.close


def publish(
    events: Sequence[Mapping[str, Any]],
    *,
    config: CXoneConfig | None = None,
    faults: str = "",
    key_field: str = DEFAULT_KEY_FIELD,
    concurrency: int = 4,
    progress: bool = True,
) -> PublishReport:
    """Publish ``events`` and return the result table.

    Without ``config``: to a fresh built-in CXone simulator (with ``faults`` injected, DESIGN.md's
    SPEC), which is stopped afterwards; the report then also holds what it stored. With a
    ``CXoneConfig``: to that tenant (``faults`` must be empty).
    """
    events = list(events)
    if not events:
        raise InputError("no events to publish")
    update, done = _progress_bar(len(events), "publish", progress)
    try:
        if config is not None:
            if faults:
                raise InputError("faults can only be injected into the built-in simulator")
            results, log = publish_recorded(config, events, concurrency=concurrency,
                                            on_progress=update)  # fmt: skip
            return PublishReport(events, results, log, key_field)
        return _publish_to_simulator(events, faults, key_field, concurrency, update)
    finally:
        done()


def _publish_to_simulator(
    events: list[Mapping[str, Any]], faults: str, key_field: str, concurrency: int,
    update: ProgressFn,
) -> PublishReport:  # fmt: skip
    from evolvekit import CXoneConfig  # type: ignore[attr-defined]  # the public name
    from evolvekit.cxone.simulator import SimulatorServer, create_app

    app = create_app("tutorial")
    app.state.set_faults(faults)
    server = SimulatorServer(app)
    server.start()
    try:
        config = CXoneConfig.for_simulator(server.base_url, **SIMULATOR_RETRY)
        results, log = publish_recorded(config, events, concurrency=concurrency,
                                        on_progress=update)  # fmt: skip
        return PublishReport(events, results, log, key_field, app.state.events(),
                             app.state.snapshot())  # fmt: skip
    finally:
        server.stop()


@dataclass
class BroadcastReport:
    """What ``broadcast`` did: the seqs sent and what each pinned consumer received."""

    seqs: list[int]
    received: dict[str, list[dict[str, Any]]]
    key_field: str = DEFAULT_KEY_FIELD
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors and all(len(f) == len(self.seqs) for f in self.received.values())

    def records(self) -> list[dict[str, Any]]:
        return [
            {"consumer": consumer, **record}
            for consumer, frames in self.received.items()
            for record in frame_records(frames, self.key_field)
        ]

    def to_dataframe(self) -> Any:
        """One row per received frame: consumer, seq, version, subject, key, payload."""
        return dataframe(self.records(), ("consumer", *FRAME_COLUMNS))

    def _repr_html_(self) -> str:
        rows = [
            [esc(r["consumer"]), str(r["seq"]), esc(r["schema_version"]),
             key_cell(r["payload"], self.key_field),
             f"<code>{esc(jsonio.dumps_str(r['payload']))}</code>"]
            for r in self.records()
        ]  # fmt: skip
        errors = "".join(f'<div class="ek-error">{esc(v)}: {esc(e)}</div>'
                         for v, e in self.errors.items())  # fmt: skip
        return wrap(
            f"<b>{len(self.seqs)} event(s) sent</b>, received by "
            + ", ".join(f"{esc(v)}: {len(f)}" for v, f in self.received.items())
            + errors
            + table(["consumer", "seq", "version", self.key_field, "payload"], rows)
        )


def broadcast(
    events: Sequence[Mapping[str, Any]],
    *,
    subject: str = "interaction.completed",
    version: str,
    consumers: Sequence[str] = (),
    schemas: str | Path | SchemaRegistry | None = None,
    rules: str | Path | None = None,
    key_field: str = DEFAULT_KEY_FIELD,
    timeout: float = 30.0,
    progress: bool = True,
) -> BroadcastReport:
    """Broadcast ``events`` (of ``subject@version``) to consumers pinned to ``consumers``.

    Starts a broadcaster on a free port, connects one consumer per version, sends, waits
    until each received every event (or ``timeout``), stops everything, returns the table.
    """
    from evolvekit.broadcast import BackgroundBroadcaster

    broadcaster = BackgroundBroadcaster(schemas, rules)
    broadcaster.start()
    feeds: dict[str, ConsumerFeed] = {}
    try:
        stats = broadcaster.stats()
        for consumer in consumers:
            query = urlencode({"subject": subject, "version": consumer})
            feed = ConsumerFeed(f"{broadcaster.url}?{query}", since=int(stats["last_seq"]),
                                epoch=str(stats["epoch"]))  # fmt: skip
            feed.start()
            feeds[consumer] = feed
        update, done = _progress_bar(len(events), "broadcast", progress)
        seqs = []
        try:
            for index, event in enumerate(events, start=1):
                seqs.append(broadcaster.publish(dict(event), subject=subject, version=version))
                update(index, len(events))
        finally:
            done()
        received = {v: f.wait_for(len(seqs), timeout) for v, f in feeds.items()}
        errors = {v: f.error for v, f in feeds.items() if f.error}
        return BroadcastReport(seqs, received, key_field, errors)
    finally:
        for feed in feeds.values():
            feed.stop()
        broadcaster.stop()
