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
import weakref
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final

import ipywidgets as w

from evolvekit import jsonio
from evolvekit.cxone.config import AUTH_MODES, CXoneConfig, Secret
from evolvekit.cxone.simulator import SimulatorApp, SimulatorServer, create_app
from evolvekit.errors import ConfigError, EvolveKitError, InputError
from evolvekit.frames import DEFAULT_KEY_FIELD, dataframe
from evolvekit.workbench._common import (
    esc,
    guarded,
    key_cell,
    table,
    wrap,
)
from evolvekit.workbench._panel import ActionPanel
from evolvekit.workbench.api import (
    ATTEMPT_COLUMNS,
    RESULT_COLUMNS,
    SIMULATOR_RETRY,
    attempt_records,
    publish_recorded,
    result_records,
    results_table,
)

if TYPE_CHECKING:
    from evolvekit.cxone.client import PublishResult
    from evolvekit.workbench.rule_editor import RuleEditor

TARGETS: Final = ("simulator", "tenant")
FAULT_PRESETS: Final = ("", "429x2", "503x2", "expire-token", "drop-after", "500,latency=200")
ATTEMPTS_SHOWN: Final = 200


class PublishPanel(ActionPanel):
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
        key_field: str = DEFAULT_KEY_FIELD,
    ) -> None:
        self.events: list[Mapping[str, Any]] = list(events or [])
        self.key_field = key_field
        self.published_events: list[Mapping[str, Any]] = []
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
        self._finalizer: weakref.finalize[Any, Any] | None = None

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
        self.stop_button = w.Button(description="Stop simulator", button_style="danger")
        self.progress = w.IntProgress(value=0, min=0, max=1, description="Published")
        self.status = w.HTML()
        self.message = w.HTML()
        self.attempts_view = w.HTML()
        self.results_view = w.HTML()
        self.stored_view = w.HTML()

        self._finish()

    def _wire(self) -> None:
        """Each control to its handler; a failure shows in the panel, never as a traceback."""
        on_error = self._show_error
        self.connect_button.on_click(guarded(self.connect, on_error))
        self.faults_button.on_click(guarded(lambda: self.set_faults(self.faults.value), on_error))
        self.publish_button.on_click(guarded(self.publish_preview, on_error))
        self.stored_button.on_click(guarded(self.show_stored, on_error))
        self.stop_button.on_click(guarded(self.stop, on_error))
        self.target.observe(guarded(self._draw_status, on_error), names="value")

    def _layout(self) -> w.VBox:
        """The panel's widgets in their display order."""
        self.tenant_box = w.VBox([
            self.base_url, self.auth_mode, self.client_id, self.client_secret,
            self.access_key_id, self.access_key_secret, self.token, self.use_env,
            self.connect_button,
        ])  # fmt: skip
        return w.VBox(
            [
                w.HTML("<b>Publish to CXone</b>: the simulator by default, or a real tenant."),
                self.target,
                self.tenant_box,
                w.HBox([self.faults, self.faults_button]),
                w.HBox([self.publish_button, self.progress, self.stored_button,
                        self.stop_button]),
                self.status,
                self.message,
                self.attempts_view,
                self.results_view,
                self.stored_view,
            ]
        )

    # --- the simulator ----------------------------------------------------------------

    def start_simulator(self) -> str:
        """Start the simulator in the background (once) and return its base URL."""
        if self.simulator is None:
            self._app = create_app("tutorial", rate_limit=self.rate_limit)
            server = SimulatorServer(self._app)
            server.start()
            self.simulator = server
            # Stopped by the Stop button, or at kernel shutdown (never by closing the view).
            self._finalizer = weakref.finalize(self, server.stop)
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

    @property
    def running(self) -> bool:
        return self.simulator is not None

    def stop(self) -> None:
        """Stop the simulator (what the Stop button does); the panel stays usable."""
        if self.simulator is not None:
            self.simulator.stop()
            self.simulator = None
            self._app = None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        self._draw_status()

    def stored_events(self) -> list[Any]:
        """The event bodies the simulator stored, in arrival order."""
        return self._simulator_app().state.events() if self.simulator is not None else []

    def simulator_stats(self) -> dict[str, int]:
        return self._simulator_app().state.snapshot() if self.simulator is not None else {}

    def show_stored(self) -> list[Any]:
        events = self.stored_events()
        stats = self.simulator_stats()
        rows = [[str(i), key_cell(e, self.key_field), f"<code>{esc(jsonio.dumps_str(e))}</code>"]
                for i, e in enumerate(events, start=1)]  # fmt: skip
        counters = ", ".join(f"{esc(k)} {esc(v)}" for k, v in stats.items())
        self.stored_view.value = wrap(
            f"<b>Simulator stored {len(events)} event(s)</b> "
            f'<span class="ek-note">(simulator counters: {counters}; "throttled" counts every '
            "429 it answered, the same 429s the client counts as throttled, split into "
            "throttled_by_rate_limit and throttled_by_fault)</span>"
            + table(["#", self.key_field, "event"], rows)
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
            self._tenant_config = None
            self._show_error(exc)
            self._draw_status()
            return None
        self._typed_secrets.clear()
        for field in (self.client_secret, self.access_key_secret, self.token):
            field.placeholder = ""
        self._tenant_config = config
        self.error = None
        self._draw_status()
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
        """Publish ``events``; returns one result per event (errors shown, never raised).

        A failure (no events, missing credentials) keeps the previous results on show.
        """
        events = list(events)
        if not events:
            self._show_error(InputError("no events to publish (preview some in the rule editor)"))
            return []
        self.progress.max = len(events)
        self.progress.value = 0
        try:
            config = self._config()

            def progress(done: int, total: int) -> None:
                self.progress.value = done

            results, attempts = publish_recorded(
                config, events, concurrency=self.concurrency, on_progress=progress
            )
        except (EvolveKitError, TimeoutError) as exc:
            self._show_error(exc)
            return []
        self.results, self.attempts, self.published_events = results, attempts, events
        self.error = None
        self.message.value = ""
        self._draw_results()
        if self.target.value == "simulator":
            self.show_stored()
        return self.results

    def to_dataframe(self) -> Any:
        """The last publish: one row per event (business key first)."""
        return dataframe(result_records(self.published_events, self.results, self.key_field),
                         RESULT_COLUMNS)  # fmt: skip

    def attempts_dataframe(self) -> Any:
        """Every HTTP attempt of the last publish, with its event's business key."""
        return dataframe(self._attempt_records(), ATTEMPT_COLUMNS)

    def _attempt_records(self) -> list[dict[str, Any]]:
        return attempt_records(self.published_events, self.results, self.attempts,
                               self.key_field)  # fmt: skip

    # --- drawing ----------------------------------------------------------------------

    def _draw_status(self) -> None:
        self.tenant_box.layout.display = "" if self.target.value == "tenant" else "none"
        if self.target.value == "simulator":
            where = (f"simulator at <code>{esc(self.simulator.base_url)}</code>"
                     if self.simulator else "simulator (starts on first use)")  # fmt: skip
        elif self._tenant_config is not None:
            where = "a CXone tenant (credentials taken)"
        else:
            where = "a CXone tenant (no credentials yet: fill them in and press the button)"
        self.status.value = wrap(f'<span class="ek-note">Target: {where}</span>')

    def _draw_results(self) -> None:
        rows = [
            [str(a["ms"]), key_cell({self.key_field: a["key"]}, self.key_field),
             esc(a["method"]), f"<code>{esc(a['path'])}</code>",
             esc(a["status"] if a["status"] is not None else a["error"]),
             esc(_retry_after_label(a)), f"<code>{esc(a['idempotency_key'] or '')}</code>"]
            for a in self._attempt_records()[:ATTEMPTS_SHOWN]
        ]  # fmt: skip
        answered_429 = sum(a["status"] == 429 for a in self.attempts)
        self.attempts_view.value = wrap(
            f"<b>{len(self.attempts)} HTTP attempt(s)</b>, {answered_429} throttled (answered 429)"
            + table(["ms", self.key_field, "method", "path", "status", "Retry-After",
                     "idempotency key"], rows)
        )
        published = sum(r.ok for r in self.results)
        css = "ek-ok" if published == len(self.results) else "ek-bad"
        records = result_records(self.published_events, self.results, self.key_field)
        self.results_view.value = wrap(
            f'<span class="ek-badge {css}">{published}/{len(self.results)} published</span>'
            + results_table(records, self.key_field)
        )

    def close(self) -> None:
        """Stop the simulator and close the widgets (a notebook's last cell need not)."""
        self.stop()
        self.widget.close()


def _retry_after_label(attempt: Mapping[str, Any]) -> str:
    """The Retry-After header, or on a 429 without one, that the client backed off."""
    if attempt.get("retry_after"):
        return f"{attempt['retry_after']} s"
    if attempt.get("status") == 429:
        return "not sent (client backs off)"
    return ""
