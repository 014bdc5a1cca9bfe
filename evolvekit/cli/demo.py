"""``evolvekit demo``: a guided walk through the shipped examples, then the service.

The demo is a sequence of small steps, each printing one section: the registry, the diff
report between consecutive versions, the registry check, and the pipeline service run
in-process against the CXone simulator (ingest, migrate, validate, publish, broadcast, dead
letters). It runs on the embedded defaults: the workspace's ``schemas/`` and ``rules/`` (the
packaged examples outside the repo), no credentials, no network. Waits are bounded
conditions, never fixed sleeps, so a busy machine slows it down without breaking it.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from evolvekit.cli.options import COLOR, SCHEMAS, use_color
from evolvekit.cli.text import WIDTH, wrapped
from evolvekit.workspace import Workspace, find_workspace

if TYPE_CHECKING:  # pragma: no cover
    import httpx

    from evolvekit.pipeline.config import ServiceConfig
    from evolvekit.schema.registry import SchemaRegistry


@dataclass
class DemoContext:
    """What every step sees: where to print, the workspace, and what went wrong so far."""

    out: TextIO
    color: bool
    workspace: Workspace
    registry: SchemaRegistry
    problems: list[str] = field(default_factory=list)

    def section(self, title: str) -> None:
        rule = "=" * max(len(title) + 6, 40)
        self.out.write(f"\n{rule}\n== {title}\n{rule}\n")

    def write(self, text: str = "") -> None:
        self.out.write(text if text.endswith("\n") else text + "\n")


def step_registry(ctx: DemoContext) -> None:
    """Where the schemas come from, and what subjects, versions and modes they hold."""
    ctx.section("Schema registry")
    ctx.write(f"folder: {ctx.registry.root} ({ctx.workspace.origin})")
    for subject in ctx.registry.subjects():
        versions = ", ".join(ctx.registry.versions(subject)) or "(none)"
        ctx.write(f"  {subject}  versions {versions}  mode {ctx.registry.mode(subject)}")
        description = ctx.registry.config(subject).description
        if description:
            ctx.write(f"    {description}")


def step_diffs(ctx: DemoContext) -> None:
    """The diff report between each pair of consecutive versions of every subject."""
    from evolvekit.cli.compat_cmds import diff_versions
    from evolvekit.schema.report import judging_mode, render

    for subject in ctx.registry.subjects():
        versions = ctx.registry.versions(subject)
        configured = ctx.registry.mode(subject)
        mode = judging_mode(configured)
        for old, new in pairwise(versions):
            ctx.section(f"{subject}: {old} -> {new}")
            diff = diff_versions(ctx.registry, subject, old, new)
            ctx.write(render(diff, "text", mode=mode, color=ctx.color))
            if configured == "none" and not diff.compatible(mode):
                note = f"note: {subject} has mode none, so the check accepts these breaks"
                rule_file = f"{old}_to_{new}.yaml"
                if (ctx.workspace.rules / subject / rule_file).is_file():
                    note += f"; rules/{subject}/{rule_file} migrates events across them"
                ctx.write(note + ".")


def step_check(ctx: DemoContext) -> None:
    """The registry check: every subject's newest version against its history."""
    from evolvekit.cli.compat_cmds import registry_rows
    from evolvekit.schema.report import render_summary

    ctx.section("Registry check (evolvekit check)")
    rows = registry_rows(ctx.registry)
    ctx.write(render_summary(rows, "text", color=ctx.color))
    ctx.problems += [f"check failed for {r.subject}" for r in rows if not r.ok]


DEMO_SUBJECT = "interaction.completed"
CONSUMER_VERSIONS = ("1.0.0", "3.0.0")  # a legacy consumer and a current one
DEMO_FAULTS = "503,429,drop-after"  # the simulated CXone misbehaves on the first requests


def step_pipeline(ctx: DemoContext) -> None:
    """The service end to end: ingest, migrate, validate, publish, broadcast, dead letters."""
    if DEMO_SUBJECT not in ctx.registry.subjects():
        ctx.section("Pipeline service")
        ctx.write(f"skipped: the registry has no {DEMO_SUBJECT} subject")
        return
    import asyncio
    import tempfile

    with tempfile.TemporaryDirectory(prefix="evolvekit-demo-") as data_dir:
        asyncio.run(_pipeline_walk(ctx, Path(data_dir)))


def _demo_service_config(ctx: DemoContext, data_dir: Path) -> ServiceConfig:
    """The demo's service: any free ports, a quick outbox retry, a faulty simulator."""
    from evolvekit.pipeline.config import (
        BroadcastSettings,
        IngestSettings,
        PipelineSettings,
        ServiceConfig,
        SimulatorSettings,
    )

    return ServiceConfig(
        data_dir=data_dir,
        schemas=str(ctx.registry.root),
        rules=str(ctx.workspace.rules),
        ingest=IngestSettings(port=0, dedupe_fields=("interactionId", "eventType")),
        broadcast=BroadcastSettings(port=0),
        pipeline=PipelineSettings(outbox_interval=0.2, outbox_backoff_base=0.2),
        simulator=SimulatorSettings(faults=DEMO_FAULTS),
    )


async def _post_requests(ctx: DemoContext, http: httpx.AsyncClient) -> None:
    """Post each demo request to /ingest and show the answer beside it."""
    for label, request in _demo_requests(ctx):
        answer = await http.post("/ingest", **request)
        head, brief = f"  {label:<44} -> {answer.status_code}", _brief(answer)
        if len(head) + 1 + len(brief) <= WIDTH:
            ctx.write(f"{head} {brief}")
        else:  # the whole answer, wrapped under its request, never cut
            ctx.write(head)
            ctx.write(wrapped(brief, indent="      "))


def _show_consumers(ctx: DemoContext, received: dict[str, list[dict[str, Any]]]) -> None:
    """What each pinned consumer received."""
    for version in CONSUMER_VERSIONS:
        ctx.section(f"Consumer pinned to {DEMO_SUBJECT}@{version}")
        ctx.write("  (eventType and timestamp left out of the lines below)")
        for frame in received[version]:
            ctx.write(f"  seq {frame['seq']:<3} {_compact(_core(frame['payload']))}")


async def _pipeline_walk(ctx: DemoContext, data_dir: Path) -> None:
    import asyncio

    import httpx

    from evolvekit.pipeline.service import Service, wait_until

    ctx.section("Pipeline service (in-process, simulated CXone)")
    config = _demo_service_config(ctx, data_dir)
    service = Service(config, announce=lambda message: ctx.write(f"  {message}"), environ={})
    await service.start()
    try:
        assert service.broadcast_url is not None
        ctx.write(f"  ingest      POST {service.ingest_url}/ingest")
        ctx.write(f"  consumers   {service.broadcast_url}?subject=S&version=V")
        ctx.write(
            f"  target      {DEMO_SUBJECT}@{service.pipeline.target_version(DEMO_SUBJECT)}"
            if service.pipeline
            else ""
        )
        ctx.write(f"  faults      the simulator answers {DEMO_FAULTS} to the first requests")
        received: dict[str, list[dict[str, Any]]] = {v: [] for v in CONSUMER_VERSIONS}
        listeners = [
            asyncio.create_task(_listen(service.broadcast_url, v, received[v]))
            for v in CONSUMER_VERSIONS
        ]
        hub = service.broadcaster.hub if service.broadcaster else None
        if not await wait_until(lambda: hub is not None and hub.consumer_count() >= 2, 10):
            ctx.problems.append("the demo consumers did not connect within 10 s")
        async with httpx.AsyncClient(base_url=service.ingest_url, timeout=10) as http:
            ctx.section("Posting legacy events to /ingest")
            await _post_requests(ctx, http)
            if not await service.wait_idle(timeout=15):
                ctx.problems.append("the service did not finish processing within 15 s")
            # The last frames may still be on their way to the consumers (a busy machine).
            broadcast = service.metrics.counters["broadcast"]
            await wait_until(lambda: all(len(got) >= broadcast for got in received.values()), 10)
            for task in listeners:
                task.cancel()
            await asyncio.gather(*listeners, return_exceptions=True)
            _show_consumers(ctx, received)
            assert service.cxone_url is not None
            async with httpx.AsyncClient(base_url=service.cxone_url) as sim:
                stored = (await sim.get("/_simulator/events")).json()
                stats = (await sim.get("/_simulator/stats")).json()
            _show_stored(ctx, stored, stats)
        _show_dead_letters(ctx, service)
        _summary(ctx, service, len(stored), received)
    finally:
        await service.stop()


async def _listen(url: str, version: str, sink: list[dict[str, Any]]) -> None:
    from evolvekit.broadcast.client import consume

    async for frame in consume(f"{url}?subject={DEMO_SUBJECT}&version={version}", control=False):
        sink.append(frame)


def _demo_requests(ctx: DemoContext) -> list[tuple[str, dict[str, Any]]]:
    """The stream: the shipped legacy examples, a Studio form post, a retried call, bad input
    and an event the rules cannot map."""
    return _example_requests(ctx) + _studio_requests() + _bad_requests()


def _example_requests(ctx: DemoContext) -> list[tuple[str, dict[str, Any]]]:
    """The shipped legacy examples, then the first one again as Studio's retry."""
    import orjson

    examples_file = ctx.registry.root / DEMO_SUBJECT / "examples" / "1.0.0.jsonl"
    examples = (
        [orjson.loads(line) for line in examples_file.read_bytes().splitlines() if line.strip()]
        if examples_file.is_file()
        else []
    )
    requests: list[tuple[str, dict[str, Any]]] = []
    for index, event in enumerate(examples, start=1):
        requests.append((f"legacy example {index} (1.0.0)", {"json": event}))
    if examples:
        requests.append(("the same event again (Studio retries)", {"json": examples[0]}))
    return requests


_STUDIO_EVENT = {
    "eventType": DEMO_SUBJECT,
    "customerId": "CUST-50012",
    "interactionId": "INT-4500",
    "agentEmail": "lee.chan@company.com",
}


def _studio_requests() -> list[tuple[str, dict[str, Any]]]:
    """Good input: a form post, a batch, a call with an Idempotency-Key and its retry."""
    requests: list[tuple[str, dict[str, Any]]] = []
    studio = dict(_STUDIO_EVENT)
    requests.append(("form post from a Studio REST action", {"data": studio}))
    batch = [
        {
            "eventType": DEMO_SUBJECT,
            "customerId": f"CUST-6000{i}",
            "interactionId": f"INT-46{i:02d}",
            "agentEmail": f"agent{i}@company.com",
            "callDuration": 60 * i,
            "channel": channel,
        }
        for i, channel in enumerate(("Phone", "WebChat", "email"), start=1)
    ]
    requests.append(("a batch of 3 (channels to normalise)", {"json": batch}))
    keyed = dict(studio, interactionId="INT-4700", agentEmail="sam.ode@company.com")
    requests.append(
        (
            "a call with an Idempotency-Key",
            {"json": keyed, "headers": {"Idempotency-Key": "studio-call-77"}},
        )
    )
    requests.append(
        (
            "... retried with the same key",
            {"json": keyed, "headers": {"Idempotency-Key": "studio-call-77"}},
        )
    )
    return requests


def _bad_requests() -> list[tuple[str, dict[str, Any]]]:
    """Input the service must refuse or dead-letter, each for its own reason."""
    studio = _STUDIO_EVENT
    requests: list[tuple[str, dict[str, Any]]] = []
    requests.append(
        (
            "malformed JSON",
            {
                "content": b'{"eventType": "interaction.completed",',
                "headers": {"Content-Type": "application/json"},
            },
        )
    )
    requests.append(
        ("wrong content type", {"content": b"hello", "headers": {"Content-Type": "text/plain"}})
    )
    requests.append(
        (
            "channel 'fax' (no rule maps it)",
            {"json": dict(studio, interactionId="INT-4666", channel="fax")},
        )
    )
    requests.append(
        (
            "no agent at all (matches no version)",
            {
                "json": {
                    "eventType": DEMO_SUBJECT,
                    "customerId": "CUST-1",
                    "interactionId": "INT-4777",
                }
            },
        )
    )
    requests.append(
        (
            "unknown eventType",
            {"json": {"eventType": "call.abandoned", "interactionId": "INT-4888"}},
        )
    )
    return requests


def _show_dead_letters(ctx: DemoContext, service: Any) -> None:
    ctx.section("Dead letters (evolvekit deadletters list)")
    for letter in service.store.dead_letters():
        where = letter["subject"] or "?"
        if letter["version"]:
            where += f"@{letter['version']}"
        ctx.write(f"  #{letter['id']} stage {letter['stage']}  {where}")
        ctx.write(wrapped(letter["reason"], indent="      "))  # the whole reason, wrapped


def _summary(
    ctx: DemoContext, service: Any, stored: int, received: dict[str, list[dict[str, Any]]]
) -> None:
    numbers = service.metrics.snapshot()
    counts = service.counts()
    ctx.section("Summary")
    for name in (
        "accepted",
        "duplicates",
        "rejected",
        "processed",
        "published",
        "broadcast",
        "dead_lettered",
    ):
        ctx.write(f"  {name:<14} {numbers[name]}")
    ctx.write(f"  {'cxone stored':<14} {stored}")
    for version, frames in received.items():
        ctx.write(f"  {'consumer ' + version:<14} {len(frames)} event(s)")
    accounted = counts.get("done", 0) + counts.get("dead_letter", 0)
    ctx.write(
        f"  every accepted event accounted for: {accounted} of {numbers['accepted']} "
        "(published + dead-lettered)"
    )
    if accounted != numbers["accepted"] or stored != counts.get("done", 0):
        ctx.problems.append("accepted events are not all accounted for")
    if any(len(frames) != numbers["broadcast"] for frames in received.values()):
        ctx.problems.append("a consumer missed events")


def _brief(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:80]
    if "detail" in body:
        return f"{body['error']}: {body['detail']}"
    if "results" in body:
        ids = ", ".join(
            f"{r['id']}{' (duplicate)' if r['duplicate'] else ''}" for r in body["results"]
        )
        return f"ids {ids}"
    return f"id {body.get('id')}{' (duplicate)' if body.get('duplicate') else ''}"


def _show_stored(ctx: DemoContext, entries: list[Any], stats: dict[str, Any]) -> None:
    """The simulator's stored entries (``GET /_simulator/events``): where each was sent,
    the idempotency key it was stored under, and the body."""
    ctx.section("What the simulated CXone stored")
    paths = ", ".join(sorted({str(e["path"]) for e in entries})) or "nothing"
    ctx.write(f"  {len(entries)} entries at POST {paths}; each line: its idempotency key,")
    ctx.write("  then the body (eventType and timestamp left out)")
    for entry in entries:
        ctx.write(f"  {entry['key'] or '(no key)'}  {_compact(_core(entry['body']))}")
    ctx.write(f"  stats: {_compact(stats)}")


def _core(event: Any) -> Any:
    """The event without the fields every line would repeat."""
    if not isinstance(event, dict):
        return event
    return {k: v for k, v in event.items() if k not in ("eventType", "timestamp")}


def _compact(value: Any) -> str:
    import orjson

    text = orjson.dumps(value).decode()
    return text if len(text) <= 170 else text[:167] + "..."


Step = Callable[[DemoContext], None]
STEPS: tuple[Step, ...] = (step_registry, step_diffs, step_check, step_pipeline)


def run_demo(args: argparse.Namespace) -> int:
    from evolvekit.cli.compat_cmds import open_registry

    if args.schemas:
        registry = open_registry(args.schemas)
        workspace = Workspace(Path(registry.root).parent, "argument")
    else:
        workspace = find_workspace()
        registry = open_registry(str(workspace.schemas))
    ctx = DemoContext(sys.stdout, use_color(args.color), workspace, registry)
    for step in STEPS:
        step(ctx)
    if ctx.problems:
        ctx.section("Demo finished with problems")
        for problem in ctx.problems:
            ctx.write(f"  {problem}")
        return 1
    ctx.section("Demo finished")
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = subparsers.add_parser(
        "demo",
        parents=[SCHEMAS, COLOR],
        help="walk the shipped examples: schema diffs, the check, then the pipeline service",
        description="Walk the example registry (the diff report between consecutive versions "
        "of each subject, then the registry check), then run the pipeline service in-process "
        "against a simulated CXone: post sample legacy events (duplicates, malformed ones, one "
        "the rules cannot map), show what two consumers pinned to different versions receive, "
        "what CXone stored, the dead letters and a summary. No credentials, no network; exit 1 "
        "when any step finds a problem.",
    )
    demo.set_defaults(func=run_demo)
