"""Where events come from: the HTTP ingest endpoint, JSON-lines files, the CXone poll source.

Every source ends in ``IngestLog.accept_many``: an event is in the SQLite log (WAL) before
anyone is told it was accepted, so a crash after the 202 loses nothing. The HTTP endpoint
(``create_ingest_app``, a Starlette app):

- ``POST /ingest[?subject=S]``: a JSON event or a batch (a JSON array of events), or an
  ``application/x-www-form-urlencoded`` body (CXone Studio's REST action default): form
  fields become a flat event of strings, and a field ``payload`` holding JSON is the event
  (or batch) instead. 202 with the ids assigned once durably accepted. Duplicates (same
  ``Idempotency-Key`` header, or same configured key fields) get 202 with the original id and
  ``"duplicate": true``. Bad input gets a 4xx with ``{"error", "detail"}``, never a 5xx.
- ``GET /healthz`` and ``GET /metrics`` (Prometheus text).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl

import orjson
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from evolvekit.errors import EvolveKitError, InputError, StoreError
from evolvekit.jsonio import json_type
from evolvekit.pipeline.guards import OriginGuard
from evolvekit.pipeline.ingest_log import IngestLog

if TYPE_CHECKING:
    from evolvekit.cxone.client import CXoneClient
    from evolvekit.pipeline.config import IngestSettings
    from evolvekit.pipeline.metrics import Metrics

log = logging.getLogger("evolvekit.pipeline.ingest")

MAX_KEY_LENGTH = 256
MAX_SUBJECT_LENGTH = 200
JSON_TYPES = ("application/json", "text/json")
FORM_TYPE = "application/x-www-form-urlencoded"
MAX_FORM_FIELDS = 1000
_ERROR_HEADERS = {401: {"WWW-Authenticate": "Bearer"}, 408: {"Connection": "close"}}


# --- the HTTP endpoint -----------------------------------------------------------------------

Accepted = list[tuple[int, bool]]


class EventLog(Protocol):
    """Where the endpoint stores events: the SQLite IngestLog, or (cluster mode) Redis,
    whose ``accept_many`` is a coroutine. ``[(id, duplicate), ...]``; StoreError when the
    store is unreachable (503), InputError for an event it cannot hold (400)."""

    def accept_many(
        self, items: list[tuple[Any, str | None, str | None]]
    ) -> Accepted | Awaitable[Accepted]: ...


class BadRequest(Exception):
    """A 4xx answer: ``status``, a short ``error`` code and a one-line ``detail``."""

    def __init__(self, status: int, error: str, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.error = error
        self.detail = detail


def dedupe_key_of(event: Any, fields: Iterable[str]) -> str | None:
    """``fields:[values]`` when every configured field is present as a scalar, else None."""
    names = list(fields)
    if not names or not isinstance(event, dict):
        return None
    values = []
    for name in names:
        value = event.get(name)
        if value is None or isinstance(value, dict | list):
            return None
        values.append(value)
    return "fields:" + orjson.dumps(values).decode()


def json_depth(value: Any, limit: int) -> bool:
    """Whether ``value`` (a dict or list) nests containers deeper than ``limit`` (iterative:
    no recursion on attacker-sized data)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((v, depth + 1) for v in children if isinstance(v, dict | list))
    return False


def parse_body(body: bytes, content_type: str | None) -> tuple[Any, bool]:
    """``(parsed value, was_form)``; BadRequest for a wrong type, encoding or syntax."""
    media, params = _media_type(content_type)
    charset = params.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise BadRequest(
            415, "unsupported_charset", f"charset {charset!r} is not supported: send UTF-8"
        )
    if media in JSON_TYPES or (media.startswith("application/") and media.endswith("+json")):
        return _loads(body, "the body"), False
    if media == FORM_TYPE:
        return _form_event(body), True
    shown = media or "none"
    raise BadRequest(
        415,
        "unsupported_media_type",
        f"content type {shown!r} is not accepted: send application/json or {FORM_TYPE}",
    )


def _media_type(content_type: str | None) -> tuple[str, dict[str, str]]:
    if not content_type:
        return "", {}
    media, *rest = content_type.split(";")
    params: dict[str, str] = {}
    for part in rest:
        name, sep, value = part.partition("=")
        if sep:
            params[name.strip().lower()] = value.strip().strip('"')
    return media.strip().lower(), params


def _loads(data: bytes | str, what: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(400, "malformed_json", f"{what} is not valid JSON: {exc}") from None


def _form_event(body: bytes) -> Any:
    try:
        text = body.decode("ascii")  # percent-encoded: raw non-ASCII bytes are malformed
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except UnicodeDecodeError:
        raise BadRequest(
            400, "bad_encoding", "the form body is not percent-encoded UTF-8"
        ) from None
    except ValueError as exc:
        raise BadRequest(400, "malformed_form", f"the form body is malformed: {exc}") from None
    fields = dict(pairs)  # a repeated field: the last value wins
    if not fields:
        raise BadRequest(400, "empty_body", "the form body has no fields")
    if "payload" in fields:
        return _loads(fields["payload"], "the form field 'payload'")
    return fields


class IngestEndpoint:
    """The ``/ingest``, ``/healthz`` and ``/metrics`` handlers over an IngestLog."""

    def __init__(
        self,
        log_: EventLog,
        settings: IngestSettings,
        metrics: Metrics,
        *,
        notify: Callable[[], None] = lambda: None,
        health: Callable[[], Mapping[str, Any]] = dict,
    ) -> None:
        self.log = log_
        self.settings = settings
        self.metrics = metrics
        self.notify = notify
        self.health = health
        self.accepting = True
        self._token = settings.token.encode() if settings.token else None

    def app(self) -> OriginGuard:
        """The ASGI app: the routes behind the browser-Origin check (docs/security.md)."""
        routes = Starlette(
            routes=[
                Route("/ingest", self.ingest, methods=["POST"]),
                Route("/healthz", self.healthz, methods=["GET"]),
                Route("/metrics", self.metrics_text, methods=["GET"]),
            ]
        )
        return OriginGuard(routes, self.settings.origins)

    async def healthz(self, request: Request) -> Response:
        body = {"status": "ok" if self.accepting else "stopping", **self.health()}
        return JSONResponse(body, status_code=200 if self.accepting else 503)

    async def metrics_text(self, request: Request) -> Response:
        return PlainTextResponse(
            self.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )

    async def ingest(self, request: Request) -> Response:
        try:
            return await self._ingest(request)
        except BadRequest as bad:
            self.metrics.inc("rejected")
            headers = _ERROR_HEADERS.get(bad.status)
            return JSONResponse(
                {"error": bad.error, "detail": bad.detail}, status_code=bad.status, headers=headers
            )
        except ClientDisconnect:
            return Response(status_code=400)

    async def _ingest(self, request: Request) -> Response:
        if not self.accepting:
            return JSONResponse(
                {"error": "stopping", "detail": "the service is shutting down"},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        self._authorize(request)
        subject = request.query_params.get("subject") or None
        if subject is not None and (len(subject) > MAX_SUBJECT_LENGTH or not subject.isprintable()):
            raise BadRequest(400, "bad_subject", "the subject parameter is not a subject name")
        key = request.headers.get("idempotency-key")
        if key is not None and not (0 < len(key) <= MAX_KEY_LENGTH and key.isprintable()):
            raise BadRequest(
                400,
                "bad_idempotency_key",
                f"Idempotency-Key must be 1-{MAX_KEY_LENGTH} printable characters",
            )
        body = await self._read_body(request)
        value, _ = parse_body(body, request.headers.get("content-type"))
        events, batch = self._events(value)
        items = []
        for index, event in enumerate(events):
            dedupe = (
                (f"key:{key}" if not batch else f"key:{key}#{index}")
                if key
                else dedupe_key_of(event, self.settings.dedupe_fields)
            )
            items.append((event, subject, dedupe))
        try:
            answer = self.log.accept_many(items)
            results = await answer if inspect.isawaitable(answer) else answer
        except InputError as exc:
            raise BadRequest(400, "unstorable", str(exc)) from None
        except StoreError as exc:
            log.error("ingest store failure: %s", exc)
            return JSONResponse(
                {"error": "store_unavailable", "detail": "try again later"},
                status_code=503,
                headers={"Retry-After": "1"},
            )
        fresh = sum(1 for _, dup in results if not dup)
        if fresh:
            self.metrics.inc("accepted", fresh)
            self.notify()
        if len(results) > fresh:
            self.metrics.inc("duplicates", len(results) - fresh)
        answers = [{"id": record_id, "duplicate": dup} for record_id, dup in results]
        payload: dict[str, Any] = {"results": answers} if batch else dict(answers[0])
        payload.update(accepted=fresh, duplicates=len(results) - fresh)
        return JSONResponse(payload, status_code=202)

    def _authorize(self, request: Request) -> None:
        if self._token is None:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            given.strip().encode(), self._token
        ):
            raise BadRequest(401, "unauthorized", "a valid bearer token is required")

    async def _read_body(self, request: Request) -> bytes:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                if int(declared) > limit:
                    raise BadRequest(
                        413,
                        "body_too_large",
                        f"the body is {declared} bytes, over the limit of {limit}",
                    )
            except ValueError:
                raise BadRequest(
                    400, "bad_content_length", "Content-Length is not a number"
                ) from None
        encoding = request.headers.get("content-encoding", "").strip().lower()
        if encoding not in ("", "identity"):  # never read compressed bytes as JSON
            raise BadRequest(
                415,
                "unsupported_content_encoding",
                f"Content-Encoding {encoding[:40]!r} is not accepted: send the body uncompressed",
            )
        chunks: list[bytes] = []
        size = 0
        try:  # a client trickling its body must not hold a connection for ever
            async with asyncio.timeout(self.settings.body_timeout):
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > limit:
                        raise BadRequest(
                            413, "body_too_large", f"the body is over the limit of {limit}"
                        )
                    chunks.append(chunk)
        except TimeoutError:
            raise BadRequest(
                408,
                "body_timeout",
                f"the body did not arrive within {self.settings.body_timeout:g} s",
            ) from None
        body = b"".join(chunks)
        if not body.strip():
            raise BadRequest(400, "empty_body", "the body is empty")
        return body

    def _events(self, value: Any) -> tuple[list[dict[str, Any]], bool]:
        settings = self.settings
        batch = isinstance(value, list)
        events = value if batch else [value]
        if batch and not events:
            raise BadRequest(400, "empty_batch", "the batch holds no events")
        if len(events) > settings.max_batch:
            raise BadRequest(
                413,
                "batch_too_large",
                f"the batch holds {len(events)} events, over the limit of {settings.max_batch}",
            )
        for index, event in enumerate(events):
            where = f"event {index}" if batch else "the event"
            if not isinstance(event, dict):
                raise BadRequest(
                    400, "not_an_object", f"{where} is a JSON {json_type(event)}, not an object"
                )
            if json_depth(event, settings.max_depth):
                raise BadRequest(
                    400, "too_deep", f"{where} nests deeper than {settings.max_depth} levels"
                )
            size = len(orjson.dumps(event))
            if size > settings.max_event_bytes:
                raise BadRequest(
                    413,
                    "event_too_large",
                    f"{where} is {size} bytes, over the limit of {settings.max_event_bytes}",
                )
        return events, batch


# --- JSON-lines files -------------------------------------------------------------------------


def ingest_jsonl(
    log_: IngestLog,
    path: str | Path,
    *,
    subject: str | None = None,
    max_event_bytes: int = 32 * 1024,
    chunk: int = 500,
) -> dict[str, int]:
    """Accept every line of a JSON-lines file into the ingest log.

    Each line's dedupe key is the file's absolute path and line number, so reading the same
    file again (after a restart) accepts nothing twice. A line that is not a JSON object is
    not lost: it becomes a dead letter at stage ``ingest`` holding the raw text.
    Returns ``{"accepted", "duplicates", "dead_lettered"}``.
    """
    file = Path(path)
    counts = {"accepted": 0, "duplicates": 0, "dead_lettered": 0}
    items: list[tuple[Any, str | None, str | None]] = []

    def flush() -> None:
        for _, dup in log_.accept_many(items):
            counts["duplicates" if dup else "accepted"] += 1
        items.clear()

    try:
        stream = file.open("rb")
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", file=str(file)) from None
    with stream:
        from evolvekit.jsonio import iter_jsonl

        for number, raw in iter_jsonl(stream):
            problem = None
            try:
                event = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                problem = f"line {number}: not valid JSON: {exc}"
            else:
                if not isinstance(event, dict):
                    problem = f"line {number}: a JSON {json_type(event)}, not an object"
                elif len(raw) > max_event_bytes:
                    problem = f"line {number}: {len(raw)} bytes, over {max_event_bytes}"
            if problem is not None:
                log_.dead_letter(
                    "ingest",
                    f"{file}: {problem}",
                    raw.decode("utf-8", errors="replace"),
                    subject,
                )
                counts["dead_lettered"] += 1
                continue
            items.append((event, subject, f"file:{file.resolve()}:{number}"))
            if len(items) >= chunk:
                flush()
    flush()
    return counts


# --- the CXone poll source --------------------------------------------------------------------


class CXonePollSource:
    """Reads events from the CXone events API page by page into the ingest log.

    The cursor is kept in ``cursor_file`` after each page is durably accepted, so a restart
    resumes after the last accepted page (at-least-once; the dedupe fields catch repeats).
    Do not poll the same events API the service publishes to: that would loop.
    """

    def __init__(
        self,
        client: CXoneClient,
        log_: IngestLog,
        *,
        subject: str | None,
        cursor_file: str | Path,
        dedupe_fields: Iterable[str] = (),
        page_size: int = 100,
    ) -> None:
        self.client = client
        self.log = log_
        self.subject = subject
        self.cursor_file = Path(cursor_file)
        self.dedupe_fields = tuple(dedupe_fields)
        self.page_size = page_size

    def cursor(self) -> str | None:
        try:
            text = self.cursor_file.read_text(encoding="utf-8").strip()
        except OSError:
            return None
        return text or None

    def _save_cursor(self, cursor: str) -> None:
        temporary = self.cursor_file.with_suffix(".tmp")
        temporary.write_text(cursor, encoding="utf-8")
        temporary.replace(self.cursor_file)

    async def poll_once(self) -> int:
        """Read what is new; returns how many events were accepted (not duplicates)."""
        accepted = 0
        page: list[tuple[Any, str | None, str | None]] = []
        async for event in self.client.read_events(since=self.cursor(), limit=self.page_size):
            page.append((event, self.subject, dedupe_key_of(event, self.dedupe_fields)))
        if page:
            accepted = sum(1 for _, dup in self.log.accept_many(page) if not dup)
        if self.client.last_cursor is not None:
            self._save_cursor(self.client.last_cursor)
        return accepted

    async def run(
        self,
        interval: float,
        stop: asyncio.Event,
        on_accept: Callable[[int], None] = lambda n: None,
    ) -> None:
        while not stop.is_set():
            try:
                count = await self.poll_once()
                if count:
                    on_accept(count)
            except EvolveKitError as exc:
                log.warning("CXone poll failed (will retry): %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
