"""The pipeline core: subject, detect, migrate, validate, sinks, dead letters."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evolvekit.errors import ConfigError
from evolvekit.pipeline.ingest_log import IngestLog
from evolvekit.pipeline.metrics import Metrics
from evolvekit.pipeline.pipeline import (
    Delivery,
    Pipeline,
    Prepared,
    Rejected,
    SinkFailure,
    SinkOutcome,
)

from ..support.servers import RULES, SCHEMAS, SUBJECT, legacy_event


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return Pipeline(SCHEMAS, RULES)


def test_a_legacy_event_reaches_the_newest_version(pipeline: Pipeline) -> None:
    event = legacy_event(7, channel="Phone")
    result = pipeline.prepare(event)
    assert isinstance(result, Prepared)
    assert (result.subject, result.source_version, result.target_version) == (
        SUBJECT,
        "1.0.0",
        "3.0.0",
    )
    assert result.event["agent"] == {"id": "agent7@company.com"}
    assert result.event["durationMs"] == 7000
    assert result.event["channel"] == "voice"
    assert event["agentEmail"] == "agent7@company.com"  # the original is untouched


def test_the_subject_parameter_wins_over_event_type(pipeline: Pipeline) -> None:
    event = legacy_event(1, eventType="something.else")
    assert isinstance(pipeline.prepare(event, SUBJECT), Prepared)
    rejected = pipeline.prepare(event)
    assert isinstance(rejected, Rejected) and rejected.stage == "subject"
    assert "something.else" in rejected.reason
    assert rejected.subject is None  # found through eventType: a replay resolves it afresh


def test_event_types_map_to_subjects() -> None:
    mapped = Pipeline(SCHEMAS, RULES, event_types={"InteractionCompleted": SUBJECT})
    result = mapped.prepare(legacy_event(1, eventType="InteractionCompleted"))
    assert isinstance(result, Prepared) and result.subject == SUBJECT


def test_configured_target_versions() -> None:
    pinned = Pipeline(SCHEMAS, RULES, targets={SUBJECT: "v2.0.0"})
    result = pinned.prepare(legacy_event(2))
    assert isinstance(result, Prepared)
    assert result.target_version == "2.0.0"
    assert result.event["agentId"] == "agent2@company.com"
    with pytest.raises(ConfigError, match=r"no version 9\.0\.0"):
        Pipeline(SCHEMAS, RULES, targets={SUBJECT: "9.0.0"})
    with pytest.raises(ConfigError, match="unknown subject"):
        Pipeline(SCHEMAS, RULES, targets={"nope": "1.0.0"})


@pytest.mark.parametrize(
    ("event", "subject", "stage", "needle"),
    [
        ({"customerId": "C"}, None, "subject", "no subject"),
        ({"eventType": 5}, None, "subject", "no subject"),
        (legacy_event(1), "no.such.subject", "subject", "unknown subject"),
        ({"eventType": SUBJECT, "customerId": "C"}, None, "detect", "matches no registered"),
        (["not", "an", "object"], SUBJECT, "detect", "JSON object"),
        (legacy_event(1, channel="fax"), None, "migrate", "'fax' is not in the table"),
        (
            {
                "eventType": SUBJECT,
                "customerId": "C",
                "interactionId": "I",
                "agentEmail": "a",
                "durationMs": -5,
            },
            None,
            "validate",
            "invalid at 3.0.0: #/durationMs: -5 is less than the minimum",
        ),
    ],
)
def test_each_failing_stage_is_named(
    pipeline: Pipeline, event: Any, subject: str | None, stage: str, needle: str
) -> None:
    result = pipeline.prepare(event, subject)
    assert isinstance(result, Rejected)
    assert result.stage == stage
    assert needle in result.reason
    assert "\n" not in result.reason


class RecordingSink:
    def __init__(self, name: str, outcome: SinkOutcome = "done", fail: bool = False) -> None:
        self.name = name
        self.outcome = outcome
        self.fail = fail
        self.seen: list[Delivery] = []

    async def deliver(self, delivery: Delivery) -> SinkOutcome:
        self.seen.append(delivery)
        if self.fail:
            raise SinkFailure("refused for good")
        return self.outcome


@pytest.fixture
def store(tmp_path: Path) -> IngestLog:
    log = IngestLog(tmp_path)
    yield log
    log.close()


async def test_handle_marks_done_and_counts(store: IngestLog) -> None:
    sink = RecordingSink("a")
    metrics = Metrics()
    pipe = Pipeline(SCHEMAS, RULES, sinks=[sink], store=store, metrics=metrics)
    [(record_id, _)] = store.accept_many([(legacy_event(3), None, None)])
    outcome = await pipe.handle(store.get_ingest(record_id) or {}, key="k-3")
    assert outcome.status == "done"
    assert sink.seen[0].key == "k-3" and sink.seen[0].record_id == record_id
    assert sink.seen[0].prepared.target_version == "3.0.0"
    assert store.get_ingest(record_id)["status"] == "done"  # type: ignore[index]
    snapshot = metrics.snapshot()
    assert snapshot["processed"] == 1
    assert snapshot["by_version"] == {f"{SUBJECT} 1.0.0->3.0.0": 1}


async def test_handle_parks_outbox_events(store: IngestLog) -> None:
    pipe = Pipeline(
        SCHEMAS, RULES, sinks=[RecordingSink("a"), RecordingSink("b", "outbox")], store=store
    )
    [(record_id, _)] = store.accept_many([(legacy_event(4), None, None)])
    outcome = await pipe.handle(store.get_ingest(record_id) or {}, key="k")
    assert outcome.status == "outbox" and outcome.sinks == {"a": "done", "b": "outbox"}
    assert store.get_ingest(record_id)["status"] == "outbox"  # type: ignore[index]


async def test_rejected_events_become_dead_letters_with_the_original(store: IngestLog) -> None:
    sink = RecordingSink("a")
    metrics = Metrics()
    pipe = Pipeline(SCHEMAS, RULES, sinks=[sink], store=store, metrics=metrics)
    original = legacy_event(5, channel="fax")
    [(record_id, _)] = store.accept_many([(original, None, None)])
    outcome = await pipe.handle(store.get_ingest(record_id) or {}, key="k")
    assert outcome.status == "dead_letter" and not sink.seen
    [letter] = store.dead_letters()
    assert set(letter) == {"id", "at", "stage", "reason", "subject", "version", "event"}
    assert letter["stage"] == "migrate" and letter["event"] == original
    assert (letter["subject"], letter["version"]) == (SUBJECT, "1.0.0")
    assert store.get_ingest(record_id)["status"] == "dead_letter"  # type: ignore[index]
    assert metrics.snapshot()["dead_lettered_by_stage"] == {"migrate": 1}


async def test_a_sink_failure_is_a_publish_dead_letter(store: IngestLog) -> None:
    pipe = Pipeline(SCHEMAS, RULES, sinks=[RecordingSink("a", fail=True)], store=store)
    [(record_id, _)] = store.accept_many([(legacy_event(6), None, None)])
    outcome = await pipe.handle(store.get_ingest(record_id) or {}, key="k")
    assert outcome.status == "dead_letter"
    [letter] = store.dead_letters()
    assert letter["stage"] == "publish" and "refused for good" in letter["reason"]
    assert letter["event"] == legacy_event(6)


async def test_handle_needs_a_store() -> None:
    pipe = Pipeline(SCHEMAS, RULES)
    with pytest.raises(ConfigError, match="needs a store"):
        await pipe.handle({"id": 1, "event": legacy_event(1)}, key="k")


def test_rejections_name_stage_reason_subject_and_version_exactly(pipeline: Pipeline) -> None:
    cases: list[tuple[Any, str | None, Rejected]] = [
        ({"customerId": "C"}, None, Rejected(
            "subject", "no subject: the ingest call named none and the event has no string "
            "'eventType'")),
        ({"eventType": ""}, None, Rejected(
            "subject", "no subject: the ingest call named none and the event has no string "
            "'eventType'")),
        (["x"], SUBJECT, Rejected("detect", "an event must be a JSON object, not list", SUBJECT)),
    ]  # fmt: skip
    for event, subject, expected in cases:
        assert pipeline.prepare(event, subject) == expected
    named = pipeline.prepare(legacy_event(1), "no.such.subject")
    assert isinstance(named, Rejected)
    assert named.reason.startswith("the ingest call names an unknown subject: ")
    assert (named.stage, named.subject, named.version) == ("subject", "no.such.subject", None)
    typed = pipeline.prepare(legacy_event(1, eventType="no.such.subject"))
    assert isinstance(typed, Rejected)
    assert typed.reason.startswith("eventType 'no.such.subject' names an unknown subject: ")
    assert typed.subject is None
    detect = pipeline.prepare({"eventType": SUBJECT, "customerId": "C"})
    assert isinstance(detect, Rejected) and (detect.subject, detect.version) == (SUBJECT, None)
    migrate = pipeline.prepare(legacy_event(1, channel="fax"))
    assert isinstance(migrate, Rejected)
    assert (migrate.subject, migrate.version) == (SUBJECT, "1.0.0")
    invalid = {"eventType": SUBJECT, "customerId": "C", "interactionId": "I", "agentEmail": "a",
               "durationMs": -5}  # fmt: skip
    validate = pipeline.prepare(invalid)
    assert isinstance(validate, Rejected) and validate.reason.startswith("invalid at 3.0.0: ")
    # the version recorded is the event's own (detected) one, not the target
    assert (validate.stage, validate.subject, validate.version) == ("validate", SUBJECT, "1.0.0")


def test_a_subject_without_versions_is_refused(tmp_path: Path) -> None:
    import shutil

    schemas = tmp_path / "schemas"
    shutil.copytree(SCHEMAS, schemas)
    (schemas / "empty.subject").mkdir()
    pipe = Pipeline(schemas, RULES)
    assert pipe.prepare(legacy_event(1), "empty.subject") == Rejected(
        "subject", "subject 'empty.subject' has no versions", "empty.subject")  # fmt: skip
    # asked again (answers are not cached for a refused subject)
    assert isinstance(pipe.prepare(legacy_event(1), "empty.subject"), Rejected)
    assert isinstance(pipe.prepare(legacy_event(1), SUBJECT), Prepared)
    assert isinstance(pipe.prepare(legacy_event(2), SUBJECT), Prepared)  # known now


async def test_handle_reports_what_it_did(store: IngestLog) -> None:
    metrics = Metrics()
    pipe = Pipeline(SCHEMAS, RULES, sinks=[RecordingSink("a")], store=store, metrics=metrics)
    [(record_id, _)] = store.accept_many([(legacy_event(8), SUBJECT, None)])
    record = store.get_ingest(record_id) or {}
    outcome = await pipe.handle(record, key="k-8")
    assert outcome.prepared is not None and outcome.prepared.subject == SUBJECT
    assert (outcome.rejected, outcome.dead_letter, outcome.sinks) == (None, None, {"a": "done"})
    assert metrics.latency.count == 1 and 0.0 <= metrics.latency.total < 600.0
    # a record with an old or unreadable received_at: the age is counted, or left out
    old = {**record, "received_at": "2000-01-01T00:00:00+00:00"}
    await pipe.handle(old, key="k-8")
    assert metrics.latency.count == 2 and metrics.latency.total > 20 * 365 * 86400
    naive = {**record, "received_at": "2000-01-01T00:00:00"}  # no zone: UTC
    await pipe.handle(naive, key="k-8")
    assert metrics.latency.count == 3
    for unreadable in ("yesterday", None, 12):
        await pipe.handle({**record, "received_at": unreadable}, key="k-8")
    assert metrics.latency.count == 3 and metrics.snapshot()["processed"] == 6


async def test_a_publish_dead_letter_keeps_the_prepared_event(store: IngestLog) -> None:
    metrics = Metrics()
    pipe = Pipeline(SCHEMAS, RULES, sinks=[RecordingSink("a", fail=True)], store=store,
                    metrics=metrics)  # fmt: skip
    [(record_id, _)] = store.accept_many([(legacy_event(9), None, None)])
    outcome = await pipe.handle(store.get_ingest(record_id) or {}, key="k")
    assert outcome.status == "dead_letter" and outcome.prepared is not None
    assert outcome.prepared.target_version == "3.0.0"
    assert outcome.rejected == Rejected("publish", "refused for good", SUBJECT, "1.0.0")
    [letter] = store.dead_letters()
    assert outcome.dead_letter == letter
    assert (letter["subject"], letter["version"], letter["reason"]) == (
        SUBJECT, "1.0.0", "refused for good")  # fmt: skip
    assert store.get_ingest(record_id)["status"] == "dead_letter"  # type: ignore[index]
    assert metrics.snapshot()["dead_lettered_by_stage"] == {"publish": 1}
