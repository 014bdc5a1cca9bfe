"""Settings of the pipeline service: a TOML file (read with ``tomllib``), then flags.

Every section is a frozen dataclass with working defaults, so ``ServiceConfig()`` alone runs
a service on loopback that publishes to a simulator it starts itself. A file may set any
subset; unknown keys are errors (a typo never silently falls back to a default)::

    data_dir = "/var/lib/evolvekit"
    schemas = "schemas"
    rules = "rules"

    [ingest]
    port = 8080
    dedupe_fields = ["interactionId", "eventType"]

    [pipeline]
    sinks = ["cxone", "broadcast", "jsonl"]
    jsonl_path = "out/events.jsonl"
    targets = { "interaction.completed" = "3.0.0" }
    event_types = { "InteractionCompleted" = "interaction.completed" }

    [broadcast]
    port = 8765

    [retention]
    ingest_log = "7d"
    dead_letters = "30d"

    [cluster]               # only with a Redis URL: one node of a cluster (docs/cluster.md)
    redis_url = "redis://127.0.0.1:6379/0"
    role = "all"            # or ingest, worker, broadcast; comma lists allowed

    [cxone]                 # any CXoneConfig field; credentials better from CXONE_* variables
    base_url = "https://api-us-1.cxone.com"

Flags override the file through dotted keys (``{"ingest.port": 9000}``, see ``load_config``).
Secrets (the ingest bearer token) are read from the environment when not in the file, and
never appear in a repr.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evolvekit.errors import ConfigError
from evolvekit.store import default_data_dir

if TYPE_CHECKING:  # pragma: no cover
    from evolvekit.broadcast.options import BroadcasterOptions

INGEST_TOKEN_ENV = "EVOLVEKIT_INGEST_TOKEN"
BROADCAST_TOKENS_ENV = "EVOLVEKIT_BROADCAST_TOKENS"
REDIS_URL_ENV = "EVOLVEKIT_REDIS_URL"
CLUSTER_ROLES = ("ingest", "worker", "broadcast")
KNOWN_SINKS = ("cxone", "broadcast", "jsonl")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str | int | float, *, name: str = "duration") -> timedelta:
    """``"7d"``, ``"12h"``, ``"30m"``, ``"45s"``, ``"2w"`` or a number of seconds."""
    if isinstance(text, bool):
        raise ConfigError(f"{name}: {text!r} is not a duration")
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        match = _DURATION.match(str(text))
        if not match:
            raise ConfigError(f"{name}: {text!r} is not a duration (e.g. 7d, 12h, 30m, 45s)")
        seconds = float(match[1]) * _UNIT_SECONDS[match[2] or "s"]
    if seconds < 0:
        raise ConfigError(f"{name}: a duration cannot be negative")
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class IngestSettings:
    """The HTTP ingest endpoint."""

    host: str = "127.0.0.1"
    port: int = 8080
    max_event_bytes: int = 32 * 1024  # CXone Studio's REST action limit per event
    max_body_bytes: int = 4 * 1024 * 1024
    max_batch: int = 1000
    max_depth: int = 64
    # Studio re-sends without an Idempotency-Key: these fields identify an event then.
    dedupe_fields: tuple[str, ...] = ("interactionId", "eventType")
    token: str | None = field(default=None, repr=False)
    origins: tuple[str, ...] = ()  # browser Origins allowed to post ("*": any); none by default
    body_timeout: float = 10.0  # seconds to receive a whole request body, then 408
    max_connections: int = 1000  # open connections; beyond that new requests get 503
    keep_alive_timeout: float = 5.0  # seconds an idle keep-alive connection is kept


@dataclass(frozen=True)
class PipelineSettings:
    """How events flow: sinks, target versions, the eventType -> subject map, concurrency."""

    sinks: tuple[str, ...] = ("cxone", "broadcast")
    targets: Mapping[str, str] = field(default_factory=dict)
    event_types: Mapping[str, str] = field(default_factory=dict)
    jsonl_path: str | None = None
    concurrency: int = 256  # events in flight; each waits for its CXone slot after broadcast
    publish_concurrency: int = 16  # CXone requests in flight (raise for high-latency links)
    fetch_batch: int = 500
    outbox_interval: float = 1.0
    outbox_backoff_base: float = 2.0
    outbox_backoff_cap: float = 300.0
    shutdown_grace: float = 10.0
    # Wall-clock time one event's detect/migrate/validate may take (in a worker thread)
    # before it is dead-lettered; the event loop is never blocked by it.
    event_budget_ms: int = 1000


@dataclass(frozen=True)
class BroadcastSettings:
    """The WebSocket broadcaster (a sink)."""

    host: str = "127.0.0.1"
    port: int = 8765
    replay_size: int = 10_000
    replay_bytes: int = 64 * 1024 * 1024  # the resume ring's payload bytes, whatever the count
    queue_size: int = 1024
    tokens: tuple[str, ...] | None = field(default=None, repr=False)
    origins: tuple[str, ...] = ()  # browser Origins allowed to connect ("*": any)

    def options(self, **overrides: Any) -> BroadcasterOptions:
        """These settings as the broadcaster's one options object (``overrides`` applied)."""
        from evolvekit.broadcast.options import BroadcasterOptions

        return BroadcasterOptions.resolve(None, {
            "host": self.host, "port": self.port, "tokens": self.tokens,
            "replay_size": self.replay_size, "replay_bytes": self.replay_bytes,
            "queue_size": self.queue_size, "origins": self.origins, **overrides,
        })  # fmt: skip


@dataclass(frozen=True)
class RetentionSettings:
    """How long finished ingest records and dead letters are kept (None: forever)."""

    ingest_log: timedelta | None = timedelta(days=7)
    dead_letters: timedelta | None = timedelta(days=30)
    interval: float = 3600.0


@dataclass(frozen=True)
class SourceSettings:
    """Sources besides HTTP: JSON-lines files read at start-up, the CXone poll source."""

    jsonl: tuple[str, ...] = ()
    jsonl_subject: str | None = None
    poll: bool = False
    poll_subject: str | None = None
    poll_interval: float = 5.0


@dataclass(frozen=True)
class SimulatorSettings:
    """The simulator started when no CXone settings are given."""

    faults: str = ""
    rate_limit: float | None = None


@dataclass(frozen=True)
class ClusterSettings:
    """Cluster mode (docs/cluster.md): with ``redis_url`` set, ``serve`` is one node of a
    cluster sharing Redis Streams; without it, the single-node SQLite service."""

    redis_url: str | None = field(default=None, repr=False)  # may hold a password
    name: str = "evolvekit"  # key prefix: several clusters can share one Redis
    role: str = "all"  # all, or a comma list of ingest, worker, broadcast
    claim_idle: float = 30.0  # seconds an entry may sit unacked before another worker claims it
    max_deliveries: int = 5  # deliveries of one entry before it becomes a dead letter
    broadcast_maxlen: int = 10_000  # entries kept in the broadcast stream (resume window)
    wait_replicas: int = 0  # replicas that must hold an event before the 202 (Redis WAIT)
    wait_timeout: float = 1.0  # seconds WAIT may take
    heartbeat_interval: float = 2.0

    @property
    def roles(self) -> frozenset[str]:
        return parse_roles(self.role)


def parse_roles(text: str) -> frozenset[str]:
    """``"all"`` or a comma list of ``ingest``, ``worker``, ``broadcast``."""
    parts = {part.strip().lower() for part in text.split(",") if part.strip()}
    if "all" in parts:
        parts = (parts - {"all"}) | set(CLUSTER_ROLES)
    bad = sorted(parts - set(CLUSTER_ROLES))
    if bad or not parts:
        raise ConfigError(
            f"role {text!r}: expected all or a comma list of {', '.join(CLUSTER_ROLES)}"
        )
    return frozenset(parts)


@dataclass(frozen=True)
class ServiceConfig:
    """Everything ``evolvekit serve`` needs."""

    data_dir: Path = field(default_factory=default_data_dir)  # $EVOLVEKIT_DATA_DIR or .evolvekit
    schemas: str | None = None
    rules: str | None = None
    ingest: IngestSettings = field(default_factory=IngestSettings)
    pipeline: PipelineSettings = field(default_factory=PipelineSettings)
    broadcast: BroadcastSettings = field(default_factory=BroadcastSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    sources: SourceSettings = field(default_factory=SourceSettings)
    simulator: SimulatorSettings = field(default_factory=SimulatorSettings)
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    cxone: Mapping[str, Any] = field(default_factory=dict, repr=False)
    insecure: bool = False  # allow a non-loopback port without a token (warned about)
    source: str = "defaults"

    def replace(self, **changes: Any) -> ServiceConfig:
        return dataclasses.replace(self, **changes)


# --- reading -------------------------------------------------------------------------------

_SECTIONS: dict[str, type[Any]] = {
    "ingest": IngestSettings,
    "pipeline": PipelineSettings,
    "broadcast": BroadcastSettings,
    "retention": RetentionSettings,
    "sources": SourceSettings,
    "simulator": SimulatorSettings,
    "cluster": ClusterSettings,
}
_TOP_LEVEL = ("data_dir", "schemas", "rules", "insecure")
SECRET_KEYS = frozenset({"token", "tokens"})


def load_config(
    path: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> ServiceConfig:
    """Defaults, then the TOML file at ``path`` (if any), then ``overrides``.

    ``overrides`` uses dotted keys (``"ingest.port"``, ``"data_dir"``, ``"cxone.base_url"``);
    ``None`` values are ignored so argparse defaults can be passed straight through.
    """
    env = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    source = "defaults"
    if path is not None:
        raw = read_toml(path)
        source = str(path)
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        section, _, key = dotted.rpartition(".")
        target = raw.setdefault(section, {}) if section else raw
        if not isinstance(target, dict):
            raise ConfigError(f"{source}: [{section}] must be a table")
        target[key] = value
    flags = [dotted for dotted, value in (overrides or {}).items() if value is not None]
    if flags:  # name where a bad value may have come from
        source = "flags" if path is None else f"{source} or flags"
    return build_config(raw, source=source, environ=env)


def read_toml(path: str | Path) -> dict[str, Any]:
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the config file: {exc.strerror}", file=str(file)) from None
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError("the config file is not UTF-8", file=str(file)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", file=str(file)) from None


def build_config(
    raw: Mapping[str, Any], *, source: str = "config", environ: Mapping[str, str] | None = None
) -> ServiceConfig:
    """A ServiceConfig from a parsed TOML document (a dict of sections)."""
    env = os.environ if environ is None else environ
    unknown = sorted(set(raw) - set(_SECTIONS) - set(_TOP_LEVEL) - {"cxone"})
    if unknown:
        raise ConfigError(
            f"{source}: unknown setting(s) {', '.join(unknown)} (known: "
            f"{', '.join([*_TOP_LEVEL, *_SECTIONS, 'cxone'])})"
        )
    values: dict[str, Any] = {}
    if "data_dir" in raw:
        values["data_dir"] = Path(_string(raw["data_dir"], f"{source}: data_dir")).expanduser()
    for key in ("schemas", "rules"):
        if raw.get(key) is not None:
            values[key] = _string(raw[key], f"{source}: {key}")
    if "insecure" in raw:
        values["insecure"] = _convert(raw["insecure"], False, f"{source}: insecure", "insecure")
    for name, cls in _SECTIONS.items():
        section = raw.get(name, {})
        if not isinstance(section, Mapping):
            raise ConfigError(f"{source}: [{name}] must be a table")
        values[name] = _section(cls, section, f"{source}: [{name}]")
    cxone = raw.get("cxone", {})
    if not isinstance(cxone, Mapping):
        raise ConfigError(f"{source}: [cxone] must be a table")
    values["cxone"] = dict(cxone)
    config = ServiceConfig(source=source, **values)
    return _with_secrets_from_env(config, env)


def _with_secrets_from_env(config: ServiceConfig, env: Mapping[str, str]) -> ServiceConfig:
    ingest, broadcast, cluster = config.ingest, config.broadcast, config.cluster
    redis_url = env.get(REDIS_URL_ENV, "").strip()
    if cluster.redis_url is None and redis_url:
        cluster = dataclasses.replace(cluster, redis_url=redis_url)
    token = env.get(INGEST_TOKEN_ENV, "").strip()
    if ingest.token is None and token:
        ingest = dataclasses.replace(ingest, token=token)
    tokens = [t.strip() for t in env.get(BROADCAST_TOKENS_ENV, "").split(",") if t.strip()]
    if broadcast.tokens is None and tokens:
        broadcast = dataclasses.replace(broadcast, tokens=tuple(tokens))
    return config.replace(ingest=ingest, broadcast=broadcast, cluster=cluster)


def _section(cls: type[Any], section: Mapping[str, Any], where: str) -> Any:
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(section) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(fields)})"
        )
    defaults = cls()
    converted = {
        key: _convert(value, getattr(defaults, key), f"{where} {key}", key)
        for key, value in section.items()
    }
    settings = cls(**converted)
    _check(settings, where)
    return settings


def _convert(value: Any, default: Any, where: str, key: str) -> Any:
    if key in ("ingest_log", "dead_letters"):
        if value is None or value in ("", "forever", "never"):
            return None
        return parse_duration(value, name=where)
    if key in ("targets", "event_types"):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a table of strings")
        return {str(k): _string(v, f"{where}.{k}") for k, v in value.items()}
    if key in ("sinks", "dedupe_fields", "jsonl", "tokens", "origins"):
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{where}: expected a list of strings")
        return tuple(_string(v, where, secret=key in SECRET_KEYS) for v in value)
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: expected true or false, not {value!r}")
    if isinstance(default, int) and key not in ("rate_limit",):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected a whole number, not {value!r}")
        return value
    if isinstance(default, float) or key == "rate_limit":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(f"{where}: expected a number, not {value!r}")
        return float(value)
    return None if value is None else _string(value, where, secret=key in SECRET_KEYS)


def _string(value: Any, where: str, *, secret: bool = False) -> str:
    if not isinstance(value, str):
        # A secret's value is never echoed, even a malformed one: it may be the real token.
        shown = f"a TOML {type(value).__name__} (value not shown)" if secret else repr(value)
        raise ConfigError(f"{where}: expected a string, not {shown}")
    return value


def _check(settings: Any, where: str) -> None:
    if isinstance(settings, IngestSettings):
        for name in (
            "max_event_bytes",
            "max_body_bytes",
            "max_batch",
            "max_depth",
            "max_connections",
        ):
            if getattr(settings, name) < 1:
                raise ConfigError(f"{where} {name}: must be at least 1")
        if min(settings.body_timeout, settings.keep_alive_timeout) <= 0:
            raise ConfigError(f"{where}: body_timeout and keep_alive_timeout must be positive")
        _check_port(settings.port, f"{where} port")
    elif isinstance(settings, PipelineSettings):
        bad = [s for s in settings.sinks if s not in KNOWN_SINKS]
        if bad:
            raise ConfigError(
                f"{where} sinks: unknown sink(s) {', '.join(bad)} (known: {', '.join(KNOWN_SINKS)})"
            )
        if "jsonl" in settings.sinks and not settings.jsonl_path:
            raise ConfigError(f"{where}: the jsonl sink needs jsonl_path")
        if min(settings.concurrency, settings.fetch_batch, settings.publish_concurrency) < 1:
            raise ConfigError(
                f"{where}: concurrency, publish_concurrency and fetch_batch must be at least 1"
            )
        if settings.event_budget_ms < 1:
            raise ConfigError(f"{where} event_budget_ms: must be at least 1")
        for name in (
            "outbox_interval",
            "outbox_backoff_base",
            "outbox_backoff_cap",
            "shutdown_grace",
        ):
            if getattr(settings, name) < 0:
                raise ConfigError(f"{where} {name}: must not be negative")
    elif isinstance(settings, BroadcastSettings):
        _check_port(settings.port, f"{where} port")
        if settings.replay_size < 0 or settings.queue_size < 1 or settings.replay_bytes < 0:
            raise ConfigError(
                f"{where}: replay_size >= 0, replay_bytes >= 0 and queue_size >= 1 required"
            )
    elif isinstance(settings, SourceSettings):
        if settings.poll and not settings.poll_subject:
            raise ConfigError(f"{where}: poll needs poll_subject")
        if settings.poll_interval <= 0:
            raise ConfigError(f"{where} poll_interval: must be positive")
    elif isinstance(settings, RetentionSettings) and settings.interval <= 0:
        raise ConfigError(f"{where} interval: must be positive")
    elif isinstance(settings, ClusterSettings):
        _check_cluster(settings, where)


def _check_cluster(settings: ClusterSettings, where: str) -> None:
    try:
        settings.roles  # noqa: B018 - parses the role list
    except ConfigError as exc:
        raise ConfigError(f"{where} {exc}") from None
    if not settings.name or not settings.name.replace("-", "").replace("_", "").isalnum():
        raise ConfigError(f"{where} name: letters, digits, - and _ only")
    if min(settings.claim_idle, settings.heartbeat_interval, settings.wait_timeout) <= 0:
        raise ConfigError(f"{where}: claim_idle, heartbeat_interval, wait_timeout must be > 0")
    if settings.max_deliveries < 1 or settings.broadcast_maxlen < 1:
        raise ConfigError(f"{where}: max_deliveries and broadcast_maxlen must be at least 1")
    if settings.wait_replicas < 0:
        raise ConfigError(f"{where} wait_replicas: must not be negative")


def _check_port(port: int, where: str) -> None:
    if not 0 <= port <= 65535:
        raise ConfigError(f"{where}: {port} is not a port number (0-65535)")
