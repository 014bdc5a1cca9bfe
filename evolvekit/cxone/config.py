"""CXone connection settings: endpoints, credentials (kept secret), retry and pacing.

Defaults are the tutorial's (``https://{region}.cxone.com``, ``/oauth/token``,
``/api/v2/events``, scopes ``events:ingest events:read``); every endpoint is a setting, so the
real platform (OpenID discovery, password grant, ``api-{area}`` hosts) and the built-in
simulator are configurations of the same client.

Secrets live in :class:`Secret`, which is *not* a ``str``: it cannot leak through string
formatting, ``repr``, logging or notebook display; only ``.reveal()`` hands out the value.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, cast, get_args
from urllib.parse import urlsplit

from evolvekit.errors import ConfigError

AuthMode = Literal["client_credentials", "cxone_password", "cxone_access_key", "bearer"]
AUTH_MODES: tuple[str, ...] = get_args(AuthMode)
TargetName = Literal["events", "dfo", "workitem"]
TARGETS: tuple[str, ...] = get_args(TargetName)
_PLATFORM_AUTH = ("cxone_password", "cxone_access_key")

DEFAULT_REGION = "api-us-1"
DEFAULT_ISSUER = "https://cxone.niceincontact.com"
DEFAULT_SCOPE = "events:ingest events:read"
SIMULATOR_CLIENT_ID = "evolvekit-simulator"
SIMULATOR_ACCESS_KEY_ID = "simulator-access-key"
SIMULATOR_ACCESS_KEY_SECRET = "simulator-access-secret"
SIMULATOR_CLIENT_SECRET = "simulator-secret"  # a public placeholder: the simulator accepts any
SIMULATOR_DFO_CHANNEL = "chat_evolvekit_sim"  # the simulator's one DFO channel
SIMULATOR_POINT_OF_CONTACT = "evolvekit-sim-poc"

# Environment variable for each setting read by from_env.
ENV_VARS: dict[str, str] = {
    "base_url": "CXONE_BASE_URL",
    "region": "CXONE_REGION",
    "client_id": "CXONE_CLIENT_ID",
    "client_secret": "CXONE_CLIENT_SECRET",
    "access_key_id": "CXONE_ACCESS_KEY_ID",
    "access_key_secret": "CXONE_ACCESS_KEY_SECRET",
    "auth_mode": "CXONE_AUTH_MODE",
    "token": "CXONE_TOKEN",
    "issuer": "CXONE_ISSUER",
    "scope": "CXONE_SCOPE",
    "target": "CXONE_TARGET",
    "dfo_channel_id": "CXONE_DFO_CHANNEL_ID",
    "workitem_point_of_contact": "CXONE_WORKITEM_POINT_OF_CONTACT",
    "template": "CXONE_TEMPLATE",
}
# The variables that hold or choose credentials (the others say where and what to publish).
CREDENTIAL_VARS: tuple[str, ...] = tuple(
    ENV_VARS[n]
    for n in (
        "client_id",
        "client_secret",
        "access_key_id",
        "access_key_secret",
        "auth_mode",
        "token",
    )
)
_SECRET_FIELDS = ("client_secret", "access_key_secret", "token")


class Secret:
    """A credential that never shows itself; ``reveal()`` returns the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret holds a str")
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('****')"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def _repr_html_(self) -> str:
        return "<code>Secret('****')</code>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:
        # Pickling would copy the secret to disk or other processes behind the user's back.
        raise TypeError("Secret cannot be pickled")


def _secret(value: str | Secret | None) -> Secret | None:
    if value is None or isinstance(value, Secret):
        return value
    return Secret(value)


@dataclass(frozen=True, repr=False)
class CXoneConfig:
    """Everything the CXone client needs. Build with ``from_env``, ``from_mapping`` or
    ``for_simulator``, or directly; ``replace(**changes)`` returns a modified copy."""

    base_url: str | None = None
    region: str = DEFAULT_REGION
    token_url: str | None = None
    token_path: str = "/oauth/token"
    events_path: str = "/api/v2/events"
    scope: str = DEFAULT_SCOPE
    auth_mode: AuthMode = "client_credentials"
    client_id: str | None = None
    client_secret: Secret | None = None
    access_key_id: str | None = None
    access_key_secret: Secret | None = None
    token: Secret | None = None
    issuer: str = DEFAULT_ISSUER
    discover_api_endpoint: bool = True  # cxone_password without base_url: ask the platform
    # What to publish as: events (the tutorial's API), dfo (DFO 3.0 messages) or workitem.
    target: str | None = None  # None: dfo for the platform's auth modes, else events
    dfo_channel_id: str | None = None
    workitem_point_of_contact: str | None = None
    template: str | None = None  # a template file (dfo, workitem); None: the built-in one
    # Retries and timing.
    max_attempts: int = 6
    max_token_refreshes: int = 3  # consecutive 401s answered with a new token, per event
    backoff_base: float = 0.5
    backoff_cap: float = 30.0
    retry_after_cap: float = 60.0
    token_skew_seconds: float = 60.0
    default_token_ttl: float = 3600.0
    timeout: float = 30.0
    connect_timeout: float = 5.0
    # Client-side pacing for publish_many.
    rate_limit_initial: float = 50.0
    rate_limit_min: float = 1.0
    rate_limit_max: float = 2000.0
    simulator: bool = field(default=False)

    def __post_init__(self) -> None:
        for name in _SECRET_FIELDS:
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, Secret(value))
        if self.auth_mode not in AUTH_MODES:
            raise ConfigError(f"auth_mode {self.auth_mode!r} is not one of {', '.join(AUTH_MODES)}")
        if self.target is not None and self.target not in TARGETS:
            raise ConfigError(f"target {self.target!r} is not one of {', '.join(TARGETS)}")
        if self.max_attempts < 1:
            raise ConfigError("max_attempts must be at least 1")
        for name in (
            "backoff_base",
            "backoff_cap",
            "retry_after_cap",
            "token_skew_seconds",
            "timeout",
            "connect_timeout",
        ):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative")
        if self.base_url is not None:
            _check_url(self.base_url, "base_url")
            object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if self.token_url is not None:
            _check_url(self.token_url, "token_url")

    # --- derived endpoints ----------------------------------------------------------------
    @property
    def api_base_url(self) -> str:
        """Where the events API lives (``https://{region}.cxone.com`` unless set)."""
        return self.base_url or f"https://{self.region}.cxone.com"

    @property
    def resolved_token_url(self) -> str:
        return self.token_url or self.api_base_url + self.token_path

    @property
    def events_url(self) -> str:
        return self.api_base_url + self.events_path

    @property
    def needs_api_discovery(self) -> bool:
        return (
            self.auth_mode in _PLATFORM_AUTH
            and self.base_url is None
            and self.discover_api_endpoint
        )

    @property
    def resolved_target(self) -> TargetName:
        """The target: as set, else ``dfo`` for the platform's auth modes, else ``events``."""
        if self.target is not None:
            return cast(TargetName, self.target)
        return "dfo" if self.auth_mode in _PLATFORM_AUTH else "events"

    # --- helpers --------------------------------------------------------------------------
    @property
    def is_simulator(self) -> bool:
        return self.simulator

    @property
    def has_credentials(self) -> bool:
        """True when the configured auth mode has what it needs."""
        return not self.missing_credentials()

    def missing_credentials(self) -> list[str]:
        """Environment variables that would supply the missing credentials (empty if none)."""
        missing: list[str] = []
        if self.auth_mode == "bearer":
            if not self.token:
                missing.append(ENV_VARS["token"])
            return missing
        if self.auth_mode != "cxone_access_key":
            if not self.client_id:
                missing.append(ENV_VARS["client_id"])
            if not self.client_secret:
                missing.append(ENV_VARS["client_secret"])
        if self.auth_mode in _PLATFORM_AUTH:
            if not self.access_key_id:
                missing.append(ENV_VARS["access_key_id"])
            if not self.access_key_secret:
                missing.append(ENV_VARS["access_key_secret"])
        return missing

    def require_credentials(self) -> None:
        """Raise ConfigError naming the variables to set, before any request is made."""
        missing = self.missing_credentials()
        if missing:
            raise ConfigError(
                f"CXone credentials missing for auth mode {self.auth_mode}: set "
                + ", ".join(missing)
                + " (or publish to the built-in simulator by giving no URL and no credentials)"
            )

    def replace(self, **changes: Any) -> CXoneConfig:
        return dataclasses.replace(self, **changes)

    def __repr__(self) -> str:
        shown = []
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if value == f.default:
                continue
            shown.append(f"{f.name}={value!r}")  # Secret's repr is masked
        return f"CXoneConfig({', '.join(shown)})"

    # --- constructors ---------------------------------------------------------------------
    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> CXoneConfig:
        """Settings from ``CXONE_*`` variables; keyword ``overrides`` win over them.

        The auth mode is ``CXONE_AUTH_MODE`` if set, else ``bearer`` when only ``CXONE_TOKEN``
        is given, ``cxone_password`` when an access key is given with a client id,
        ``cxone_access_key`` when an access key is given alone, else ``client_credentials``.
        """
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for name, var in ENV_VARS.items():
            raw = env.get(var)
            if raw is not None and raw.strip():
                values[name] = raw.strip()
        if "auth_mode" not in values:
            if "access_key_id" in values or "access_key_secret" in values:
                has_client = "client_id" in values or "client_secret" in values
                values["auth_mode"] = "cxone_password" if has_client else "cxone_access_key"
            elif "token" in values and "client_id" not in values:
                values["auth_mode"] = "bearer"
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls._build(values, source="environment")

    @classmethod
    def from_mapping(cls, section: Mapping[str, Any], *, source: str = "config") -> CXoneConfig:
        """Settings from a config-file section (e.g. ``[cxone]`` in TOML); keys are field names."""
        return cls._build(dict(section), source=source)

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        section: str = "cxone",
        environ: Mapping[str, str] | None = None,
    ) -> CXoneConfig:
        """Settings from the ``[section]`` table of a TOML file (keys are field names), with
        ``CXONE_*`` variables filling in what the file leaves out, so credentials can stay
        in the environment. ConfigError names the file (and line) of a problem."""
        where = os.fspath(path)
        try:
            with open(where, "rb") as handle:
                document = tomllib.load(handle)
        except OSError as exc:
            raise ConfigError(f"cannot read: {exc.strerror}", file=where) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"not valid TOML: {exc}", file=where) from None
        table = document.get(section)
        if not isinstance(table, dict):
            raise ConfigError(f"no [{section}] table", file=where)
        from_environment = cls.from_env(environ)
        values = {
            name: getattr(from_environment, name)
            for name in ENV_VARS
            if name not in table and getattr(from_environment, name) != _default(name)
        }
        values.update(table)
        return cls._build(values, source=f"{where} [{section}]")

    @classmethod
    def for_simulator(
        cls, base_url: str, *, profile: str = "tutorial", **overrides: Any
    ) -> CXoneConfig:
        """Settings for the built-in simulator at ``base_url`` (placeholder credentials)."""
        base = base_url.rstrip("/")
        values: dict[str, Any] = {
            "base_url": base,
            "client_id": SIMULATOR_CLIENT_ID,
            "client_secret": SIMULATOR_CLIENT_SECRET,
            "dfo_channel_id": SIMULATOR_DFO_CHANNEL,
            "workitem_point_of_contact": SIMULATOR_POINT_OF_CONTACT,
            "simulator": True,
        }
        if profile == "cxone":
            values.update(
                auth_mode="cxone_password",
                issuer=base,
                access_key_id=SIMULATOR_ACCESS_KEY_ID,
                access_key_secret=SIMULATOR_ACCESS_KEY_SECRET,
            )
        elif profile != "tutorial":
            raise ConfigError(f"unknown simulator profile {profile!r} (tutorial or cxone)")
        values.update(overrides)
        return cls._build(values, source="simulator")

    @classmethod
    def _build(cls, values: dict[str, Any], *, source: str) -> CXoneConfig:
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"{source}: unknown CXone setting(s): {', '.join(unknown)}")
        converted: dict[str, Any] = {}
        for name, value in values.items():
            converted[name] = _convert(name, value, known[name].default, source)
        return cls(**converted)


def _default(name: str) -> Any:
    return CXoneConfig.__dataclass_fields__[name].default


def _convert(name: str, value: Any, default: Any, source: str) -> Any:
    if name in _SECRET_FIELDS:
        if not isinstance(value, str | Secret):
            raise ConfigError(f"{source}: {name} must be a string")
        return _secret(value)
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"{source}: {name} must be true or false, not {value!r}")
    if isinstance(default, int | float) and not isinstance(default, bool):
        if isinstance(value, bool):
            raise ConfigError(f"{source}: {name} must be a number, not {value!r}")
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{source}: {name} must be a number, not {value!r}") from None
        if isinstance(default, int):
            if number != int(number):
                raise ConfigError(f"{source}: {name} must be a whole number, not {value!r}")
            return int(number)
        return number
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{source}: {name} must be a string, not {value!r}")
    return value


def _check_url(url: str, name: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        raise ConfigError(f"{name} {url!r} is not an http(s) URL")
