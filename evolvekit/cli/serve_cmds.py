"""``evolvekit serve`` (the pipeline service) and ``evolvekit deadletters`` (its dead letters).

``serve`` runs ingest, processing, CXone publishing and the broadcaster in one process until
SIGTERM or Ctrl-C, then stops gracefully; with ``--redis URL`` it is one node of a cluster
(``--role``, docs/cluster.md). ``deadletters list|show`` read a data directory
whether or not a service runs on it; ``replay`` and ``purge`` write, so they take the
directory's lock and are refused (naming the holder's pid) while a service holds it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from evolvekit.cli.options import RULES_DIR, SCHEMAS, TEXT_OR_JSON
from evolvekit.cli.text import wrapped
from evolvekit.errors import InputError
from evolvekit.pipeline.config import ServiceConfig, load_config, parse_duration


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _register_serve(subparsers)
    _register_deadletters(subparsers)


# The data directory options of every deadletters subcommand.
_STORE = argparse.ArgumentParser(add_help=False)
_STORE.add_argument("--data-dir", metavar="DIR", help="data directory (default: the config's, "
                    "else $EVOLVEKIT_DATA_DIR, else ./.evolvekit)")  # fmt: skip
_STORE.add_argument(
    "--redis",
    metavar="URL",
    help="the dead letters of the cluster on this Redis (default: the config's "
    "[cluster] redis_url, else $EVOLVEKIT_REDIS_URL, else the data directory's)",
)
_STORE.add_argument("--config", metavar="FILE", help="the service's TOML settings")


def _register_serve(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = subparsers.add_parser(
        "serve",
        parents=[SCHEMAS, RULES_DIR],
        help="run the pipeline service: HTTP ingest, migrate, validate, publish, broadcast",
        description="Run the pipeline service: POST /ingest accepts events (JSON or form), "
        "each is migrated to its subject's target version, validated, published to CXone and "
        "broadcast to WebSocket consumers; failures become dead letters. With no CXone "
        "settings it publishes to a simulator it starts itself. Stops gracefully on SIGTERM.",
    )
    serve.add_argument("--config", metavar="FILE", help="TOML settings (flags override them)")
    serve.add_argument("--host", help="ingest interface (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="ingest port (default 8080; 0: any free)")
    serve.add_argument("--broadcast-port", type=int, help="WebSocket port (default 8765)")
    serve.add_argument("--data-dir", metavar="DIR", help="ingest log, outbox, dead letters")
    serve.add_argument("--cxone-base-url", metavar="URL", help="CXone (or simulator) API URL")
    serve.add_argument("--sinks", metavar="LIST", help="comma-separated: cxone,broadcast,jsonl")
    serve.add_argument("--jsonl-out", metavar="FILE", help="file of the jsonl sink")
    serve.add_argument(
        "--redis",
        metavar="URL",
        help="run as one node of a cluster on this Redis (redis://host:port/db; "
        "default $EVOLVEKIT_REDIS_URL, else the single-node SQLite service)",
    )
    serve.add_argument(
        "--role",
        metavar="ROLES",
        help="with --redis: all (default), or a comma list of ingest, worker, broadcast",
    )
    serve.add_argument(
        "--ingest-origin",
        action="append",
        metavar="URL",
        help="browser Origin allowed to post to /ingest (repeatable; default: none)",
    )
    serve.add_argument(
        "--broadcast-origin",
        action="append",
        metavar="URL",
        help="browser Origin allowed to connect to the broadcaster (repeatable; default: none)",
    )
    serve.add_argument(
        "--insecure",
        action="store_true",
        default=None,
        help="allow a non-loopback --host without a token (warned about)",
    )
    serve.add_argument(
        "--target",
        action="append",
        metavar="SUBJECT=VERSION",
        help="target version of a subject (repeatable; default: newest)",
    )
    serve.set_defaults(func=run_serve)


def _register_deadletters(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    dead = subparsers.add_parser(
        "deadletters",
        help="list, show, replay or purge the dead letters of a data directory",
        description="Dead letters are events that failed a pipeline stage, kept with the "
        "stage and reason. Fix the rule or schema, then replay them.",
    )
    dsub = dead.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = dsub.add_parser("list", parents=[_STORE, TEXT_OR_JSON], help="list dead letters")
    listing.add_argument("--stage", help="only this stage")
    listing.add_argument("--limit", type=int, help="at most N")
    listing.set_defaults(func=run_list)

    show = dsub.add_parser(
        "show", parents=[_STORE, TEXT_OR_JSON], help="show one dead letter with its event"
    )
    show.add_argument("id", type=int)
    show.set_defaults(func=run_show)

    replay = dsub.add_parser(
        "replay",
        parents=[_STORE, SCHEMAS, RULES_DIR, TEXT_OR_JSON],
        help="re-run dead letters through the current schemas and rules",
        description="Re-run dead letters (all, or the IDs given) through the current schemas "
        "and rules. Those that now pass go back into the ingest log, and a service running "
        "on the data directory (or the next one started) delivers them; those that still "
        "fail stay, with their new reason shown. Exit 1 when some still fail.",
    )
    replay.add_argument("ids", type=int, nargs="*", metavar="ID")
    replay.add_argument("--stage", help="only dead letters of this stage")
    replay.add_argument("--dry-run", action="store_true", help="check only; change nothing")
    replay.set_defaults(func=run_replay)

    purge = dsub.add_parser(
        "purge", parents=[_STORE, TEXT_OR_JSON], help="delete dead letters older than a duration"
    )
    group = purge.add_mutually_exclusive_group(required=True)
    group.add_argument("--older-than", metavar="AGE", help="e.g. 7d, 12h, 30m")
    group.add_argument("--all", action="store_true", help="every dead letter")
    purge.add_argument(
        "--include-log",
        action="store_true",
        help="also purge finished ingest records older than AGE",
    )
    purge.set_defaults(func=run_purge)


# --- serve -------------------------------------------------------------------------------------


def serve_overrides(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, Any] = {
        "ingest.host": args.host,
        "ingest.port": args.port,
        "broadcast.port": args.broadcast_port,
        "data_dir": args.data_dir,
        "cxone.base_url": args.cxone_base_url,
        "schemas": args.schemas,
        "rules": args.rules_dir,
        "pipeline.sinks": args.sinks,
        "pipeline.jsonl_path": args.jsonl_out,
        "cluster.redis_url": args.redis,
        "cluster.role": args.role,
        "ingest.origins": args.ingest_origin,
        "broadcast.origins": args.broadcast_origin,
        "insecure": args.insecure,
    }
    if args.target:
        targets: dict[str, str] = {}
        for item in args.target:
            subject, sep, version = item.partition("=")
            if not sep or not subject or not version:
                raise InputError(f"--target {item!r}: expected SUBJECT=VERSION")
            targets[subject.strip()] = version.strip()
        overrides["pipeline.targets"] = targets
    return overrides


def run_serve(args: argparse.Namespace) -> int:
    config = load_config(args.config, serve_overrides(args))

    def announce(message: str) -> None:
        print(f"evolvekit serve: {message}", file=sys.stderr, flush=True)

    if config.cluster.redis_url:
        from evolvekit.cli.cluster_cmds import serve_node

        return serve_node(config, announce)
    if args.role:
        raise InputError("--role needs --redis URL (or [cluster] redis_url)")
    from evolvekit.pipeline.service import Service

    service = Service(config, announce=announce)
    asyncio.run(_serve(service, announce))
    return 0


async def _serve(service: Any, announce: Any) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, service.request_stop)
    await service.start()
    config: ServiceConfig = service.config
    print(
        f"ingest    {service.ingest_url}/ingest   (health /healthz, metrics /metrics)", flush=True
    )
    if service.broadcast_url:
        print(f"consumers {service.broadcast_url}?subject=S&version=V", flush=True)
    if service.cxone_url:
        print(
            f"cxone     {service.cxone_url}{' (simulator)' if service.simulator else ''}",
            flush=True,
        )
    print(
        f"data      {Path(config.data_dir).resolve()}  sinks {','.join(config.pipeline.sinks)}",
        flush=True,
    )
    print("ready", flush=True)
    try:
        await service.stop_requested()
    finally:
        announce("stopping: no new events accepted, finishing those in flight")
        await service.stop()
        announce("stopped")


# --- deadletters -------------------------------------------------------------------------------


def _config(args: argparse.Namespace) -> ServiceConfig:
    overrides = {
        "cluster.redis_url": getattr(args, "redis", None),
        "data_dir": getattr(args, "data_dir", None),
        "schemas": getattr(args, "schemas", None),
        "rules": getattr(args, "rules_dir", None),
    }
    return load_config(args.config, overrides)


@contextlib.contextmanager
def _open_store(args: argparse.Namespace, *, write: bool = False) -> Iterator[Any]:
    """The data directory's store; with ``write``, under the directory's lock (a running
    service, or another replay, makes this a one-line refusal naming its pid)."""
    from evolvekit.pipeline.datadir import DataDirLock
    from evolvekit.pipeline.ingest_log import IngestLog
    from evolvekit.store import DB_FILENAME

    config = _config(args)
    if config.cluster.redis_url:
        from evolvekit.cluster.cli_store import ClusterDeadLetterStore

        with ClusterDeadLetterStore(config.cluster.redis_url, config.cluster.name) as letters:
            yield letters
        return
    data_dir = Path(config.data_dir)
    if not (data_dir / DB_FILENAME).is_file():
        raise InputError(f"no evolvekit store in {data_dir} (is --data-dir right?)")
    with contextlib.ExitStack() as stack:
        if write:
            stack.enter_context(DataDirLock(data_dir, f"evolvekit deadletters {args.action}"))
        yield stack.enter_context(IngestLog(data_dir))


def _json(value: Any) -> str:
    from evolvekit.jsonio import dumps_str

    return dumps_str(value, indent=True)


def run_list(args: argparse.Namespace) -> int:
    with _open_store(args) as store:
        letters = store.dead_letters(limit=args.limit, stage=args.stage)
    if args.format == "json":
        print(_json(letters))
        return 0
    if not letters:
        print("no dead letters")
        return 0
    for letter in letters:
        where = letter["subject"] or "?"
        if letter["version"]:
            where += f"@{letter['version']}"
        print(f"{letter['id']:>6}  {letter['at']}  {letter['stage']:<8}  {where}")
        print(wrapped(letter["reason"], indent="        "))  # the whole reason, wrapped
    print(f"{len(letters)} dead letter(s)")
    return 0


def run_show(args: argparse.Namespace) -> int:
    with _open_store(args) as store:
        letter = store.get_dead_letter(args.id)
    if letter is None:
        raise InputError(f"no dead letter {args.id}")
    if args.format == "json":
        print(_json(letter))
        return 0
    for key in ("id", "at", "stage", "subject", "version", "reason"):
        print(f"{key:<8} {letter[key] if letter[key] is not None else '-'}")
    print("event")
    print(_json(letter["event"]))
    return 0


def run_replay(args: argparse.Namespace) -> int:
    from evolvekit.pipeline.pipeline import Pipeline

    config = _config(args)
    pipeline = Pipeline(
        config.schemas,
        config.rules,
        targets=config.pipeline.targets,
        event_types=config.pipeline.event_types,
    )
    with _open_store(args, write=not args.dry_run) as store:
        if args.ids:
            letters = [store.get_dead_letter(i) for i in args.ids]
            missing = [str(i) for i, x in zip(args.ids, letters, strict=True) if x is None]
            if missing:
                raise InputError(f"no dead letter {', '.join(missing)}")
        else:
            letters = store.dead_letters(stage=args.stage)
        if args.stage:
            letters = [x for x in letters if x["stage"] == args.stage]
        results = []
        with _progress(len(letters)) as bar:  # on stderr, only on a terminal
            for letter in letters:
                results.append(_replay_one(pipeline, store, letter, args.dry_run))
                bar.update(1)
    failed = sum(1 for r in results if r["status"] == "still_fails")
    passed = len(results) - failed
    if args.format == "json":
        summary = {"replayed": len(results), "passed": passed, "failed": failed}
        print(_json(summary | {"dry_run": args.dry_run, "results": results}))
        return 1 if failed else 0
    for r in results:
        if r["status"] == "still_fails":
            print(f"{r['id']:>6}  still fails  {r['stage']}:")
            print(wrapped(r["reason"], indent="        "))
        elif r["status"] == "would_pass":
            print(f"{r['id']:>6}  would pass   -> {r['subject']}@{r['version']}")
        else:
            print(
                f"{r['id']:>6}  passes       -> {r['subject']}@{r['version']}"
                f", queued as ingest record {r['ingest_id']}"
            )
    action = "would be queued" if args.dry_run else "queued for delivery"
    print(f"replayed {passed + failed}: {passed} {action}, {failed} still fail")
    return 1 if failed else 0


def _progress(total: int) -> Any:
    """A tqdm bar on stderr for a replay batch (silent when stderr is not a terminal)."""
    from tqdm import tqdm

    return tqdm(total=total, unit="letter", desc="replay", file=sys.stderr,
                disable=not sys.stderr.isatty())  # fmt: skip


def _replay_one(pipeline: Any, store: Any, letter: dict[str, Any], dry_run: bool) -> dict[str, Any]:
    """One dead letter through the current schemas and rules: ``{"id", "status"}`` plus the
    new failure (``stage``, ``reason``) or where it now goes (``subject``, ``version`` and,
    unless a dry run, the new ``ingest_id``)."""
    from evolvekit.pipeline.pipeline import Rejected

    result: dict[str, Any] = {"id": letter["id"]}
    if letter["stage"] == "ingest":
        return result | {
            "status": "still_fails",
            "stage": "ingest",
            "reason": "the raw input is not an event",
        }
    verdict = pipeline.prepare(letter["event"], letter["subject"])
    if isinstance(verdict, Rejected):
        return result | {"status": "still_fails", "stage": verdict.stage, "reason": verdict.reason}
    result |= {"subject": verdict.subject, "version": verdict.target_version}
    if dry_run:
        return result | {"status": "would_pass"}
    new_id = store.requeue_dead_letter(letter["id"], letter["event"], letter["subject"])
    if new_id is None:  # replayed or purged by someone else meanwhile
        return result | {"status": "still_fails", "stage": "replay", "reason": "already gone"}
    return result | {"status": "queued", "ingest_id": new_id}


def run_purge(args: argparse.Namespace) -> int:
    from datetime import timedelta

    age = timedelta(0) if args.all else parse_duration(args.older_than, name="--older-than")
    kinds = ["dead_letters", *(["ingest_log"] if args.include_log else [])]
    with _open_store(args, write=True) as store:
        removed = store.purge(age, kinds=kinds)
    if args.format == "json":
        print(_json({kind: removed.get(kind, 0) for kind in kinds}))
        return 0
    for kind in kinds:
        print(f"purged {removed.get(kind, 0)} {kind.replace('_', ' ')} record(s)")
    return 0
