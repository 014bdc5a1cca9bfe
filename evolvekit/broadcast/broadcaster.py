"""The versioned WebSocket broadcaster (DESIGN.md, "Broadcasting") on ``websockets.asyncio``.

The fast path writes a pre-encoded WebSocket frame straight to each consumer's transport, as
``websockets.asyncio.server.broadcast`` does, but the frame is built once per version per
event instead of once per consumer (compression is off so every consumer of a version gets
the same bytes). A consumer whose write buffer is over ``write_limit`` gets a bounded queue
drained by its own task when the buffer empties; when the queue overflows the consumer is
closed with 1013 and may come back with ``since``. Nothing a consumer does can make the
broadcaster wait or grow without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
import weakref
from collections import deque
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.frames import Frame, Opcode
from websockets.http11 import Request, Response
from websockets.protocol import State

from evolvekit.broadcast import envelope
from evolvekit.broadcast.handshake import Params, TokenCheck, json_response, parse_params
from evolvekit.broadcast.hub import Encoded, Filter, Hub, MigratorLike
from evolvekit.broadcast.options import BroadcasterOptions
from evolvekit.errors import BroadcastError, EvolveKitError

if TYPE_CHECKING:
    from evolvekit.schema.registry import SchemaRegistry

log = logging.getLogger(__name__)

CLOSE_TOO_SLOW = 1013  # "try again later": the consumer may reconnect with since
CLOSE_POLICY = 1008
_MAX_REASON_BYTES = 120  # a close reason must fit in a control frame (123 bytes)


def text_frame(data: bytes) -> bytes:
    """A complete unmasked WebSocket text frame: what the server writes for ``data``."""
    return Frame(Opcode.TEXT, data).serialize(mask=False)


def build_migrator(schemas: Any, rules: Any) -> MigratorLike:
    """A Migrator from folders, a SchemaRegistry, or an already built Migrator (either arg)."""
    for given in (rules, schemas):
        if given is not None and hasattr(given, "migrate") and hasattr(given, "detect"):
            migrator: MigratorLike = given
            return migrator
    from evolvekit.mapping.migrate import Migrator

    return Migrator(schemas=schemas, rules=rules)


def within_write_limit(buffered: int, write_limit: int) -> bool:
    """Whether a consumer's socket may take another frame now: its write buffer holds at
    most ``write_limit`` bytes (asyncio's high-water mark works the same way)."""
    return buffered <= write_limit


class _Consumer:
    """One connected consumer: its filters, version and slow-path queue."""

    __slots__ = (
        "conn",
        "drain_task",
        "dropped",
        "filter",
        "protocol",
        "queue",
        "queue_limit",
        "transport",
        "version",
    )

    def __init__(
        self, conn: ServerConnection, version: str | None, filter_: Filter, queue_limit: int
    ) -> None:
        self.conn = conn
        self.protocol = conn.protocol
        self.transport = conn.transport
        self.version = version
        self.filter = filter_
        self.queue: deque[Encoded | bytes] = deque()  # bytes: a control frame
        self.queue_limit = queue_limit
        self.drain_task: asyncio.Task[None] | None = None
        self.dropped = False


class Broadcaster:
    """Serve events to WebSocket consumers, each in the schema version it asks for.

    ``async with Broadcaster(...) as b: seq = await b.publish(event, subject=...)``.
    ``schemas``/``rules``: folders, a SchemaRegistry, or a built Migrator (None: workspace).
    The settings (host, port, tokens, origins, replay ring bounds, queue and buffer sizes,
    timeouts) are a ``BroadcasterOptions``, given as ``options=`` and/or as keywords of the
    same names. ``origins``: None (the default) allows no browser, ``["*"]`` every one
    (clients that send no Origin are not browsers and are allowed).
    """

    def __init__(
        self,
        schemas: str | Path | SchemaRegistry | MigratorLike | None = None,
        rules: str | Path | MigratorLike | None = None,
        options: BroadcasterOptions | None = None,
        **settings: Any,
    ) -> None:
        self.options = opts = BroadcasterOptions.resolve(options, settings)
        self._tokens = TokenCheck(opts.tokens)
        self.migrator = build_migrator(schemas, rules)
        self.host = opts.host
        self._requested_port = opts.port
        self.replay_size = opts.replay_size
        self.replay_bytes = opts.replay_bytes
        self.queue_size = opts.queue_size
        # Browsers always send Origin; clients that send none are not browsers and are let in.
        # No list: no browser at all (any web page could otherwise read the replay ring).
        self._origins: frozenset[str] = frozenset(opts.origins or ())
        self.max_message_size = opts.max_message_size
        self.ping_interval = opts.ping_interval
        self.write_limit = opts.write_limit
        self.close_timeout = opts.close_timeout
        self.hub: Hub[_Consumer] = self._new_hub()
        self._server: Server | None = None
        # Parameters from process_request to the handler. Weak: a handshake that fails after
        # process_request (no Upgrade header, client gone) never reaches the handler.
        self._handshakes: weakref.WeakKeyDictionary[ServerConnection, Params] = (
            weakref.WeakKeyDictionary()
        )
        self._closers: set[asyncio.Task[None]] = set()
        self._connections: set[ServerConnection] = set()  # handlers running, any state
        self.port: int | None = None

    # ---- lifecycle ---------------------------------------------------------------

    async def start(self) -> int:
        """Bind and serve; returns the port. A new epoch starts with every start."""
        if self._server is not None:
            raise BroadcastError("broadcaster already started")
        self.hub = self._new_hub()
        try:
            self._server = await serve(
                self._handler,
                self.host,
                self._requested_port,
                compression=None,  # one shared frame per version needs identical bytes
                process_request=self._process_request,
                max_size=self.max_message_size,
                max_queue=4,
                ping_interval=self.ping_interval,
                ping_timeout=self.ping_interval,
                close_timeout=self.close_timeout,
                write_limit=self.write_limit,
            )
        except OSError as exc:
            raise BroadcastError(
                f"cannot listen on {self.host}:{self._requested_port}: {exc.strerror or exc}"
            ) from None
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("broadcasting on %s (epoch %s)", self.url, self.hub.epoch)
        return self.port

    def _new_hub(self) -> Hub[_Consumer]:
        return Hub(
            self.migrator,
            replay_size=self.replay_size,
            replay_bytes=self.replay_bytes,
            wrap=text_frame,
        )

    async def stop(self) -> None:
        """Flush queued frames (bounded by ``close_timeout``), then close every consumer
        with 1001 (going away). Idempotent."""
        server, self._server = self._server, None
        if server is None:
            return
        consumers = [c for group in self.hub.groups.values() for c in group]
        drains = [c.drain_task for c in consumers if c.drain_task is not None]
        if drains:
            await asyncio.wait(drains, timeout=self.close_timeout)
        server.close()  # 1001 to every open connection, 503 to handshakes in flight
        try:
            await asyncio.wait_for(server.wait_closed(), timeout=self.close_timeout + 1)
        except TimeoutError:  # consumers that never read block their close handshake
            for conn in list(self._connections):
                conn.transport.abort()
            await server.wait_closed()
        for task in list(self._closers):
            task.cancel()

    async def __aenter__(self) -> Broadcaster:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        if self.port is None:
            raise BroadcastError("broadcaster not started")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}/"

    @property
    def epoch(self) -> str:
        return self.hub.epoch

    def stats(self) -> dict[str, Any]:
        """Counters: consumers (by version), events published, frames sent, skipped,
        migration failures, slow-consumer disconnects, refused handshakes, replay ring;
        ``queued_frames``: frames waiting in slow consumers' queues now."""
        queued = sum(len(c.queue) for group in self.hub.groups.values() for c in group)
        return {**self.hub.stats(), "queued_frames": queued}

    # ---- publishing --------------------------------------------------------------

    async def publish(
        self,
        event: Any,
        *,
        subject: str,
        version: str | None = None,
        event_type: str | None = None,
    ) -> int:
        """Broadcast one event; returns its seq. ``version`` is the event's own version
        (None: detected by the Migrator)."""
        return self.publish_nowait(event, subject=subject, version=version, event_type=event_type)

    def publish_nowait(
        self,
        event: Any,
        *,
        subject: str,
        version: str | None = None,
        event_type: str | None = None,
    ) -> int:
        """``publish`` for callers already on the broadcaster's loop (never blocks)."""
        if self._server is None:
            raise BroadcastError("broadcaster not started: use 'async with' or start()")
        entry = self.hub.publish(event, subject=subject, version=version, event_type=event_type)
        for encoded, targets in self.hub.deliveries(entry):
            for consumer in targets:
                self._send(consumer, encoded)
        return entry.seq

    # ---- per-consumer delivery ---------------------------------------------------

    def _writable(self, consumer: _Consumer) -> bool:
        """The fast path: nothing queued (order), open, and the write buffer under its limit."""
        return (
            not consumer.queue
            and consumer.protocol.state is State.OPEN
            and within_write_limit(consumer.transport.get_write_buffer_size(), self.write_limit)
        )

    def _send(self, consumer: _Consumer, encoded: Encoded) -> None:
        if self._writable(consumer):
            consumer.transport.write(encoded.data)
            self._count(encoded)
        else:
            self._enqueue(consumer, encoded)

    def _count(self, encoded: Encoded) -> None:
        self.hub.counters.frames_sent += 1
        if encoded.skipped:
            self.hub.counters.skipped += 1

    def _send_control(self, consumer: _Consumer, frame: dict[str, Any]) -> None:
        data = text_frame(envelope.encode_frame(frame))
        if self._writable(consumer):
            consumer.transport.write(data)
        else:  # queued like events, so a consumer that never reads cannot grow it either
            self._enqueue(consumer, data)

    def _enqueue(self, consumer: _Consumer, item: Encoded | bytes) -> None:
        if consumer.dropped or consumer.protocol.state is not State.OPEN:
            return
        if len(consumer.queue) >= consumer.queue_limit:
            self._drop_slow(consumer)
            return
        consumer.queue.append(item)
        self._start_drain(consumer)

    def _start_drain(self, consumer: _Consumer) -> None:
        if consumer.drain_task is None:
            consumer.drain_task = asyncio.get_running_loop().create_task(self._drain(consumer))

    async def _drain(self, consumer: _Consumer) -> None:
        try:
            while consumer.queue:
                await consumer.conn.drain()  # returns once the transport resumes writing
                if consumer.protocol.state is not State.OPEN:
                    consumer.queue.clear()
                    return
                limit = self.write_limit
                while consumer.queue and within_write_limit(
                    consumer.transport.get_write_buffer_size(), limit
                ):
                    item = consumer.queue.popleft()
                    if isinstance(item, Encoded):
                        consumer.transport.write(item.data)
                        self._count(item)
                    else:  # a control frame: not an event, not counted
                        consumer.transport.write(item)
        except (OSError, ConnectionClosed):  # the peer went away while we waited
            consumer.queue.clear()
        finally:
            consumer.drain_task = None

    def _drop_slow(self, consumer: _Consumer) -> None:
        consumer.dropped = True
        consumer.queue.clear()
        self.hub.remove(consumer)
        self.hub.counters.slow_consumer_disconnects += 1
        reason = f"too slow: over {consumer.queue_limit} frames queued; reconnect with since"
        log.warning("closing slow consumer %s", _peer(consumer.conn))
        task = asyncio.get_running_loop().create_task(
            self._close(consumer.conn, CLOSE_TOO_SLOW, reason)
        )
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)

    async def _close(self, conn: ServerConnection, code: int, reason: str) -> None:
        # close() waits for the buffer to drain; a consumer that never reads would hold it
        # (and its memory) forever, so the wait is bounded and the socket aborted after it.
        try:
            async with asyncio.timeout(self.close_timeout):
                await conn.close(code, _clip(reason))
        except TimeoutError:
            conn.transport.abort()

    # ---- handshake ---------------------------------------------------------------

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        parts = urlsplit(request.path)
        try:
            query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=False)
        except ValueError:
            return self._refuse(conn, http.HTTPStatus.BAD_REQUEST, "malformed query string")
        origin = request.headers.get("Origin")
        if origin is not None and "*" not in self._origins and origin not in self._origins:
            return self._refuse(conn, http.HTTPStatus.FORBIDDEN, f"origin {origin!r} not allowed")
        if parts.path == "/stats":
            if not self._tokens.authorized(request.headers, query):
                return self._unauthorized(conn)
            return json_response(self.stats())
        if parts.path not in ("", "/"):
            return self._refuse(conn, http.HTTPStatus.NOT_FOUND, f"no such path {parts.path!r}")
        if not self._tokens.authorized(request.headers, query):
            return self._unauthorized(conn)
        try:
            params = parse_params(query, self.hub.check_version)
        except BroadcastError as exc:
            return self._refuse(conn, http.HTTPStatus.BAD_REQUEST, str(exc))
        self._handshakes[conn] = params
        return None

    def _unauthorized(self, conn: ServerConnection) -> Response:
        response = self._refuse(conn, http.HTTPStatus.UNAUTHORIZED, "missing or invalid token")
        response.headers["WWW-Authenticate"] = 'Bearer realm="evolvekit"'
        return response

    def _refuse(self, conn: ServerConnection, status: http.HTTPStatus, message: str) -> Response:
        self.hub.counters.handshakes_refused += 1
        log.info("refused %s: %d %s", _peer(conn), status, message)
        return conn.respond(status, message + "\n")

    # ---- one consumer ------------------------------------------------------------

    async def _handler(self, conn: ServerConnection) -> None:
        params = self._handshakes.pop(conn, None)
        if params is None:  # pragma: no cover - process_request always records one
            await conn.close(CLOSE_POLICY, "no handshake parameters")
            return
        consumer = _Consumer(
            conn, params.version, Filter(params.subject, params.event_type), self.queue_size
        )
        if params.since is not None:
            plan = self.hub.replay(params.since, params.epoch, consumer.filter)
            # A replay (and its resume frame) may exceed queue_size; it is bounded by
            # replay_size and shares the ring's bytes, so the consumer gets that much extra
            # room, once.
            consumer.queue_limit += len(plan.entries) + 1
            self._send_control(
                consumer,
                envelope.resume_frame(
                    recovered=plan.recovered, from_seq=plan.from_seq, epoch=self.hub.epoch
                ),
            )
            for entry in plan.entries:
                self._send(consumer, self.hub.encoded(entry, consumer.version))
        # No await since the replay: no live event can slip in between (or be sent twice).
        self.hub.add(consumer)
        self._connections.add(conn)
        try:
            async for message in conn:
                refusal = self._on_message(consumer, message)
                if refusal is not None:
                    self.hub.remove(consumer)
                    await self._close(conn, CLOSE_POLICY, refusal)
                    break
        except ConnectionClosed:
            pass
        finally:
            self._connections.discard(conn)
            self.hub.remove(consumer)
            consumer.queue.clear()
            if consumer.drain_task is not None:
                consumer.drain_task.cancel()

    def _on_message(self, consumer: _Consumer, message: str | bytes) -> str | None:
        """Apply a ``{"subscribe": {...}}`` control message; a reason closes the consumer."""
        try:
            parsed = orjson.loads(message)
            request = parsed["subscribe"]
            if not isinstance(request, dict) or set(parsed) != {"subscribe"}:
                raise ValueError
            unknown = set(request) - {"subject", "event_type", "version"}
            if unknown:
                raise BroadcastError(f"cannot subscribe by {', '.join(sorted(unknown))}")
            for key in ("subject", "event_type", "version"):
                if request.get(key) is not None and not isinstance(request[key], str):
                    raise BroadcastError(f"{key} must be a string or null")
            subject = request.get("subject", consumer.filter.subject)
            event_type = request.get("event_type", consumer.filter.event_type)
            version = consumer.version
            if "version" in request:
                version = request["version"]
                if version is not None:
                    version = self.hub.check_version(subject, version)
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return 'expected {"subscribe": {"subject", "event_type", "version"}}'
        except EvolveKitError as exc:
            return str(exc)
        if version != consumer.version and not consumer.dropped:
            self.hub.remove(consumer)
            consumer.version = version
            self.hub.add(consumer, new=False)
        consumer.filter = Filter(subject, event_type)
        self._send_control(
            consumer, envelope.subscribed_frame(subject=subject, event_type=event_type)
        )
        return None


def _clip(reason: str) -> str:
    """A close reason cut to fit a control frame, never mid-character."""
    return reason.encode()[:_MAX_REASON_BYTES].decode(errors="ignore")


def _peer(conn: ServerConnection) -> str:
    with contextlib.suppress(Exception):
        host, port = conn.remote_address[:2]
        return f"{host}:{port}"
    return "consumer"
