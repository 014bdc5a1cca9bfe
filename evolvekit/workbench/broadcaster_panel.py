"""``BroadcasterPanel``: run a ``BackgroundBroadcaster`` and watch a consumer pinned to a version.

The broadcaster and the built-in consumer each run on their own thread with their own event
loop, so a busy cell never stalls them. The consumer connects with ``since`` set to the
broadcaster's last seq, so an event sent right after ``start_feed`` is replayed to it even if
its handshake is still in flight. The Stop button (``stop()``) or kernel shutdown stops both.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode

import ipywidgets as w

from evolvekit import jsonio
from evolvekit.broadcast import BackgroundBroadcaster
from evolvekit.errors import EvolveKitError, InputError
from evolvekit.frames import DEFAULT_KEY_FIELD, dataframe
from evolvekit.schema.registry import SchemaRegistry
from evolvekit.workbench._common import (
    error_box,
    esc,
    guarded,
    key_cell,
    table,
    wrap,
)
from evolvekit.workbench._panel import ActionPanel
from evolvekit.workbench.feed import FRAME_COLUMNS, ConsumerFeed, frame_records

if TYPE_CHECKING:
    from evolvekit.workbench.rule_editor import RuleEditor

AS_PUBLISHED: Final = "(as published)"
FEED_SHOWN: Final = 10


class BroadcasterPanel(ActionPanel):
    """Start/stop a broadcaster, send events, and watch a consumer pinned to a version."""

    def __init__(
        self,
        schemas: str | Path | SchemaRegistry | None = None,
        rules: str | Path | None = None,
        *,
        subject: str = "interaction.completed",
        source: RuleEditor | None = None,
        port: int = 0,
        key_field: str = DEFAULT_KEY_FIELD,
    ) -> None:
        self.key_field = key_field
        self.registry = schemas if isinstance(schemas, SchemaRegistry) else SchemaRegistry(schemas)
        self.rules = rules
        self.source = source
        self.port = port
        self.broadcaster: BackgroundBroadcaster | None = None
        self.feed: ConsumerFeed | None = None
        self.sent: list[int] = []
        self._finalizer: weakref.finalize[Any, Any] | None = None
        self.error: str | None = None

        self.subject = w.Dropdown(options=self.registry.subjects(), value=subject,
                                  description="Subject")  # fmt: skip
        versions = self.registry.versions(subject)
        # The previewed events are in the rule editor's target version: the menu says so.
        source_version = source.to_version.value if source is not None else None
        self.event_version = w.Dropdown(
            options=versions,
            value=source_version if source_version in versions else
            (versions[-1] if versions else None),
            description="Events are",
        )  # fmt: skip
        self.feed_version = w.Dropdown(options=[AS_PUBLISHED, *versions],
                                       value=versions[-1] if versions else AS_PUBLISHED,
                                       description="Feed in")  # fmt: skip
        self.start_button = w.Button(description="Start", button_style="success")
        self.stop_button = w.Button(description="Stop", button_style="danger")
        self.send_button = w.Button(description="Send previewed events", button_style="primary",
                                    layout=w.Layout(width="auto"))
        self.feed_button = w.Button(description="Start feed")
        self.stats_button = w.Button(description="Refresh counters")
        self.status = w.HTML()
        self.message = w.HTML()
        self.stats_view = w.HTML()
        self.feed_view = w.HTML()

        self._finish()

    def _wire(self) -> None:
        """Each control to its handler; a failure shows in the panel, never as a traceback."""
        on_error = self._show_error
        self.subject.observe(guarded(self._on_subject, on_error), names="value")
        self.start_button.on_click(guarded(self.start, on_error))
        self.stop_button.on_click(guarded(self.stop, on_error))
        self.send_button.on_click(guarded(self.send_preview, on_error))
        self.feed_button.on_click(
            guarded(lambda: self.start_feed(self.feed_version.value), on_error)
        )
        self.stats_button.on_click(guarded(self.refresh_stats, on_error))

    def _layout(self) -> w.VBox:
        """The panel's widgets in their display order."""
        return w.VBox(
            [
                w.HTML("<b>WebSocket broadcaster</b>: versioned events for downstream consumers."),
                w.HBox([self.start_button, self.stop_button, self.status]),
                w.HBox([self.subject, self.event_version, self.send_button]),
                w.HBox([self.feed_version, self.feed_button, self.stats_button]),
                self.message,
                self.stats_view,
                self.feed_view,
            ]
        )

    def _on_subject(self) -> None:
        versions = self.registry.versions(self.subject.value)
        self.event_version.options = versions
        self.feed_version.options = [AS_PUBLISHED, *versions]

    # --- the broadcaster --------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self.broadcaster is not None

    @property
    def url(self) -> str | None:
        return self.broadcaster.url if self.broadcaster is not None else None

    def start(self) -> str | None:
        """Start the broadcaster (on a free port by default); returns its URL."""
        if self.broadcaster is None:
            try:
                broadcaster = BackgroundBroadcaster(self.registry, self.rules, port=self.port)
                broadcaster.start()
            except EvolveKitError as exc:
                self._show_error(exc)
                return None
            self.broadcaster = broadcaster
            # Stopped by the Stop button, or at kernel shutdown (never by closing the view).
            self._finalizer = weakref.finalize(self, broadcaster.stop)
        self.message.value = ""
        self._draw_status()
        self.refresh_stats()
        return self.url

    def stop(self) -> None:
        """Stop the feed and the broadcaster (consumers are closed with 1001)."""
        if self.feed is not None:
            self.feed.stop()
            self.feed = None
        if self.broadcaster is not None:
            self.broadcaster.stop()
            self.broadcaster = None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        self._draw_status()

    def stats(self) -> dict[str, Any]:
        return self.broadcaster.stats() if self.broadcaster is not None else {}

    def refresh_stats(self) -> dict[str, Any]:
        stats = self.stats()
        if not stats:
            self.stats_view.value = ""
            return stats
        by_version = stats.get("consumers_by_version", {})
        consumers = "".join(f"<li>{esc(v)}: {n}</li>" for v, n in by_version.items()) or \
            "<li>none</li>"  # fmt: skip
        counters = [
            [esc(k), esc(v)]
            for k, v in stats.items()
            if k not in ("consumers_by_version", "replay")
        ]
        self.stats_view.value = wrap(
            f"<b>Consumers by version</b><ul>{consumers}</ul>" + table(["counter", "value"],
                                                                        counters)
        )  # fmt: skip
        return stats

    # --- sending ----------------------------------------------------------------------

    def send(
        self,
        events: Sequence[Mapping[str, Any]],
        *,
        version: str | None = None,
        subject: str | None = None,
    ) -> list[int]:
        """Broadcast ``events`` (their own version: ``version`` or the menu's); their seqs."""
        seqs: list[int] = []
        try:
            if self.broadcaster is None:
                raise InputError("start the broadcaster first")
            for event in events:
                seqs.append(
                    self.broadcaster.publish(
                        dict(event),
                        subject=subject or self.subject.value,
                        version=version or self.event_version.value,
                    )
                )
        except EvolveKitError as exc:
            self._show_error(exc)
        self.sent.extend(seqs)
        self.refresh_stats()
        return seqs

    def send_preview(self) -> list[int]:
        """Send the rule editor's previewed events, in the version they were mapped to."""
        if self.source is None or not self.source.outputs:
            self._show_error(InputError("no previewed events: preview some in the rule editor"))
            return []
        subject, version = self.source.subject.value, self.source.to_version.value
        if subject in self.subject.options:
            self.subject.value = subject
        if version in self.event_version.options:
            self.event_version.value = version  # the menu shows what is sent
        return self.send(self.source.outputs, version=version, subject=subject)

    # --- the built-in consumer --------------------------------------------------------

    def start_feed(self, version: str | None = None) -> ConsumerFeed | None:
        """Connect the built-in consumer, pinned to ``version`` (None: events as published)."""
        if self.broadcaster is None:
            self._show_error(InputError("start the broadcaster first"))
            return None
        if self.feed is not None:
            self.feed.stop()
        pinned = None if version in (None, AS_PUBLISHED) else version
        if pinned in self.feed_version.options:
            self.feed_version.value = pinned
        query = {"subject": self.subject.value}
        if pinned is not None:
            query["version"] = pinned
        stats = self.broadcaster.stats()
        feed = ConsumerFeed(
            f"{self.broadcaster.url}?{urlencode(query)}",
            since=int(stats["last_seq"]),
            epoch=str(stats["epoch"]),
        )
        feed.listeners.append(lambda _: self._draw_feed())
        feed.start()
        self.feed = feed
        self._draw_feed()
        return feed

    def wait_for_feed(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """The feed's data frames once ``count`` arrived (fewer after ``timeout``)."""
        if self.feed is None:
            return []
        frames = self.feed.wait_for(count, timeout)
        self._draw_feed()
        return frames

    @property
    def received(self) -> list[dict[str, Any]]:
        return self.feed.events if self.feed is not None else []

    def to_dataframe(self) -> Any:
        """The frames the feed received: seq, version, subject, business key, payload."""
        if self.feed is None:
            return dataframe([], FRAME_COLUMNS)
        return self.feed.to_dataframe(self.key_field)

    # --- drawing ----------------------------------------------------------------------

    def _draw_status(self) -> None:
        if self.broadcaster is None:
            self.status.value = wrap('<span class="ek-note">stopped</span>')
        else:
            self.status.value = wrap(f"running at <code>{esc(self.url)}</code>")

    def _draw_feed(self) -> None:
        feed = self.feed
        if feed is None:
            self.feed_view.value = ""
            return
        if feed.error:
            self.feed_view.value = error_box(feed.error)
            return
        records = frame_records(feed.events, self.key_field)[-FEED_SHOWN:]
        rows = [
            [str(r["seq"]), esc(r["schema_version"]), key_cell(r["payload"], self.key_field),
             f"<code>{esc(jsonio.dumps_str(r['payload']))}</code>"]
            for r in reversed(records)
        ]  # fmt: skip
        self.feed_view.value = wrap(
            f"<b>Feed</b> <code>{esc(feed.url)}</code>: {len(feed.events)} event(s)"
            + table(["seq", "version", self.key_field, "payload"], rows)
        )

    def close(self) -> None:
        """Stop everything running in the background and close the widgets (a notebook's
        last cell need not: the Stop button or kernel shutdown stops the broadcaster)."""
        self.stop()
        self.widget.close()
