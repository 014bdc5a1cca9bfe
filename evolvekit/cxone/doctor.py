"""``evolvekit cxone doctor``: check a CXone setup step by step, with the fix for a failure.

The checks, in order: the variables the auth mode needs (names only, never values), the
discovery document, a token, its claims (the tenant), the API host, and the target endpoint
accepting a dry request. The simulator honours the ``Dry-Run`` header; a real tenant would
store the event, so against a tenant the doctor stops before writing unless asked to write
one test event. A failed check skips the ones after it (they depend on it).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import httpx

from evolvekit.cxone.client import CXoneClient
from evolvekit.cxone.config import ENV_VARS, CXoneConfig
from evolvekit.cxone.platform_auth import CXonePasswordProvider, PlatformTokenProvider
from evolvekit.cxone.targets import Target, target_for
from evolvekit.errors import EvolveKitError

Outcome = Literal["ok", "FAIL", "skip"]
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@dataclass
class Check:
    name: str
    outcome: Outcome
    detail: str
    fix: str = ""

    def lines(self, number: int) -> list[str]:
        lines = [f"  [{self.outcome:<4}] {number}. {self.name}: {self.detail}"]
        if self.fix:
            lines.append(f"           fix: {self.fix}")
        return lines


class _Failed(Exception):
    def __init__(self, detail: str, fix: str) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fix = fix


@dataclass
class DoctorReport:
    config: CXoneConfig
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.outcome != "FAIL" for c in self.checks)

    def render(self) -> str:
        head = (
            f"evolvekit cxone doctor: auth mode {self.config.auth_mode}, "
            f"target {self.config.resolved_target}"
        )
        body = [line for n, c in enumerate(self.checks, 1) for line in c.lines(n)]
        verdict = "all checks passed" if self.ok else "a check failed: see its fix above"
        return "\n".join([head, *body, verdict])


def variables_check(config: CXoneConfig, environ: Mapping[str, str]) -> Check:
    missing = config.missing_credentials()
    if missing:
        return Check(
            "variables",
            "FAIL",
            f"missing for auth mode {config.auth_mode}: {', '.join(missing)}",
            f"set {', '.join(missing)} (export NAME=... or the [cxone] section)",
        )
    present = [var for var in ENV_VARS.values() if environ.get(var)]
    shown = ", ".join(present) if present else "none (settings come from a file or flags)"
    return Check("variables", "ok", f"credentials complete; set: {shown}")


def is_simulator(config: CXoneConfig) -> bool:
    host = urlsplit(config.base_url or config.issuer).hostname
    return config.simulator or host in _LOOPBACK


class Doctor:
    """Runs the checks with one client; ``write_test_event`` allows one real write."""

    def __init__(
        self,
        config: CXoneConfig,
        *,
        environ: Mapping[str, str] | None = None,
        write_test_event: bool = False,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.environ = os.environ if environ is None else environ
        self.write_test_event = write_test_event
        self.transport = transport
        self._target_error: EvolveKitError | None = None

    async def run(self) -> DoctorReport:
        checks = [variables_check(self.config, self.environ)]
        if checks[0].outcome == "FAIL":
            return DoctorReport(self.config, checks + self._skipped(1))
        try:
            target = target_for(self.config)
        except EvolveKitError as exc:  # reported by the target check, in its place
            target, self._target_error = Target(self.config), exc
        client = CXoneClient(self.config, transport=self.transport, target=target)
        steps: list[tuple[str, Callable[[CXoneClient], Awaitable[str]]]] = [
            ("discovery", self._discovery),
            ("token", self._token),
            ("claims", self._claims),
            ("API host", self._api_host),
            (f"target {self.config.resolved_target}", self._target),
        ]
        async with client:
            for index, (name, step) in enumerate(steps):
                try:
                    checks.append(Check(name, "ok", await step(client)))
                except _Failed as failed:
                    checks.append(Check(name, "FAIL", failed.detail, failed.fix))
                    return DoctorReport(self.config, checks + self._skipped(index + 2))
        return DoctorReport(self.config, checks)

    _NAMES = ("variables", "discovery", "token", "claims", "API host", "target")

    def _skipped(self, done: int) -> list[Check]:
        return [Check(n, "skip", "not run: an earlier check failed") for n in self._NAMES[done:]]

    async def _discovery(self, client: CXoneClient) -> str:
        tokens = client.tokens
        if isinstance(tokens, CXonePasswordProvider):
            try:
                endpoint = await tokens.discover(client.http)
            except EvolveKitError as exc:
                raise _Failed(
                    str(exc),
                    f"check {ENV_VARS['issuer']} (now {self.config.issuer}) and the network",
                ) from None
            return f"token endpoint {endpoint}"
        if isinstance(tokens, PlatformTokenProvider):
            return f"access-key endpoint at {tokens.issuer} (no discovery document needed)"
        return f"not used by auth mode {self.config.auth_mode}"

    async def _token(self, client: CXoneClient) -> str:
        try:
            await client.tokens.token(client.http)
        except EvolveKitError as exc:
            raise _Failed(
                str(exc),
                "check the client id/secret and access key (regenerate the access key in "
                "CXone Admin > Employees > Access Keys if it was revoked)",
            ) from None
        grants = getattr(client.tokens, "grants", {})
        return "granted" + (f" ({', '.join(sorted(grants))} grant)" if grants else "")

    async def _claims(self, client: CXoneClient) -> str:
        tokens = client.tokens
        if not isinstance(tokens, PlatformTokenProvider):
            return "not a platform token: no claims to read"
        claims = tokens.claims
        if not tokens.tenant_id:
            raise _Failed(
                "the access token names no tenantId",
                f"set {ENV_VARS['base_url']} to the API host (e.g. https://api-na1.niceincontact.com)",
            )
        extra = ", ".join(f"{k}={claims[k]}" for k in ("icBUId", "icClusterId") if k in claims)
        return f"tenantId={tokens.tenant_id}" + (f", {extra}" if extra else "")

    async def _api_host(self, client: CXoneClient) -> str:
        try:
            base = await client.api_base()
        except EvolveKitError as exc:
            raise _Failed(
                str(exc), f"set {ENV_VARS['base_url']} to the tenant's API host"
            ) from None
        tokens = client.tokens
        area = getattr(tokens, "area", None)
        return base + (f" (area {area})" if area else "")

    async def _target(self, client: CXoneClient) -> str:
        if self._target_error is not None:
            raise _Failed(str(self._target_error), _target_fix(self.config))
        url = await client.target_url()
        simulator = is_simulator(self.config)
        if not simulator and not self.write_test_event:
            return (
                f"{url} not written to (a real tenant stores events); --write-test-event sends one"
            )
        event = {"evolvekit": "doctor test event", "id": uuid.uuid4().hex}
        try:
            result = await client.publish(
                event, f"evolvekit-doctor-{event['id']}", dry_run=simulator
            )
        except EvolveKitError as exc:
            raise _Failed(str(exc), _target_fix(self.config)) from None
        kind = "a dry request" if simulator else "one test event"
        return f"{url} accepted {kind} (HTTP {result.http_status})"


def _target_fix(config: CXoneConfig) -> str:
    target = config.resolved_target
    if target == "dfo":
        return (
            f"check {ENV_VARS['dfo_channel_id']} (now {config.dfo_channel_id}) names a "
            "Digital Experience channel of this tenant, and the template"
        )
    if target == "workitem":
        return (
            f"check {ENV_VARS['workitem_point_of_contact']} (now "
            f"{config.workitem_point_of_contact}) is a work-item point of contact"
        )
    return f"check {ENV_VARS['base_url']} and the events path ({config.events_path})"
