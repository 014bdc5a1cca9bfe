"""The synchronous notebook API: publish and broadcast in one call, result tables."""

from __future__ import annotations

from pathlib import Path

import pytest

import evolvekit as ek
from evolvekit.errors import InputError

EVENTS = [
    {"customerId": f"C{i}", "interactionId": f"INT-{i}", "agentId": f"a{i}@x.com",
     "durationSeconds": 10 + i}
    for i in range(3)
]  # fmt: skip


def test_publish_to_the_simulator_with_faults() -> None:
    report = ek.workbench.publish(EVENTS, faults="429x2", concurrency=1, progress=False)
    assert report.ok and report.http_429s == 2
    assert sorted(report.stored, key=str) == sorted(EVENTS, key=str)
    records = report.records()
    assert [r["key"] for r in records] == ["INT-0", "INT-1", "INT-2"]
    assert records[0]["attempts"] == 3 and records[0]["http_429s"] == 2
    keyed = [a["key"] for a in report.attempt_records() if a["status"] == 429]
    assert keyed == ["INT-0", "INT-0"]
    html = report._repr_html_()
    assert "3/3 published" in html and '<span class="ek-key">INT-1</span>' in html
    assert "ek-sortable" in html


def test_publish_refuses_nothing_and_faults_on_a_tenant() -> None:
    with pytest.raises(InputError, match="no events"):
        ek.workbench.publish([], progress=False)
    config = ek.CXoneConfig.for_simulator("http://127.0.0.1:9")
    with pytest.raises(InputError, match="simulator"):
        ek.workbench.publish(EVENTS, config=config, faults="429", progress=False)


def test_publish_report_as_a_dataframe() -> None:
    report = ek.workbench.publish(EVENTS[:2], progress=False)
    frame = report.to_dataframe()
    assert list(frame.columns[:2]) == ["key", "status"]
    assert list(frame["key"]) == ["INT-0", "INT-1"] and set(frame["status"]) == {"published"}


def test_broadcast_to_consumers_in_other_versions(schemas: Path) -> None:
    report = ek.workbench.broadcast(
        EVENTS, schemas=schemas, version="2.0.0", consumers=["3.0.0", "1.0.0"], progress=False
    )
    assert report.ok and len(report.seqs) == 3
    newest = report.received["3.0.0"]
    assert [f["schema_version"] for f in newest] == ["3.0.0"] * 3
    assert newest[0]["payload"]["agent"]["id"] == "a0@x.com"
    assert report.received["1.0.0"][0]["payload"]["agentEmail"] == "a0@x.com"
    keys = [(r["consumer"], r["key"]) for r in report.records()]
    assert ("3.0.0", "INT-2") in keys and ("1.0.0", "INT-0") in keys
    assert '<span class="ek-key">INT-1</span>' in report._repr_html_()


def test_broadcast_names_a_refused_consumer(schemas: Path) -> None:
    report = ek.workbench.broadcast(EVENTS[:1], schemas=schemas, version="2.0.0",
                                    consumers=["9.9.9"], timeout=10, progress=False)  # fmt: skip
    assert not report.ok and "versions on offer" in report.errors["9.9.9"]
