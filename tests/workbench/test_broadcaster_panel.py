"""BroadcasterPanel without a kernel: start/stop, send, a consumer feed pinned to a version."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from evolvekit.workbench import BroadcasterPanel, RuleEditor

SUBJECT = "interaction.completed"
V2_EVENT = {"customerId": "C1", "interactionId": "I1", "agentId": "a@b.c", "durationSeconds": 7}


@pytest.fixture
def panel() -> Iterator[BroadcasterPanel]:
    p = BroadcasterPanel(subject=SUBJECT)
    yield p
    p.close()


def test_start_shows_the_url_and_counters(panel: BroadcasterPanel) -> None:
    assert not panel.running and "stopped" in panel.status.value
    panel.start_button.click()
    assert panel.running and panel.url is not None and panel.url.startswith("ws://127.0.0.1:")
    assert panel.url in panel.status.value
    assert "events_published" in panel.stats_view.value
    assert panel.start() == panel.url  # idempotent


def test_feed_receives_events_in_its_pinned_version(panel: BroadcasterPanel) -> None:
    panel.start()
    panel.feed_version.value = "3.0.0"
    panel.feed_button.click()
    seqs = panel.send([V2_EVENT], version="2.0.0")
    frames = panel.wait_for_feed(1)
    assert [f["seq"] for f in frames] == seqs
    assert frames[0]["schema_version"] == "3.0.0"
    assert frames[0]["payload"]["agent"] == {"id": "a@b.c"}
    assert frames[0]["payload"]["durationMs"] == 7000
    assert panel.refresh_stats()["consumers_by_version"] == {"3.0.0": 1}
    assert "durationMs" in panel.feed_view.value


def test_feed_as_published_and_downgraded(panel: BroadcasterPanel) -> None:
    panel.start()
    panel.start_feed(None)
    panel.send([V2_EVENT], version="2.0.0")
    assert panel.wait_for_feed(1)[0]["payload"] == V2_EVENT
    panel.start_feed("1.0.0")  # replaces the first consumer
    panel.send([V2_EVENT], version="2.0.0")
    frame = panel.wait_for_feed(1)[0]
    assert frame["schema_version"] == "1.0.0" and frame["payload"]["agentEmail"] == "a@b.c"


def test_sends_the_editors_preview(editor: RuleEditor) -> None:
    editor.start_from_file()
    panel = BroadcasterPanel(source=editor)
    try:
        panel.start()
        panel.start_feed("2.0.0")
        panel.send_button.click()
        frames = panel.wait_for_feed(3)
        assert [f["payload"] for f in frames] == editor.outputs
    finally:
        panel.close()


def test_errors_are_shown_in_the_panel(panel: BroadcasterPanel) -> None:
    assert panel.send([V2_EVENT]) == [] and "start the broadcaster" in (panel.error or "")
    assert panel.start_feed("3.0.0") is None
    assert panel.send_preview() == [] and "no previewed events" in (panel.error or "")
    panel.start()
    feed = panel.start_feed("9.9.9")
    assert feed is not None
    panel.wait_for_feed(1, timeout=30)
    assert feed.error is not None and "versions on offer" in feed.error
    assert "ek-error" in panel.feed_view.value


def test_close_stops_everything() -> None:
    panel = BroadcasterPanel(subject=SUBJECT)
    panel.start()
    feed = panel.start_feed("2.0.0")
    assert feed is not None
    panel.close()
    assert not panel.running and panel.feed is None
    assert feed._thread is None
    panel.close()  # idempotent


def test_events_menu_shows_the_version_that_is_sent(schemas: Path) -> None:
    from evolvekit.workbench import BroadcasterPanel, RuleEditor

    editor = RuleEditor(schemas, subject="interaction.completed", from_version="1.0.0",
                        to_version="2.0.0", debounce=0)  # fmt: skip
    editor.use_examples()
    editor.start_from_file()
    panel = BroadcasterPanel(schemas, source=editor)
    try:
        assert panel.event_version.value == "2.0.0"  # the editor's target, not the newest
        panel.event_version.value = "3.0.0"
        panel.start()
        panel.start_feed("3.0.0")
        seqs = panel.send_preview()
        assert panel.event_version.value == "2.0.0"  # what was sent is what the menu says
        frames = panel.wait_for_feed(len(seqs))
        assert [f["seq"] for f in frames] == seqs
        assert ">interactionId<" in panel.feed_view.value
        assert '<span class="ek-key">INT-4421</span>' in panel.feed_view.value
        frame = panel.to_dataframe()
        assert list(frame["seq"]) == seqs and "INT-4421" in list(frame["key"])
    finally:
        panel.stop()
        assert not panel.running


def test_kernel_shutdown_stops_the_broadcaster(panel: BroadcasterPanel) -> None:
    import socket
    from urllib.parse import urlsplit

    url = panel.start()
    assert url is not None
    finalizer = panel._finalizer
    assert finalizer.alive and finalizer.atexit  # runs at interpreter (kernel) exit
    finalizer()  # what the interpreter does at exit
    parts = urlsplit(url)
    with pytest.raises(OSError), socket.create_connection((parts.hostname, parts.port), 2):
        pass
    panel.broadcaster = None
