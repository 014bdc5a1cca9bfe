"""The simulator's memory: tokens issued, per-client token buckets, stored events, faults
and statistics, plus the settings that may change at run time. Thread-safe (one lock), so
the app can be inspected in-process while uvicorn serves it from another thread."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

from evolvekit.cxone.faults import Fault, parse_fault_spec
from evolvekit.errors import ConfigError

Profile = Literal["tutorial", "cxone"]
RetryAfterForm = Literal["seconds", "date", "none"]
RETRY_AFTER_FORMS = ("seconds", "date", "none")


@dataclass
class IssuedToken:
    client_id: str
    scopes: frozenset[str]
    expires_at: float


@dataclass(frozen=True)
class StoredEntry:
    """One stored request: where it was sent (``path``), the idempotency ``key`` it was
    stored under (Idempotency-Key, idOnExternalPlatform or workItemID), and its body."""

    path: str
    key: str | None
    body: bytes
    kind: str = "events"  # events, dfo or workitem


GRANT_TYPES = ("password", "refresh_token", "access_key", "client_credentials")


class TokenBucket:
    """Token bucket: ``rate`` per second, burst of one second's worth."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.tokens = rate
        self.updated = now

    def take(self, now: float) -> float:
        """0.0 if a request may pass, else the seconds until it could."""
        self.tokens = min(self.rate, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return 0.0
        return (1.0 - self.tokens) / self.rate


def _zero_stats() -> dict[str, int]:
    return dict.fromkeys(
        (
            "token_requests",
            "requests",
            "stored",
            "duplicates_ignored",
            "throttled",
            "throttled_by_rate_limit",
            "throttled_by_fault",
            "faults_injected",
        ),
        0,
    )


@dataclass
class SimulatorState:
    """Everything the simulator remembers; inspect it in-process or over /_simulator/."""

    profile: Profile
    token_ttl: float
    rate_limit: float | None
    client_id: str | None
    client_secret: str | None
    scopes: frozenset[str] | None
    retry_after: RetryAfterForm
    clock: Callable[[], float] = time.monotonic
    limit_headers: bool = True
    latency_ms: float = 0.0
    extraction_spacing: float = 30.0  # seconds between Data Extraction calls per tenant
    extraction_url_ttl: float = 30.0  # seconds a download URL stays valid
    entries: list[StoredEntry] = field(default_factory=list)
    receipts: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    tokens: dict[str, IssuedToken] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)  # refresh token -> client
    grants: dict[str, int] = field(default_factory=lambda: dict.fromkeys(GRANT_TYPES, 0))
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    downloads: dict[str, tuple[float, bytes]] = field(default_factory=dict)
    last_extraction_call: float | None = None
    buckets: dict[str, TokenBucket] = field(default_factory=dict)
    faults: deque[Fault] = field(default_factory=deque)
    stats: dict[str, int] = field(default_factory=_zero_stats)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def bodies(self) -> list[bytes]:
        """The stored bodies, in order (all targets)."""
        with self.lock:
            return [entry.body for entry in self.entries]

    def events(self, kind: str | None = None) -> list[Any]:
        """The stored bodies as JSON, in order; ``kind`` keeps one target's."""
        with self.lock:
            bodies = [e.body for e in self.entries if kind is None or e.kind == kind]
        return [orjson.loads(b) for b in bodies]

    def store_once(
        self, kind: str, path: str, key: str | None, body: bytes, make_receipt: Callable[[], Any]
    ) -> tuple[dict[str, Any], bool]:
        """Store ``body`` unless ``key`` was stored before for this ``kind``: the receipt
        (the original one for a repeat) and whether it was stored now."""
        with self.lock:
            receipt = self.receipts.get((kind, key)) if key else None
            if receipt is not None:
                self.stats["duplicates_ignored"] += 1
                return receipt, False
            receipt = make_receipt()
            self.entries.append(StoredEntry(path, key, body, kind))
            self.stats["stored"] += 1
            if key:
                self.receipts[(kind, key)] = receipt
            return receipt, True

    def count_grant(self, grant: str) -> None:
        with self.lock:
            self.stats["token_requests"] += 1
            self.grants[grant] = self.grants.get(grant, 0) + 1

    def reset(self) -> None:
        with self.lock:
            self.entries.clear()
            self.receipts.clear()
            self.tokens.clear()
            self.refresh_tokens.clear()
            self.grants.update(dict.fromkeys(GRANT_TYPES, 0))
            self.jobs.clear()
            self.downloads.clear()
            self.last_extraction_call = None
            self.buckets.clear()
            self.faults.clear()
            self.stats.update(_zero_stats())

    def set_faults(self, spec: str) -> None:
        parsed = parse_fault_spec(spec)
        with self.lock:
            self.faults = deque(parsed)

    def configure(self, **settings: Any) -> None:
        """Change settings at run time: ``rate_limit`` (requests/s per client, ``None`` for
        no limit), ``token_ttl`` (seconds, for tokens issued from now on), ``scopes`` (the
        most a token may hold, ``None`` for anything asked), ``retry_after`` (``seconds`` or
        ``date`` or ``none``), ``extraction_spacing`` and ``extraction_url_ttl`` (Data
        Extraction: seconds between calls, download URL lifetime), ``latency_ms`` (delay
        added to every API request, >= 0). ConfigError names a bad or unknown setting;
        nothing changes then."""
        unknown = sorted(set(settings) - set(RUNTIME_SETTINGS))
        if unknown:
            raise ConfigError(
                f"unknown simulator setting(s) {', '.join(unknown)}; "
                f"choose from spec, {', '.join(RUNTIME_SETTINGS)}"
            )
        changes: dict[str, Any] = {}
        if "rate_limit" in settings:
            rate = settings["rate_limit"]
            if rate is not None and (not _is_number(rate) or rate <= 0):
                raise ConfigError(f"rate_limit must be a positive number or null, not {rate!r}")
            changes["rate_limit"] = None if rate is None else float(rate)
        if "token_ttl" in settings:
            ttl = settings["token_ttl"]
            if not _is_number(ttl) or ttl <= 0:
                raise ConfigError(f"token_ttl must be a positive number, not {ttl!r}")
            changes["token_ttl"] = float(ttl)
        if "scopes" in settings:
            scopes = settings["scopes"]
            if scopes is not None and not isinstance(scopes, str):
                raise ConfigError(f"scopes must be a string or null, not {scopes!r}")
            changes["scopes"] = None if scopes is None else frozenset(scopes.split())
        if "retry_after" in settings:
            if settings["retry_after"] not in RETRY_AFTER_FORMS:
                raise ConfigError("retry_after must be 'seconds', 'date' or 'none'")
            changes["retry_after"] = settings["retry_after"]
        for name in ("extraction_spacing", "extraction_url_ttl"):
            if name in settings:
                value = settings[name]
                if not _is_number(value) or value < 0:
                    raise ConfigError(f"{name} must be a number >= 0, not {value!r}")
                changes[name] = float(value)
        if "latency_ms" in settings:
            latency = settings["latency_ms"]
            if not _is_number(latency) or latency < 0:
                raise ConfigError(f"latency_ms must be a number >= 0, not {latency!r}")
            changes["latency_ms"] = float(latency)
        with self.lock:
            for name, value in changes.items():
                setattr(self, name, value)
            if "rate_limit" in changes:
                self.buckets.clear()  # a new limit starts with a full burst

    def count_throttled(self, cause: str) -> None:
        """Count one 429 answer (the caller holds the lock): ``throttled`` counts every 429
        the simulator answered, as ``publish``'s ``throttled`` counts every 429 the client
        saw; ``throttled_by_rate_limit`` / ``throttled_by_fault`` split it by cause (an
        injected 429 is also among ``faults_injected``, which counts faults of every kind)."""
        self.stats["throttled"] += 1
        self.stats[cause] += 1

    def snapshot(self) -> dict[str, Any]:
        """The counters, and ``grants``: token grants by type."""
        with self.lock:
            return {**self.stats, "grants": dict(self.grants)}


RUNTIME_SETTINGS = (
    "rate_limit",
    "token_ttl",
    "scopes",
    "retry_after",
    "latency_ms",
    "extraction_spacing",
    "extraction_url_ttl",
)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
