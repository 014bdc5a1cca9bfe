"""``evolvekit check --base REF``: every schema file compared with its version at a git ref.

The schemas folder as it was at REF is read with ``git ls-tree``/``git show`` (neither the
working tree nor the index is touched) into a temporary copy, and each changed or new version
is diffed under its subject's mode.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import orjson

from evolvekit.errors import EvolveKitError, InputError, RegistryError
from evolvekit.schema.changes import SchemaDiff
from evolvekit.schema.report import CheckRow, PairResult, judging_mode
from evolvekit.versions import Version, sort_versions

if TYPE_CHECKING:  # pragma: no cover
    from evolvekit.schema.registry import SchemaRegistry


def _git(cwd: Path, *argv: str) -> bytes:
    """Run git read-only in ``cwd``; a failure is bad input named by git's own last line."""
    try:
        proc = subprocess.run(  # a fixed executable and an argv list: no shell
            ["git", *argv], cwd=cwd, capture_output=True, check=False, timeout=120
        )
    except FileNotFoundError:
        raise InputError("--base needs git, which is not installed") from None
    except subprocess.TimeoutExpired:
        raise InputError(f"git {argv[0]} timed out") from None
    if proc.returncode != 0:
        lines = proc.stderr.decode(errors="replace").strip().splitlines()
        reason = lines[-1] if lines else f"exit status {proc.returncode}"
        raise InputError(f"git {argv[0]} failed: {reason}")
    return proc.stdout


def snapshot_at_ref(schemas: Path, ref: str, into: Path) -> None:
    """Write the schemas folder as it was at ``ref`` into ``into`` (empty if it did not exist).

    Files are listed with ``git ls-tree`` and read with ``git show REF:path``, so neither the
    working tree nor the index is touched.
    """
    if not ref or ref.startswith("-"):
        raise InputError(f"--base {ref!r} is not a git ref")  # never let it read as an option
    top = _git_toplevel(schemas)
    try:
        _git(top, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except InputError:
        raise InputError(f"--base {ref!r} is not a commit in {top}") from None
    rel = PurePosixPath(schemas.resolve().relative_to(top).as_posix())
    listing = _git(top, "ls-tree", "-r", "-z", ref, "--", str(rel))
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, _, raw_path = entry.partition(b"\t")
        if meta.split()[1] != b"blob":  # submodules have no content to compare
            continue
        path = raw_path.decode()
        inner = PurePosixPath(path).relative_to(rel) if str(rel) != "." else PurePosixPath(path)
        target = into.joinpath(*inner.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_git(top, "show", f"{ref}:{path}"))


@contextmanager
def _relocated_errors(copies: dict[Path, str]) -> Iterator[None]:
    """Errors in temporary copies name the file the user knows (``REF:schemas/...`` for the
    snapshot, the real path for the working copy), not a temporary path."""
    try:
        yield
    except EvolveKitError as exc:
        if exc.file:
            for copy, shown in copies.items():
                if Path(exc.file).is_relative_to(copy):
                    exc.file = f"{shown}{Path(exc.file).relative_to(copy).as_posix()}"
                    break
        raise


def _allows(diff: SchemaDiff, mode: str) -> bool:
    """Whether a subject's configured mode accepts this diff (``none`` accepts all)."""
    return mode == "none" or diff.compatible(judging_mode(mode))


def _pairs_row(subject: str, compared: str, mode: str, pairs: tuple[PairResult, ...]) -> CheckRow:
    judged = judging_mode(mode)
    breaking = sum(len(p.diff.breaking(judged)) for p in pairs if not p.ok)
    return CheckRow(subject, compared, mode, all(p.ok for p in pairs), breaking, pairs=pairs)


def base_rows(
    registry: SchemaRegistry, ref: str, *, subject: str | None = None, policy: str = "strict"
) -> list[CheckRow]:
    """Every schema file compared with its version at git ``ref`` (the CI gate).

    A changed version is diffed against its own content at ``ref``; a version new since
    ``ref`` against its subject's previous version (all earlier ones when the mode is
    transitive); a version deleted since ``ref`` is a violation. Unchanged files make no row.
    """
    from evolvekit.schema.registry import SchemaRegistry

    root = Path(registry.root)
    top = _git_toplevel(root)
    rel = root.resolve().relative_to(top).as_posix()
    with tempfile.TemporaryDirectory(prefix="evolvekit-base-") as tmp:
        # Both sides live under one temporary root so that one registry resolves the refs of
        # each side against its own files (a shared $defs file may differ between them).
        union = Path(tmp).resolve()
        snapshot = union / "base"
        snapshot.mkdir()
        snapshot_at_ref(root, ref, snapshot)
        shutil.copytree(root, union / "current", ignore=shutil.ignore_patterns(".*", "*.jsonl"))
        both = SchemaRegistry(union)
        base = SchemaRegistry(snapshot)
        shown_base = f"{ref}:" if rel == "." else f"{ref}:{rel}/"
        copies = {snapshot: shown_base, union / "current": f"{root}{os.sep}"}
        with _relocated_errors(copies):
            base_subjects = set(base.subjects())
            current_subjects = set(registry.subjects())
            subjects = sorted(base_subjects | current_subjects)
            if subject is not None:
                if subject not in subjects:
                    raise RegistryError(f"unknown subject {subject!r} (here or at {ref})")
                subjects = [subject]
            rows: list[CheckRow] = []
            for name in subjects:
                old_versions = base.versions(name) if name in base_subjects else []
                new_versions = registry.versions(name) if name in current_subjects else []
                mode = registry.mode(name) if name in current_subjects else base.mode(name)
                for gone in sort_versions(list(set(old_versions) - set(new_versions))):
                    rows.append(CheckRow(name, f"{gone} at {ref}", mode, False, note="deleted"))
                for version in new_versions:
                    row = _version_row(
                        registry, base, both, name, version, old_versions, mode, ref, policy
                    )
                    if row is not None:
                        rows.append(row)
    return rows


def _version_row(
    registry: SchemaRegistry,
    base: SchemaRegistry,
    both: SchemaRegistry,
    subject: str,
    version: str,
    old_versions: list[str],
    mode: str,
    ref: str,
    policy: str,
) -> CheckRow | None:
    from evolvekit.schema.diff import diff_schemas

    def side(reg: SchemaRegistry, folder: str, v: str) -> tuple[Any, str]:
        """The schema (checked by its own registry) and its URI under the union root."""
        path = Path(reg.path(subject, v)).relative_to(Path(reg.root))
        return reg.get(subject, v), (Path(both.root) / folder / path).as_uri()

    new_schema, new_uri = side(registry, "current", version)
    if version in old_versions:
        old_schema, old_uri = side(base, "base", version)
        if old_schema == new_schema and not _has_ref(new_schema):
            return None  # untouched and self-contained: nothing can have changed
        diff = diff_schemas(
            old_schema, new_schema, policy=policy, registry=both, old_uri=old_uri, new_uri=new_uri
        )
        if not diff.changes:
            return None
        diff.relabel(f"{subject}@{version} at {ref}", f"{subject}@{version}")
        pair = PairResult(f"{version} at {ref}", version, diff, _allows(diff, mode))
        return _pairs_row(subject, f"{version} vs {ref}", mode, (pair,))
    earlier = [v for v in registry.versions(subject) if Version(v) < Version(version)]
    if not earlier:
        return CheckRow(subject, f"{version} (first version)", mode, True)
    targets = earlier if mode.endswith("_transitive") else earlier[-1:]
    pairs = []
    for previous in reversed(targets):
        old_schema, old_uri = side(registry, "current", previous)
        diff = diff_schemas(
            old_schema, new_schema, policy=policy, registry=both, old_uri=old_uri, new_uri=new_uri
        )
        diff.relabel(f"{subject}@{previous}", f"{subject}@{version}")
        pairs.append(PairResult(previous, version, diff, _allows(diff, mode)))
    compared = f"{version} (new) vs {', '.join(reversed(targets))}"
    return _pairs_row(subject, compared, mode, tuple(pairs))


def _has_ref(schema: Any) -> bool:
    return b'"$ref"' in orjson.dumps(schema)


def _git_toplevel(folder: Path) -> Path:
    try:
        return Path(_git(folder, "rev-parse", "--show-toplevel").decode().strip()).resolve()
    except InputError:
        raise InputError(f"--base needs a git repository, and {folder} is not in one") from None
