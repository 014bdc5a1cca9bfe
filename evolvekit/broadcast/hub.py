"""The broadcaster's pure core: sequence numbers, the replay ring, per-version encoding,
consumer groups and filters, counters. No asyncio, no sockets.

Every published event becomes an :class:`Entry` in a bounded ring. The bytes sent for an
entry are computed lazily, once per (entry, version), and cached on the entry: all
consumers of a version share one ``bytes`` object, whether they receive it live or in a
replay. ``wrap`` turns the JSON bytes into what goes on the wire (the server passes a
WebSocket text-frame encoder), so that work is shared too.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

import orjson

from evolvekit.broadcast import envelope
from evolvekit.errors import BroadcastError, EvolveKitError
from evolvekit.versions import normalize_version

log = logging.getLogger(__name__)

AS_PUBLISHED = "as-published"  # the key of version-less consumers in the counters
DEFAULT_REPLAY_BYTES = 64 * 1024 * 1024
# What an entry costs besides its bytes (the Entry, its dict, the bytes objects' headers),
# measured with sys.getsizeof on CPython 3.11-3.12 and rounded up.
ENTRY_OVERHEAD = 512


class RegistryLike(Protocol):
    def versions(self, subject: str) -> list[str]: ...

    def subjects(self) -> list[str]: ...


class MigratorLike(Protocol):
    """What the hub needs from ``evolvekit.mapping.migrate.Migrator``."""

    @property
    def registry(self) -> RegistryLike: ...

    def detect(self, event: Any, subject: str) -> str: ...

    def migrate(
        self, event: Any, subject: str, to_version: str, from_version: str | None = None
    ) -> dict[str, Any]: ...


@dataclass(slots=True)
class Filter:
    """A consumer's subject / event_type filter; None matches everything."""

    subject: str | None = None
    event_type: str | None = None

    def matches(self, entry: Entry) -> bool:
        return (self.subject is None or self.subject == entry.subject) and (
            self.event_type is None or self.event_type == entry.event_type
        )

    @property
    def is_open(self) -> bool:
        return self.subject is None and self.event_type is None


class Encoded(NamedTuple):
    """The wire bytes of one entry in one version; ``skipped`` marks a skipped frame."""

    data: bytes
    skipped: bool


@dataclass(slots=True, eq=False)
class Entry:
    """One published event as the ring keeps it."""

    seq: int
    subject: str
    event_type: str | None
    source_version: str
    timestamp: Any
    payload: bytes  # the event as published, encoded once
    encoded: dict[str | None, Encoded] = field(default_factory=dict)
    size: int = 0  # bytes accounted to the ring: payload, cached encodings, overhead


class ConsumerLike(Protocol):
    version: str | None
    filter: Filter


C = TypeVar("C", bound=ConsumerLike)


@dataclass(slots=True)
class Counters:
    events_published: int = 0
    frames_sent: int = 0
    skipped: int = 0  # skipped frames sent to consumers
    migration_failures: int = 0  # (event, version) pairs that could not be migrated
    slow_consumer_disconnects: int = 0
    consumers_accepted: int = 0
    handshakes_refused: int = 0


@dataclass(frozen=True, slots=True)
class ReplayPlan:
    """What a resuming consumer gets: a resume frame, then ``entries``."""

    recovered: bool
    from_seq: int
    entries: list[Entry]


def _identity(data: bytes) -> bytes:
    return data


class Hub(Generic[C]):
    """Sequence, ring, encoding cache and consumer groups of one broadcaster run."""

    def __init__(
        self,
        migrator: MigratorLike,
        *,
        replay_size: int = 1000,
        replay_bytes: int = DEFAULT_REPLAY_BYTES,
        wrap: Callable[[bytes], bytes] = _identity,
        epoch: str | None = None,
        clock: Callable[[], str] = envelope.utc_now_iso,
    ) -> None:
        if replay_size < 0:
            raise BroadcastError(f"replay_size must be >= 0, got {replay_size}")
        if replay_bytes < 0:
            raise BroadcastError(f"replay_bytes must be >= 0, got {replay_bytes}")
        self.migrator = migrator
        self.epoch = epoch or envelope.new_epoch()
        self.last_seq = 0
        # Bounded by count AND bytes: 30 KB events x 10,000 would otherwise hold ~1 GB.
        self.ring: deque[Entry] = deque()
        self.replay_size = replay_size
        self.replay_bytes = replay_bytes
        self.ring_bytes = 0
        self.counters = Counters()
        self._wrap = wrap
        self._clock = clock
        # version -> consumers (a dict keeps insertion order and O(1) removal)
        self.groups: dict[str | None, dict[C, None]] = {}

    # ---- versions on offer -------------------------------------------------------

    def versions_on_offer(self, subject: str | None) -> list[str]:
        """The subject's versions, or every subject's (deduplicated, in order) when None."""
        registry = self.migrator.registry
        if subject is not None:
            return list(registry.versions(subject))
        seen: dict[str, None] = {}
        for name in registry.subjects():
            for version in registry.versions(name):
                seen.setdefault(version, None)
        return list(seen)

    def check_version(self, subject: str | None, version: str) -> str:
        """``version`` normalised if the registry offers it for ``subject``; else a
        BroadcastError whose message names the versions on offer."""
        try:
            wanted = normalize_version(version)
        except EvolveKitError:
            wanted = version
        try:
            offer = self.versions_on_offer(subject)
        except EvolveKitError as exc:
            raise BroadcastError(f"unknown subject {subject!r}: {exc.message}") from None
        if wanted not in offer:
            where = f" of {subject}" if subject is not None else ""
            listed = ", ".join(offer) if offer else "none"
            raise BroadcastError(f"unknown version {version!r}{where}; versions on offer: {listed}")
        return wanted

    # ---- publishing --------------------------------------------------------------

    def publish(
        self,
        event: Any,
        *,
        subject: str,
        version: str | None = None,
        event_type: str | None = None,
    ) -> Entry:
        """Record one event and give it the next seq. ``version`` is the event's own;
        None asks the Migrator. Nothing is recorded when this raises."""
        if not subject:
            raise BroadcastError("publish needs a subject")
        source = (
            normalize_version(version)
            if version is not None
            else self.migrator.detect(event, subject)
        )
        payload = envelope.encode_payload(event)
        self.last_seq += 1
        entry = Entry(
            seq=self.last_seq,
            subject=subject,
            event_type=envelope.event_type_of(event, event_type),
            source_version=source,
            timestamp=envelope.timestamp_of(event, self._clock()),
            payload=payload,
        )
        entry.size = len(payload) + ENTRY_OVERHEAD
        self.ring.append(entry)
        self.ring_bytes += entry.size
        self._trim()
        self.counters.events_published += 1
        return entry

    def append(self, entry: Entry) -> None:
        """Record an entry numbered elsewhere (cluster mode: the broadcast stream's seq, which
        must be above ``last_seq``), within the ring's bounds, as ``publish`` does."""
        if entry.seq <= self.last_seq:
            raise BroadcastError(f"seq {entry.seq} is not after {self.last_seq}")
        entry.size = len(entry.payload) + ENTRY_OVERHEAD
        self.last_seq = entry.seq
        self.ring.append(entry)
        self.ring_bytes += entry.size
        self._trim()
        self.counters.events_published += 1

    def _trim(self) -> None:
        """Evict the oldest entries until the ring is within both bounds (an entry larger
        than the whole byte budget is not kept for replay; it is still delivered live)."""
        ring = self.ring
        while ring and (len(ring) > self.replay_size or self.ring_bytes > self.replay_bytes):
            self.ring_bytes -= ring.popleft().size

    def encoded(self, entry: Entry, version: str | None) -> Encoded:
        """The wire bytes of ``entry`` for consumers of ``version`` (None: as published),
        computed on first request and cached on the entry."""
        cached = entry.encoded.get(version)
        if cached is not None:
            return cached
        target = entry.source_version if version is None else version
        result: Encoded
        try:
            payload = (
                entry.payload if target == entry.source_version else self._migrated(entry, target)
            )
        except Exception as exc:  # one bad event must never stop the broadcast
            self.counters.migration_failures += 1
            reason = self._failure_reason(entry, target, exc)
            frame = envelope.skipped_frame(seq=entry.seq, reason=reason)
            result = Encoded(self._wrap(envelope.encode_frame(frame)), True)
        else:
            data = envelope.envelope_bytes(
                seq=entry.seq,
                epoch=self.epoch,
                subject=entry.subject,
                event_type=entry.event_type,
                schema_version=target,
                timestamp=entry.timestamp,
                payload=payload,
            )
            result = Encoded(self._wrap(data), False)
        entry.encoded[version] = result
        if self.ring and entry.seq >= self.ring[0].seq:  # still in the ring: its cache counts
            added = len(result.data) + 64  # the cache's dict slot and NamedTuple
            entry.size += added
            self.ring_bytes += added
            self._trim()
        return result

    def _migrated(self, entry: Entry, target: str) -> bytes:
        # Decoding the stored bytes gives the Migrator a private copy: the caller may have
        # mutated its dict since publish, and the ring must keep what was published.
        event = orjson.loads(entry.payload)
        migrated = self.migrator.migrate(
            event, entry.subject, target, from_version=entry.source_version
        )
        return envelope.encode_payload(migrated)

    @staticmethod
    def _failure_reason(entry: Entry, target: str, exc: Exception) -> str:
        head = f"cannot migrate {entry.subject} {entry.source_version} -> {target}"
        if isinstance(exc, EvolveKitError):
            return f"{head}: {exc}"
        log.error("migration of seq %d crashed", entry.seq, exc_info=exc)
        return f"{head}: internal error ({type(exc).__name__})"

    # ---- consumers ---------------------------------------------------------------

    def add(self, consumer: C, *, new: bool = True) -> None:
        """Register a consumer under its version (``new=False``: re-filed, not counted)."""
        self.groups.setdefault(consumer.version, {})[consumer] = None
        if new:
            self.counters.consumers_accepted += 1

    def remove(self, consumer: C) -> bool:
        """Forget a consumer; False when it was not (or no longer) registered."""
        group = self.groups.get(consumer.version)
        if group is None or consumer not in group:
            return False
        del group[consumer]
        if not group:
            del self.groups[consumer.version]
        return True

    def deliveries(self, entry: Entry) -> Iterator[tuple[Encoded, list[C]]]:
        """For each version with interested consumers: the shared bytes and the consumers.
        Versions nobody listens to cost nothing."""
        for version, group in list(self.groups.items()):
            targets = [c for c in group if c.filter.matches(entry)]
            if targets:
                yield self.encoded(entry, version), targets

    def consumer_count(self) -> int:
        return sum(len(group) for group in self.groups.values())

    # ---- resume ------------------------------------------------------------------

    def replay(self, since: int, epoch: str | None, filter_: Filter | None = None) -> ReplayPlan:
        """Entries after ``since`` still in the ring. ``recovered`` is False when the ring
        no longer reaches back to ``since + 1``, when ``epoch`` is not the current one (the
        whole ring is then offered, since the consumer's numbering is from another run), or
        when ``since`` lies in the future."""
        if since < 0:
            raise BroadcastError(f"since must be >= 0, got {since}")
        oldest = self.ring[0].seq if self.ring else self.last_seq + 1
        if epoch is not None and epoch != self.epoch:
            recovered, start = False, oldest
        elif since > self.last_seq:
            recovered, start = False, self.last_seq + 1
        else:
            recovered = since + 1 >= oldest
            start = max(since + 1, oldest)
        entries = [e for e in self.ring if e.seq >= start]
        if filter_ is not None and not filter_.is_open:
            entries = [e for e in entries if filter_.matches(e)]
        return ReplayPlan(recovered=recovered, from_seq=start, entries=entries)

    # ---- counters ----------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        by_version = {
            (AS_PUBLISHED if version is None else version): len(group)
            for version, group in self.groups.items()
        }
        c = self.counters
        return {
            "epoch": self.epoch,
            "last_seq": self.last_seq,
            "consumers": sum(by_version.values()),
            "consumers_by_version": by_version,
            "events_published": c.events_published,
            "frames_sent": c.frames_sent,
            "skipped": c.skipped,
            "migration_failures": c.migration_failures,
            "slow_consumer_disconnects": c.slow_consumer_disconnects,
            "consumers_accepted": c.consumers_accepted,
            "handshakes_refused": c.handshakes_refused,
            "replay": {
                "size": len(self.ring),
                "capacity": self.replay_size,
                "bytes": self.ring_bytes,
                "capacity_bytes": self.replay_bytes,
                "oldest_seq": self.ring[0].seq if self.ring else None,
            },
        }
