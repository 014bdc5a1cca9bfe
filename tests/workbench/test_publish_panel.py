"""PublishPanel without a kernel: the simulator, faults, attempts, credentials hand-over."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from evolvekit.workbench import PublishPanel, RuleEditor

from .conftest import widget_tree

EVENTS = [{"customerId": f"C{i}", "interactionId": f"I{i}", "agentId": "a"} for i in range(3)]


def by_id(events: list[Any]) -> list[Any]:
    """Events published concurrently arrive in any order."""
    return sorted(events, key=lambda event: str(event["interactionId"]))


@pytest.fixture
def panel() -> Iterator[PublishPanel]:
    p = PublishPanel(EVENTS)
    yield p
    p.close()


def test_publishes_to_the_background_simulator(panel: PublishPanel) -> None:
    assert panel.simulator is None  # started on first use
    panel.publish_button.click()
    assert [r.status for r in panel.results] == ["published"] * 3
    assert by_id(panel.stored_events()) == EVENTS
    assert panel.simulator is not None and panel.simulator.base_url in panel.status.value
    events = [a for a in panel.attempts if a["path"] == "/api/v2/events"]
    assert sorted(a["idempotency_key"] for a in events) == sorted(
        r.idempotency_key for r in panel.results
    )
    assert "3/3 published" in panel.results_view.value
    assert "Simulator stored 3 event(s)" in panel.stored_view.value
    assert panel.progress.value == 3


def test_publishes_the_editors_preview(editor: RuleEditor) -> None:
    editor.start_from_file()
    panel = PublishPanel(source=editor)
    try:
        results = panel.publish_preview()
        assert len(results) == 3 and all(r.ok for r in results)
        assert by_id(panel.stored_events()) == by_id(editor.outputs)
    finally:
        panel.close()


def test_faults_are_retried_under_one_idempotency_key(panel: PublishPanel) -> None:
    panel.concurrency = 1
    panel.faults.value = "429x2,503,drop-after"
    panel.faults_button.click()
    results = panel.publish(EVENTS[:1])
    assert results[0].ok and results[0].attempts == 5 and results[0].throttled == 2
    posts = [a for a in panel.attempts if a["path"] == "/api/v2/events"]
    assert [a["status"] or a["error"] for a in posts] == [429, 429, 503, "RemoteProtocolError", 200]
    assert {a["idempotency_key"] for a in posts} == {results[0].idempotency_key}
    stats = panel.simulator_stats()
    assert stats["stored"] == 1 and stats["duplicates_ignored"] == 1


def test_retry_after_waits_are_shown(panel: PublishPanel) -> None:
    panel.close()
    limited = PublishPanel(EVENTS * 4, rate_limit=5, concurrency=8)
    try:
        results = limited.publish_preview()
        assert all(r.ok for r in results)
        throttled = [a for a in limited.attempts if a["status"] == 429]
        assert throttled and all(a["retry_after"] for a in throttled)
        assert sum(r.throttled for r in results) == len(throttled)
    finally:
        limited.close()


def test_bad_fault_spec_and_empty_publish_are_errors(panel: PublishPanel) -> None:
    assert panel.set_faults("bogus") is False
    assert panel.error is not None and "bogus" in panel.error
    assert panel.publish([]) == [] and "no events" in (panel.error or "")
    panel.target.value = "tenant"
    assert panel.set_faults("503") is False and "only" in (panel.error or "")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_tenant_password_fields_are_cleared_on_hand_over(panel: PublishPanel) -> None:
    panel.target.value = "tenant"
    panel.use_env.value = False
    panel.base_url.value = f"http://127.0.0.1:{_closed_port()}"
    panel.client_id.value = "client"
    panel.client_secret.value = "s3cret-value"
    panel.retry = {"max_attempts": 1}
    results = panel.publish(EVENTS[:1])
    assert panel.client_secret.value == ""
    for widget in widget_tree(panel.widget):
        assert "s3cret-value" not in repr(widget.get_state())
    assert results and results[0].status == "failed" and "cannot reach" in (results[0].error or "")
    assert panel._tenant_config is not None
    assert "s3cret-value" not in repr(panel._tenant_config)
    assert panel._tenant_config.client_secret is not None
    assert panel._tenant_config.client_secret.reveal() == "s3cret-value"
    assert "s3cret-value" not in panel.attempts_view.value + panel.results_view.value


def test_missing_credentials_are_named_and_fields_cleared(panel: PublishPanel) -> None:
    panel.target.value = "tenant"
    panel.use_env.value = False
    panel.access_key_secret.value = "half-a-credential"
    panel.connect_button.click()
    assert panel.error is not None and "CXONE_CLIENT_ID" in panel.error
    assert panel.access_key_secret.value == ""
    assert panel.publish(EVENTS[:1]) == [] and "CXONE_CLIENT_ID" in (panel.error or "")


def test_credentials_from_the_environment(panel: PublishPanel) -> None:
    panel.environ = {"CXONE_CLIENT_ID": "env-id", "CXONE_CLIENT_SECRET": "env-secret"}
    panel.target.value = "tenant"
    config = panel.connect()
    assert config is not None and config.client_id == "env-id"
    assert "env-secret" not in panel.message.value


async def test_recording_transport_never_records_credentials() -> None:
    from evolvekit.workbench.api import RecordingTransport as _RecordingTransport

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "2"})

    log: list[dict[str, object]] = []
    transport = _RecordingTransport(httpx.MockTransport(answer), log)
    async with httpx.AsyncClient(transport=transport) as client:
        await client.post("http://x/api/v2/events", headers={
            "Authorization": "Bearer tok-123", "Idempotency-Key": "k1"})  # fmt: skip
    assert log[0]["status"] == 429 and log[0]["retry_after"] == "2"
    assert log[0]["idempotency_key"] == "k1" and "tok-123" not in repr(log)


def test_close_stops_the_simulator() -> None:
    panel = PublishPanel(EVENTS)
    url = panel.start_simulator()
    assert httpx.get(url + "/_simulator/stats").status_code == 200
    panel.close()
    assert panel.simulator is None
    with pytest.raises(httpx.TransportError):
        httpx.get(url + "/_simulator/stats", timeout=2)


def test_a_typed_secret_leaves_the_widget_at_once(panel: PublishPanel) -> None:
    """What the front end sends when a person presses Enter: the field empties straight away,
    before any hand-over, so no widget state (saved or synced) holds the secret."""
    assert panel.client_secret.continuous_update is False  # one sync, not one per keystroke
    panel.target.value = "tenant"
    panel.use_env.value = False
    panel.client_secret.value = "typed-canary-1"
    panel.token.value = "typed-canary-2"
    assert panel.client_secret.value == "" and panel.token.value == ""
    assert panel.typed_secrets == ["client_secret", "token"]
    states = repr([widget.get_state() for widget in widget_tree(panel.widget)])
    assert "typed-canary" not in states and "received (hidden)" in states
    # No client id yet: the hand-over fails, the typed secret stays pending (masked) ...
    assert panel.connect() is None and "CXONE_CLIENT_ID" in (panel.error or "")
    assert panel.typed_secrets == ["client_secret", "token"]
    # ... and is used once the missing setting is filled in.
    panel.client_id.value = "client"
    config = panel.connect()
    assert config is not None and config.client_secret is not None
    assert config.client_secret.reveal() == "typed-canary-1"
    assert panel.typed_secrets == [] and panel.client_secret.placeholder == ""
    shown = panel.message.value + panel.status.value + repr(config)
    assert "typed-canary" not in shown


def test_environment_secrets_never_reach_the_widgets(panel: PublishPanel) -> None:
    panel.environ = {"CXONE_CLIENT_ID": "env-id", "CXONE_CLIENT_SECRET": "env-canary"}
    panel.target.value = "tenant"
    panel.base_url.value = f"http://127.0.0.1:{_closed_port()}"
    panel.retry = {"max_attempts": 1}
    results = panel.publish(EVENTS[:1])
    assert results and results[0].status == "failed"
    for widget in widget_tree(panel.widget):
        assert "env-canary" not in repr(widget.get_state())


def test_an_unexpected_failure_of_a_click_shows_in_the_panel(
    panel: PublishPanel, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: PublishPanel) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(PublishPanel, "publish_preview", broken)
    fresh = PublishPanel(EVENTS)  # binds the patched method to its button
    try:
        fresh.publish_button.click()  # must not raise
        assert fresh.error == "RuntimeError: a bug" and "ek-error" in fresh.message.value
    finally:
        fresh.close()


def test_business_keys_label_results_attempts_and_stored_events(panel: PublishPanel) -> None:
    panel.concurrency = 1
    panel.set_faults("429x2")
    results = panel.publish(EVENTS)
    assert all(r.ok for r in results)
    for view in (panel.attempts_view, panel.results_view, panel.stored_view):
        assert ">interactionId<" in view.value  # the business-key column
        assert all(f'<span class="ek-key">I{i}</span>' in view.value for i in range(3))
    # an injected 429 carries no Retry-After: the column says the client backed off
    assert panel.attempts_view.value.count("not sent (client backs off)") == 2
    frame = panel.attempts_dataframe()
    assert list(frame[frame["status"] == 429]["key"]) == ["I0", "I0"]
    table = panel.to_dataframe()
    assert list(table["key"]) == ["I0", "I1", "I2"] and list(table["http_429s"]) == [2, 0, 0]


def test_stop_button_stops_the_simulator_and_the_panel_stays_usable(panel: PublishPanel) -> None:
    url = panel.start_simulator()
    buttons = {b.description: b for b in widget_tree(panel.widget) if hasattr(b, "on_click")}
    buttons["Stop simulator"].click()
    assert not panel.running
    with pytest.raises(httpx.TransportError):
        httpx.get(url + "/_simulator/stats", timeout=2)
    assert [r.status for r in panel.publish(EVENTS)] == ["published"] * 3  # starts again


def test_a_failed_publish_keeps_the_last_results(panel: PublishPanel) -> None:
    panel.publish(EVENTS)
    shown = panel.results_view.value
    assert panel.publish([]) == [] and panel.error is not None
    assert panel.results_view.value == shown and len(panel.results) == 3


def test_status_never_claims_credentials_after_a_failed_hand_over(panel: PublishPanel) -> None:
    panel.target.value = "tenant"
    panel.use_env.value = False
    assert panel.connect() is None and "credentials" in (panel.error or "").lower()
    assert "credentials taken" not in panel.status.value
    assert "no credentials yet" in panel.status.value


def test_kernel_shutdown_stops_the_simulator() -> None:
    """The notebook's last cell leaves the panel open; at exit a finalizer stops the server."""
    panel = PublishPanel(EVENTS)
    url = panel.start_simulator()
    finalizer = panel._finalizer
    assert finalizer.alive and finalizer.atexit  # runs at interpreter (kernel) exit
    finalizer()  # what the interpreter does at exit
    with pytest.raises(httpx.TransportError):
        httpx.get(url + "/_simulator/stats", timeout=2)
    panel.simulator = None
