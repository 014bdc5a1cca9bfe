"""The pure hub: seq, envelopes, per-version encoding once, skipped frames, ring, filters."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson
import pytest

from evolvekit.broadcast.envelope import ENVELOPE_KEYS
from evolvekit.broadcast.hub import Filter, Hub
from evolvekit.errors import BroadcastError, InputError, MigrationError


@dataclass(eq=False)
class Sink:
    version: str | None
    filter: Filter = field(default_factory=Filter)


def make_hub(migrator: object, **kwargs: object) -> Hub[Sink]:
    return Hub(migrator, clock=lambda: "2026-01-01T00:00:00.000Z", **kwargs)  # type: ignore[arg-type]


def frames_for(hub: Hub[Sink], entry: object) -> dict[str | None, dict[str, object]]:
    out = {}
    for encoded, sinks in hub.deliveries(entry):  # type: ignore[arg-type]
        for sink in sinks:
            out[sink.version] = orjson.loads(encoded.data)
    return out


def test_envelope_shape_and_gapless_seq(fake_migrator) -> None:
    hub = make_hub(fake_migrator)
    hub.add(Sink(None))
    first = hub.publish(
        {"agentEmail": "a@x", "eventType": "call.done"}, subject="demo", version="v1.0.0"
    )
    second = hub.publish(
        {"agentEmail": "b@x", "timestamp": "t0"}, subject="demo", event_type="given"
    )
    assert (first.seq, second.seq) == (1, 2)
    frame = frames_for(hub, first)[None]
    assert tuple(frame) == ENVELOPE_KEYS
    assert frame["epoch"] == hub.epoch
    assert frame["event_type"] == "call.done"
    assert frame["schema_version"] == "1.0.0"  # normalised
    assert frame["timestamp"] == "2026-01-01T00:00:00.000Z"  # publish time: event has none
    assert frame["payload"] == {"agentEmail": "a@x", "eventType": "call.done"}
    frame2 = frames_for(hub, second)[None]
    assert (frame2["event_type"], frame2["timestamp"]) == ("given", "t0")
    assert frame2["schema_version"] == "1.0.0"  # detected


def test_a_failed_publish_consumes_no_seq(fake_migrator) -> None:
    hub = make_hub(fake_migrator)
    with pytest.raises(MigrationError):
        hub.publish({"neither": 1}, subject="demo")
    with pytest.raises(InputError):
        hub.publish({"agentEmail": object()}, subject="demo", version="1.0.0")
    assert hub.publish({"agentEmail": "a"}, subject="demo").seq == 1
    assert hub.counters.events_published == 1


def test_each_version_encoded_once_and_shared(fake_migrator) -> None:
    hub = make_hub(fake_migrator)
    v1 = [Sink("1.0.0") for _ in range(5)]
    v2 = [Sink("2.0.0") for _ in range(7)]
    for sink in v1 + v2:
        hub.add(sink)
    entry = hub.publish({"agentEmail": "a@x"}, subject="demo", version="1.0.0")
    groups = list(hub.deliveries(entry))
    assert fake_migrator.calls == 1  # one migration for seven v2 consumers
    by_size = {len(sinks): encoded for encoded, sinks in groups}
    assert orjson.loads(by_size[7].data)["payload"] == {"agentId": "a@x"}
    assert orjson.loads(by_size[5].data)["payload"] == {"agentEmail": "a@x"}
    again = dict((len(s), e) for e, s in hub.deliveries(entry))
    assert again[7].data is by_size[7].data  # cached bytes object, not re-encoded
    assert fake_migrator.calls == 1


def test_migration_failure_becomes_a_counted_skipped_frame(fake_migrator) -> None:
    hub = make_hub(fake_migrator)
    hub.add(Sink("2.0.0"))
    hub.add(Sink("1.0.0"))
    entry = hub.publish({"agentEmail": "a", "poison": True}, subject="demo", version="1.0.0")
    frames = frames_for(hub, entry)
    assert frames["1.0.0"]["payload"]["poison"] is True
    skipped = frames["2.0.0"]
    assert skipped["control"] == "skipped" and skipped["seq"] == entry.seq
    assert "1.0.0 -> 2.0.0" in skipped["reason"] and "poisoned event" in skipped["reason"]
    assert hub.counters.migration_failures == 1


def test_published_event_is_snapshotted(fake_migrator) -> None:
    hub = make_hub(fake_migrator)
    event = {"agentEmail": "a"}
    entry = hub.publish(event, subject="demo", version="1.0.0")
    event["agentEmail"] = "mutated"
    hub.add(Sink("2.0.0"))
    assert frames_for(hub, entry)["2.0.0"]["payload"] == {"agentId": "a"}


def test_filters_by_subject_and_event_type(fake_migrator) -> None:
    hub = make_hub(fake_migrator)
    hub.add(Sink(None, Filter(subject="other")))
    hub.add(Sink(None, Filter(event_type="x")))
    entry = hub.publish({"agentEmail": "a", "eventType": "x"}, subject="demo", version="1.0.0")
    [(_, sinks)] = list(hub.deliveries(entry))
    assert [s.filter.event_type for s in sinks] == ["x"]
    entry2 = hub.publish({"agentEmail": "a"}, subject="other", version="1.0.0")
    [(_, sinks2)] = list(hub.deliveries(entry2))
    assert [s.filter.subject for s in sinks2] == ["other"]


def test_nobody_listening_costs_no_migration(fake_migrator) -> None:
    hub = make_hub(fake_migrator)
    sink = Sink("2.0.0", Filter(subject="other"))
    hub.add(sink)
    entry = hub.publish({"agentEmail": "a"}, subject="demo", version="1.0.0")
    assert list(hub.deliveries(entry)) == []
    assert fake_migrator.calls == 0
    assert hub.remove(sink) and not hub.remove(sink)
    assert hub.groups == {}


def test_replay_complete_incomplete_and_epochs(fake_migrator) -> None:
    hub = make_hub(fake_migrator, replay_size=3)
    for _ in range(5):
        hub.publish({"agentEmail": "a"}, subject="demo", version="1.0.0")
    full = hub.replay(3, hub.epoch)
    assert (full.recovered, full.from_seq, [e.seq for e in full.entries]) == (True, 4, [4, 5])
    up_to_date = hub.replay(5, None)
    assert (up_to_date.recovered, up_to_date.from_seq, up_to_date.entries) == (True, 6, [])
    too_old = hub.replay(1, None)  # ring holds 3..5; 2 is gone
    assert (too_old.recovered, too_old.from_seq) == (False, 3)
    assert [e.seq for e in too_old.entries] == [3, 4, 5]
    other_epoch = hub.replay(4, "not-" + hub.epoch)
    assert (other_epoch.recovered, [e.seq for e in other_epoch.entries]) == (False, [3, 4, 5])
    future = hub.replay(99, hub.epoch)
    assert (future.recovered, future.from_seq, future.entries) == (False, 6, [])
    with pytest.raises(BroadcastError):
        hub.replay(-1, None)


def test_replay_applies_the_filter(fake_migrator) -> None:
    hub = make_hub(fake_migrator)
    hub.publish({"agentEmail": "a"}, subject="demo", version="1.0.0")
    hub.publish({"agentEmail": "a"}, subject="other", version="1.0.0")
    plan = hub.replay(0, None, Filter(subject="other"))
    assert plan.recovered and [e.seq for e in plan.entries] == [2]


def test_check_version_names_the_offer(fake_migrator) -> None:
    hub = make_hub(fake_migrator)
    assert hub.check_version("demo", "v2.0.0") == "2.0.0"
    assert hub.check_version(None, "1.0.0") == "1.0.0"
    with pytest.raises(
        BroadcastError,
        match=r"unknown version '9\.0\.0' of demo; versions on "
        r"offer: 1\.0\.0, 2\.0\.0",
    ):
        hub.check_version("demo", "9.0.0")
    with pytest.raises(BroadcastError, match="unknown subject"):
        hub.check_version("nope", "1.0.0")


def test_stats_counts_consumers_by_version(fake_migrator) -> None:
    hub = make_hub(fake_migrator, replay_size=2)
    hub.add(Sink(None))
    hub.add(Sink("2.0.0"))
    hub.add(Sink("2.0.0"))
    for _ in range(3):
        hub.publish({"agentEmail": "a"}, subject="demo", version="1.0.0")
    stats = hub.stats()
    assert stats["consumers"] == 3
    assert stats["consumers_by_version"] == {"as-published": 1, "2.0.0": 2}
    assert stats["events_published"] == 3 and stats["last_seq"] == 3
    replay = stats["replay"]
    assert {k: replay[k] for k in ("size", "capacity", "oldest_seq")} == {
        "size": 2,
        "capacity": 2,
        "oldest_seq": 2,
    }
    assert replay["bytes"] == sum(e.size for e in hub.ring) and replay["capacity_bytes"] > 0


def test_epochs_differ_between_hubs(fake_migrator) -> None:
    assert make_hub(fake_migrator).epoch != make_hub(fake_migrator).epoch


def test_the_ring_is_bounded_in_bytes_as_well_as_events(fake_migrator) -> None:
    """12,000 events of 30 KB held ~1 GB when only the count bounded the ring."""
    budget = 1_000_000
    hub = make_hub(fake_migrator, replay_size=10_000, replay_bytes=budget)
    hub.add(Sink(None))
    hub.add(Sink("2.0.0"))  # a second version: its cached frames count too
    big = "x" * 30_000
    for n in range(200):
        entry = hub.publish({"agentEmail": f"a{n}", "note": big}, subject="demo", version="1.0.0")
        frames_for(hub, entry)
        assert hub.ring_bytes <= budget
    held = sum(len(e.payload) + sum(len(x.data) for x in e.encoded.values()) for e in hub.ring)
    assert held <= hub.ring_bytes <= budget  # the accounting never under-counts
    assert hub.ring_bytes == sum(e.size for e in hub.ring)
    assert 8 <= len(hub.ring) <= 11  # ~90 KB per event (payload + two encodings)
    assert [e.seq for e in hub.ring] == list(range(201 - len(hub.ring), 201))
    plan = hub.replay(0, hub.epoch)
    assert not plan.recovered and plan.from_seq == hub.ring[0].seq


def test_an_event_larger_than_the_byte_budget_is_delivered_but_not_kept(fake_migrator) -> None:
    hub = make_hub(fake_migrator, replay_bytes=10_000)
    hub.add(Sink(None))
    small = hub.publish({"agentEmail": "a"}, subject="demo", version="1.0.0")
    huge = hub.publish({"agentEmail": "b", "note": "y" * 20_000}, subject="demo", version="1.0.0")
    assert frames_for(hub, huge)[None]["payload"]["agentEmail"] == "b"
    assert list(hub.ring) == [] and hub.ring_bytes == 0  # evicted, small one included
    assert small.seq == 1 and not hub.replay(0, hub.epoch).recovered
    with pytest.raises(BroadcastError, match="replay_bytes"):
        make_hub(fake_migrator, replay_bytes=-1)
