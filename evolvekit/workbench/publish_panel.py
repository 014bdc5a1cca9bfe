"""``PublishPanel``: test-publish events to the built-in CXone simulator or a real tenant.

Every HTTP attempt is recorded by a thin transport wrapper (method, path, status,
``Retry-After``, idempotency key; never a header that carries a credential), so the panel
shows the client's retry logic at work, also while simulator faults are switched on.

Credentials: a password field sends its value once (on Enter or when it loses focus, not
per keystroke); the panel takes it at once as a masked ``Secret`` (Python memory only) and
empties the field, so widget state, saved or synced, never holds it. ``connect()`` hands the
secrets to a ``CXoneConfig``. ``CXONE_*`` variables work too.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import httpx
import ipywidgets as w

from evolvekit.cxone.client import CXoneClient, PublishResult
from evolvekit.cxone.config import AUTH_MODES, CXoneConfig, Secret
from evolvekit.cxone.simulator import SimulatorApp, SimulatorServer, create_app
from evolvekit.errors import ConfigError, EvolveKitError, InputError
from evolvekit.workbench._common import (
    describe,
    error_box,
    esc,
    guarded,
    json_block,
    run_coroutine,
    show,
    table,
    wrap,
)

if TYPE_CHECKING:
    from evolvekit.workbench.rule_editor import RuleEditor

TARGETS: Final = ("simulator", "tenant")
FAULT_PRESETS: Final = ("", "429x2", "503x2", "expire-token", "drop-after", "500,latency=200")
# Fast retries against the local simulator, so a notebook's fault demo takes a second.
SIMULATOR_RETRY: Final[dict[str, Any]] = {"backoff_base": 0.05, "backoff_cap": 0.5}
ATTEMPTS_SHOWN: Final = 200


class _RecordingTransport(httpx.AsyncBaseTransport):
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


class PublishPanel:
    """Publish previewed events and watch each attempt; inspect what the simulator stored."""

    def __init__(
        self,
        events: Sequence[Mapping[str, Any]] | None = None,
        *,
        source: RuleEditor | None = None,
        target: str = "simulator",
        rate_limit: float | None = None,
        concurrency: int = 4,
        retry: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.events: list[Mapping[str, Any]] = list(events or [])
        self.source = source
        self.concurrency = concurrency
        self.retry = dict(retry) if retry is not None else None
        self.environ = environ
        self.rate_limit = rate_limit
        self.attempts: list[dict[str, Any]] = []
        self.results: list[PublishResult] = []
        self.error: str | None = None
        self.simulator: SimulatorServer | None = None
        self._app: SimulatorApp | None = None
        self._tenant_config: CXoneConfig | None = None

        self.target = w.ToggleButtons(options=list(TARGETS), value=target)
        self.base_url = w.Text(placeholder="https://api-us-1.cxone.com", description="Base URL")
        self.auth_mode = w.Dropdown(options=list(AUTH_MODES), value="client_credentials",
                                    description="Auth")  # fmt: skip
        self.client_id = w.Text(description="Client id")
        self.access_key_id = w.Text(description="Key id")
        # Typed secrets, taken out of their fields as soon as the field syncs (see _take).
        self._typed_secrets: dict[str, Secret] = {}
        self.client_secret = self._password_field("client_secret", "Secret")
        self.access_key_secret = self._password_field("access_key_secret", "Key secret")
        self.token = self._password_field("token", "Token")
        self.use_env = w.Checkbox(value=True, description="also read CXONE_* variables")
        self.connect_button = w.Button(description="Use these credentials")
        self.faults = w.Combobox(options=list(FAULT_PRESETS), placeholder="e.g. 429x2,503",
                                 description="Faults")  # fmt: skip
        self.faults_button = w.Button(description="Apply faults")
        self.publish_button = w.Button(description="Publish", button_style="primary")
        self.stored_button = w.Button(description="Show stored")
        self.progress = w.IntProgress(value=0, min=0, max=1, description="Published")
        self.status = w.HTML()
        self.message = w.HTML()
        self.attempts_view = w.HTML()
        self.results_view = w.HTML()
        self.stored_view = w.HTML()

        on_error = self._show_error
        self.connect_button.on_click(guarded(self.connect, on_error))
        self.faults_button.on_click(guarded(lambda: self.set_faults(self.faults.value), on_error))
        self.publish_button.on_click(guarded(self.publish_preview, on_error))
        self.stored_button.on_click(guarded(self.show_stored, on_error))
        self.target.observe(guarded(self._draw_status, on_error), names="value")
        self.tenant_box = w.VBox([
            self.base_url, self.auth_mode, self.client_id, self.client_secret,
            self.access_key_id, self.access_key_secret, self.token, self.use_env,
            self.connect_button,
        ])  # fmt: skip
        self.widget = w.VBox(
            [
                w.HTML("<b>Publish to CXone</b>: the simulator by default, or a real tenant."),
                self.target,
                self.tenant_box,
                w.HBox([self.faults, self.faults_button]),
                w.HBox([self.publish_button, self.progress, self.stored_button]),
                self.status,
                self.message,
                self.attempts_view,
                self.results_view,
                self.stored_view,
            ]
        )
        self._draw_status()

    def _ipython_display_(self) -> None:
        show(self.widget)

    # --- the simulator ----------------------------------------------------------------

    def start_simulator(self) -> str:
        """Start the simulator in the background (once) and return its base URL."""
        if self.simulator is None:
            self._app = create_app("tutorial", rate_limit=self.rate_limit)
            server = SimulatorServer(self._app)
            server.start()
            self.simulator = server
            self._draw_status()
        return self.simulator.base_url

    def _simulator_app(self) -> SimulatorApp:
        self.start_simulator()
        assert self._app is not None
        return self._app

    def set_faults(self, spec: str) -> bool:
        """Replace the simulator's fault sequence (DESIGN.md's SPEC, ``""`` for none)."""
        try:
            if self.target.value != "simulator":
                raise InputError("faults can only be injected into the simulator")
            self._simulator_app().state.set_faults(spec)
        except EvolveKitError as exc:
            self._show_error(exc)
            return False
        self.faults.value = spec
        self.message.value = wrap(f'<span class="ek-note">Faults now: '
                                  f"<code>{esc(spec or 'none')}</code></span>")  # fmt: skip
        return True

    def stored_events(self) -> list[Any]:
        """The event bodies the simulator stored, in arrival order."""
        return self._simulator_app().state.events() if self.simulator is not None else []

    def simulator_stats(self) -> dict[str, int]:
        return self._simulator_app().state.snapshot() if self.simulator is not None else {}

    def show_stored(self) -> list[Any]:
        events = self.stored_events()
        stats = self.simulator_stats()
        self.stored_view.value = wrap(
            f"<b>Simulator stored {len(events)} event(s)</b> "
            f'<span class="ek-note">{esc(stats)}</span>' + json_block(events[-20:])
        )
        return events

    # --- credentials ------------------------------------------------------------------

    def _password_field(self, name: str, label: str) -> w.Password:
        field = w.Password(description=label, continuous_update=False)
        field.observe(lambda change: self._take(name, field, change["new"]), names="value")
        return field

    def _take(self, name: str, field: w.Password, value: str) -> None:
        """Move a typed secret out of its widget: the field is emptied straight away."""
        if not value:
            return
        self._typed_secrets[name] = Secret(value)
        field.value = ""
        field.placeholder = "received (hidden)"

    @property
    def typed_secrets(self) -> list[str]:
        """Which secrets were typed and are waiting for ``connect()`` (names, never values)."""
        return sorted(self._typed_secrets)

    def connect(self) -> CXoneConfig | None:
        """Hand the tenant settings and the typed secrets over to a ``CXoneConfig``.

        Typed secrets stay pending (masked) until a hand-over succeeds, so a missing client
        id can be filled in without typing the secret again.
        """
        for name, field in (("client_secret", self.client_secret),
                            ("access_key_secret", self.access_key_secret),
                            ("token", self.token)):  # fmt: skip
            self._take(name, field, field.value)  # in case a value arrived unobserved
        try:
            overrides: dict[str, Any] = {
                "base_url": self.base_url.value.strip() or None,
                "auth_mode": self.auth_mode.value,
                "client_id": self.client_id.value.strip() or None,
                "access_key_id": self.access_key_id.value.strip() or None,
                **self._typed_secrets,
            }
            environ = (self.environ if self.environ is not None else os.environ) \
                if self.use_env.value else {}  # fmt: skip
            config = CXoneConfig.from_env(environ, **overrides)
            config.require_credentials()
        except EvolveKitError as exc:
            self._show_error(exc)
            return None
        self._typed_secrets.clear()
        for field in (self.client_secret, self.access_key_secret, self.token):
            field.placeholder = ""
        self._tenant_config = config
        self.message.value = wrap('<span class="ek-note">Credentials taken (hidden); the '
                                  "password fields were cleared.</span>")  # fmt: skip
        return config

    def _config(self) -> CXoneConfig:
        if self.target.value == "simulator":
            overrides = SIMULATOR_RETRY if self.retry is None else self.retry
            return CXoneConfig.for_simulator(self.start_simulator(), **overrides)
        if self._tenant_config is None or self._typed_secrets:
            config = self.connect()
            if config is None:
                raise ConfigError(self.error or "tenant credentials are missing")
        assert self._tenant_config is not None
        if self.retry:
            return self._tenant_config.replace(**self.retry)
        return self._tenant_config

    # --- publishing -------------------------------------------------------------------

    def preview_events(self) -> list[Mapping[str, Any]]:
        """What Publish sends: the rule editor's valid previewed events, else ``events``."""
        if self.source is not None and self.source.outputs:
            return list(self.source.outputs)
        return list(self.events)

    def publish_preview(self) -> list[PublishResult]:
        return self.publish(self.preview_events())

    def publish(self, events: Sequence[Mapping[str, Any]]) -> list[PublishResult]:
        """Publish ``events``; returns one result per event (errors shown, never raised)."""
        self.attempts = []
        self.results = []
        self.progress.max = max(len(events), 1)
        self.progress.value = 0
        if not events:
            self._show_error(InputError("no events to publish (preview some in the rule editor)"))
            return []
        try:
            config = self._config()
            log = self.attempts

            def progress(done: int, total: int, _: PublishResult) -> None:
                self.progress.value = done

            async def run() -> list[PublishResult]:
                transport = _RecordingTransport(httpx.AsyncHTTPTransport(), log)
                async with CXoneClient(config, transport=transport) as client:
                    return await client.publish_many(
                        list(events), concurrency=self.concurrency, on_progress=progress
                    )

            self.results = run_coroutine(run)
        except (EvolveKitError, TimeoutError) as exc:
            self._show_error(exc)
            return []
        self.error = None
        self.message.value = ""
        self._draw_results()
        if self.target.value == "simulator":
            self.show_stored()
        return self.results

    # --- drawing ----------------------------------------------------------------------

    def _show_error(self, exc: BaseException) -> None:
        self.error = describe(exc)
        self.message.value = error_box(self.error)

    def _draw_status(self) -> None:
        self.tenant_box.layout.display = "" if self.target.value == "tenant" else "none"
        if self.target.value == "simulator":
            where = (f"simulator at <code>{esc(self.simulator.base_url)}</code>"
                     if self.simulator else "simulator (starts on first use)")  # fmt: skip
        else:
            where = "a CXone tenant" + (" (credentials taken)" if self._tenant_config else "")
        self.status.value = wrap(f'<span class="ek-note">Target: {where}</span>')

    def _draw_results(self) -> None:
        rows = [
            [str(a["ms"]), esc(a["method"]), f"<code>{esc(a['path'])}</code>",
             f"<code>{esc(a['idempotency_key'] or '')}</code>",
             esc(a["status"] if a["status"] is not None else a["error"]),
             esc(a["retry_after"] or "")]
            for a in self.attempts[:ATTEMPTS_SHOWN]
        ]  # fmt: skip
        self.attempts_view.value = wrap(
            f"<b>{len(self.attempts)} HTTP attempt(s)</b>"
            + table(["ms", "method", "path", "idempotency key", "status", "Retry-After"], rows)
        )
        published = sum(r.ok for r in self.results)
        css = "ek-ok" if published == len(self.results) else "ek-bad"
        rows = [
            [f"<code>{esc(r.idempotency_key)}</code>", esc(r.status), esc(r.http_status),
             str(r.attempts), f"{r.waited_seconds:.2f}", str(r.throttled), esc(r.error or "")]
            for r in self.results
        ]  # fmt: skip
        self.results_view.value = wrap(
            f'<span class="ek-badge {css}">{published}/{len(self.results)} published</span>'
            + table(
                ["idempotency key", "status", "HTTP", "attempts", "waited s", "429s", "error"],
                rows,
            )
        )

    def close(self) -> None:
        """Stop the simulator and close the widgets."""
        if self.simulator is not None:
            self.simulator.stop()
            self.simulator = None
        self.widget.close()
