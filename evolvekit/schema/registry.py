"""The schema registry: ``schemas/<subject>/<version>.json`` on disk, checked and resolved offline.

Layout::

    schemas/
      _defs/common.json                 shared definitions (a "_" folder is no subject)
      interaction.completed/
        subject.yaml                    optional: mode, description, version_field
        1.0.0.json  2.0.0.json ...      one file per semantic version ("v2.0.0.json" accepted)
        examples/1.0.0.jsonl            optional sample events (not read by the registry)

Files are read lazily and cached: listing a registry of hundreds of files only lists folders.
``get`` returns a parsed schema that passed every check (JSON, size, depth, dialect,
metaschema, refs); each failure is a one-line error naming the file and JSON pointer.
This module is the only I/O in ``evolvekit.schema``.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

import jsonschema.exceptions
import jsonschema.validators
import orjson
import referencing
import yaml
from referencing import Resource

from evolvekit.errors import ConfigError, RefError, RegistryError, SchemaError, VersionError
from evolvekit.schema.policy import Ignore, parse_ignores
from evolvekit.schema.refs import check_refs, dialect_of, is_remote, offline_registry
from evolvekit.versions import Version, normalize_version, sort_versions
from evolvekit.workspace import schemas_dir

if TYPE_CHECKING:  # pragma: no cover
    from evolvekit.schema.validate import SchemaValidator

SUBJECT_FILE = "subject.yaml"
SUBJECT_KEYS = frozenset({"mode", "description", "version_field", "policy", "ignore"})
BASE_MODES = ("backward", "forward", "full")
VALID_MODES = frozenset(
    {"none", *BASE_MODES, *(f"{m}_transitive" for m in BASE_MODES)}
)  # fmt: skip
DEFAULT_MODE = "backward"
_SUBJECT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class SubjectConfig:
    """A subject's ``subject.yaml`` (defaults when the file is absent)."""

    mode: str = DEFAULT_MODE
    description: str | None = None
    version_field: str | None = None
    policy: str | None = None  # strict | lenient; None: not set (the default, strict, applies)
    ignores: tuple[Ignore, ...] = ()
    mode_set: bool = False  # whether subject.yaml names the mode (else the default applies)

    @property
    def transitive(self) -> bool:
        return self.mode.endswith("_transitive")

    @property
    def base_mode(self) -> str:
        """``backward``/``forward``/``full`` without ``_transitive``, or ``none``."""
        return self.mode.removesuffix("_transitive")


def parse_ref(text: str) -> tuple[str, str]:
    """``"interaction.completed@v2.0.0"`` -> ``("interaction.completed", "2.0.0")``.

    ``@latest`` is kept as ``"latest"`` (resolved by the registry).
    """
    subject, sep, version = text.rpartition("@")
    if not sep or not subject or not version:
        raise RegistryError(f"{text!r} is not a subject@version reference")
    if version == "latest":
        return subject, version
    return subject, normalize_version(version)


def looks_like_ref(text: str) -> bool:
    """True when ``text`` reads as ``subject@version`` rather than a file path."""
    return "@" in text and not Path(text).exists()


def max_depth_of(value: Any) -> int:
    """Nesting depth of a JSON value (scalars 0), computed without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            depth += 1
            deepest = max(deepest, depth)
            stack.extend((child, depth) for child in node.values())
        elif isinstance(node, list):
            depth += 1
            deepest = max(deepest, depth)
            stack.extend((child, depth) for child in node)
    return deepest


def pointer_at_depth(value: Any, limit: int) -> str:
    """JSON pointer of the first container found nested deeper than ``limit``."""
    stack: list[tuple[Any, int, str]] = [(value, 0, "#")]
    while stack:
        node, depth, pointer = stack.pop()
        if isinstance(node, dict | list):
            depth += 1
            if depth > limit:
                return pointer
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in items:
                token = str(key).replace("~", "~0").replace("/", "~1")
                stack.append((child, depth, f"{pointer}/{token}"))
    return "#"


def parse_schema_bytes(data: bytes, *, file: str, max_depth: int = 1000) -> Any:
    """Parse JSON bytes, refusing syntax errors and nesting over ``max_depth`` (located)."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        message = str(exc).split(": line ")[0]
        if "depth limit" in message or "recursion" in message.lower():
            raise SchemaError(
                f"nesting is deeper than the JSON parser's limit (1024 levels; "
                f"the configured limit is {max_depth})",
                file=file, line=exc.lineno, column=exc.colno,
            ) from None  # fmt: skip
        raise SchemaError(
            f"not valid JSON: {message}", file=file, line=exc.lineno, column=exc.colno
        ) from None
    if max_depth_of(value) > max_depth:
        raise SchemaError(
            f"nesting is deeper than the limit of {max_depth} levels",
            file=file,
            pointer=pointer_at_depth(value, max_depth),
        )
    return value


def check_metaschema(schema: Any, *, file: str | None) -> None:
    """Check ``schema`` against its declared dialect's metaschema (unknown $schema refused)."""
    dialect_of(schema, file=file)  # unknown $schema -> SchemaError first
    cls = jsonschema.validators.validator_for(
        schema, default=jsonschema.validators.Draft202012Validator
    )
    try:
        cls.check_schema(schema)
    except jsonschema.exceptions.SchemaError as exc:
        tokens = [str(p).replace("~", "~0").replace("/", "~1") for p in exc.absolute_path]
        pointer = "#/" + "/".join(tokens) if tokens else "#"
        message = exc.message if len(exc.message) <= 200 else exc.message[:197] + "..."
        raise SchemaError(f"not a valid JSON Schema: {message}", file=file,
                          pointer=pointer) from None  # fmt: skip


class SchemaRegistry:
    """Schemas by subject and semantic version, read from a folder, resolved offline."""

    def __init__(
        self,
        root: str | Path | None = None,
        *,
        max_bytes: int = 10_000_000,
        max_depth: int = 1000,
    ) -> None:
        self.root = schemas_dir(root)
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        self._versions: dict[str, dict[str, Path]] = {}
        self._configs: dict[str, SubjectConfig] = {}
        self._parsed: dict[Path, Any] = {}  # JSON + size + depth + metaschema checked
        self._signatures: dict[Path, tuple[int, int]] = {}  # (mtime_ns, size) when parsed
        self._checked: set[Path] = set()  # additionally every $ref resolved
        # (schema object it was built from, validator): rebuilt when the file is re-read
        self._validators: dict[tuple[str, str], tuple[Any, SchemaValidator]] = {}
        self._referencing: referencing.Registry[Any] | None = None

    def __repr__(self) -> str:
        return f"SchemaRegistry({str(self.root)!r})"

    # --- listing ------------------------------------------------------------------------

    def subjects(self) -> list[str]:
        """Subject folders, sorted; folders starting with ``_`` or ``.`` are not subjects."""
        return sorted(
            entry.name
            for entry in self.root.iterdir()
            if entry.is_dir() and not entry.name.startswith(("_", "."))
        )

    def _subject_dir(self, subject: str) -> Path:
        folder = self.root / subject
        if not _SUBJECT_NAME.match(subject) or not folder.is_dir():
            known = ", ".join(self.subjects()) or "none"
            raise RegistryError(f"unknown subject {subject!r} in {self.root} (known: {known})")
        return folder

    def _version_files(self, subject: str) -> dict[str, Path]:
        cached = self._versions.get(subject)
        if cached is not None:
            return cached
        files: dict[str, Path] = {}
        for path in sorted(self._subject_dir(subject).glob("*.json")):
            try:
                version = normalize_version(path.stem)
            except VersionError:
                raise VersionError(
                    f"file name {path.name!r} is not a semantic version "
                    "(expected e.g. 2.1.0.json or v2.1.0.json)",
                    file=str(path),
                ) from None
            if version in files:
                raise RegistryError(
                    f"version {version} is defined twice ({files[version].name} and {path.name})",
                    file=str(path),
                )
            files[version] = path
        self._versions[subject] = files
        return files

    def versions(self, subject: str) -> list[str]:
        """The subject's versions in ascending semantic-version order."""
        return sort_versions(list(self._version_files(subject)))

    def latest(self, subject: str) -> str:
        versions = self.versions(subject)
        if not versions:
            raise RegistryError(f"subject {subject!r} has no versions yet")
        return versions[-1]

    def _resolve_version(self, subject: str, version: str) -> str:
        if version == "latest":
            return self.latest(subject)
        normal = normalize_version(version)
        if normal not in self._version_files(subject):
            offered = ", ".join(self.versions(subject)) or "none"
            raise RegistryError(
                f"subject {subject!r} has no version {normal} (versions: {offered})"
            )
        return normal

    def path(self, subject: str, version: str) -> Path:
        """The file holding ``subject`` at ``version`` (``latest`` accepted)."""
        return self._version_files(subject)[self._resolve_version(subject, version)]

    def uri(self, subject: str, version: str) -> str:
        """The file's ``file://`` URI: the stable base for its relative refs."""
        return self.path(subject, version).as_uri()

    # --- subject.yaml -------------------------------------------------------------------

    def config(self, subject: str) -> SubjectConfig:
        cached = self._configs.get(subject)
        if cached is None:
            cached = self._read_config(self._subject_dir(subject) / SUBJECT_FILE)
            self._configs[subject] = cached
        return cached

    def mode(self, subject: str) -> str:
        """``backward`` (default), ``forward``, ``full`` (maybe ``_transitive``), or ``none``."""
        return self.config(subject).mode

    @staticmethod
    def _read_config(path: Path) -> SubjectConfig:
        if not path.is_file():
            return SubjectConfig()
        where = str(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            raise ConfigError(
                f"not valid YAML: {exc.problem}", file=where,
                line=mark.line + 1 if mark else None, column=mark.column + 1 if mark else None,
            ) from None  # fmt: skip
        except (yaml.YAMLError, OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read: {exc}", file=where) from None
        if data is None:
            return SubjectConfig()
        if not isinstance(data, dict):
            raise ConfigError("subject.yaml must be a mapping of settings", file=where)
        for key in data:
            if key not in SUBJECT_KEYS:
                raise ConfigError(
                    f"unknown key {key!r} (allowed: {', '.join(sorted(SUBJECT_KEYS))})",
                    file=where,
                )
        mode = str(data.get("mode", DEFAULT_MODE)).strip().lower()
        if mode not in VALID_MODES:
            raise ConfigError(
                f"mode {data.get('mode')!r} is not one of {', '.join(sorted(VALID_MODES))}",
                file=where,
            )
        description = data.get("description")
        version_field = data.get("version_field")
        for key, value in (("description", description), ("version_field", version_field)):
            if value is not None and not isinstance(value, str):
                raise ConfigError(f"{key} must be a string", file=where)
        policy = data.get("policy")
        if policy is not None and policy not in ("strict", "lenient"):
            raise ConfigError(f"policy {policy!r} is not one of lenient, strict", file=where)
        return SubjectConfig(mode=mode, description=description, version_field=version_field,
                             policy=policy, ignores=parse_ignores(data.get("ignore"), file=where),
                             mode_set="mode" in data)  # fmt: skip

    # --- loading ------------------------------------------------------------------------

    def _parse(self, path: Path) -> Any:
        """JSON, size, depth, dialect and metaschema checks; cached per file."""
        where = str(path)
        try:
            stat = path.stat()
        except OSError as exc:
            raise SchemaError(f"cannot read: {exc.strerror}", file=where) from None
        signature = (stat.st_mtime_ns, stat.st_size)
        cached = self._parsed.get(path)
        if cached is not None and self._signatures.get(path) == signature:
            return cached
        if cached is not None:  # edited on disk since it was read: forget what was derived
            self._checked.discard(path)  # (cached validators notice the new schema object)
        try:
            size = stat.st_size
            if size > self.max_bytes:
                raise SchemaError(
                    f"file is {size} bytes, over the limit of {self.max_bytes}", file=where
                )
            data = path.read_bytes()
        except OSError as exc:
            raise SchemaError(f"cannot read: {exc.strerror}", file=where) from None
        schema = parse_schema_bytes(data, file=where, max_depth=self.max_depth)
        check_metaschema(schema, file=where)
        self._parsed[path] = schema
        self._signatures[path] = signature
        return schema

    def _load_checked(self, path: Path) -> Any:
        schema = self._parse(path)
        if path not in self._checked:
            check_refs(schema, base_uri=path.as_uri(), registry=self, file=str(path))
            self._checked.add(path)
        return schema

    def get(self, subject: str, version: str) -> Any:
        """The parsed, fully checked schema (a fresh copy: mutate it freely)."""
        schema = self._load_checked(self.path(subject, version))
        return orjson.loads(orjson.dumps(schema))

    def load_file(self, path: str | Path) -> Any:
        """An ad-hoc schema file (e.g. given on the command line), checked like registry files.

        Its relative refs resolve against its own location; they may only reach files inside
        the registry root.
        """
        resolved = Path(path).expanduser().resolve()
        if not resolved.is_file():
            raise SchemaError("no such schema file", file=str(path))
        return orjson.loads(orjson.dumps(self._load_checked(resolved)))

    # --- $ref ---------------------------------------------------------------------------

    def _retrieve(self, uri: str) -> Resource[Any]:
        """The offline retriever: registry files only, never the network, never outside root."""
        if is_remote(uri):
            raise RefError(f"remote $ref {uri} is never fetched (refs are resolved offline)")
        parts = urlsplit(uri)
        if parts.scheme != "file":
            raise RefError(f"{uri} is not a file in the registry")
        target = Path(url2pathname(unquote(parts.path))).resolve()
        if not target.is_relative_to(self.root):
            raise RefError(f"{target} is outside the registry root {self.root}")
        if not target.is_file():
            raise RefError(f"no such file in the registry: {target.relative_to(self.root)}")
        schema = self._parse(target)
        return dialect_of(schema, file=str(target)).create_resource(schema)

    def retrieve_json(self, uri: str) -> Any:
        """Same as the retriever, returning the schema (for validators that want plain JSON)."""
        return self._retrieve(uri).contents

    def referencing_registry(self) -> referencing.Registry[Any]:
        """A ``referencing.Registry`` over this folder: files load on demand, offline."""
        if self._referencing is None:
            self._referencing = offline_registry(self._retrieve)
        return self._referencing

    def validator(self, subject: str, version: str) -> SchemaValidator:
        """A compiled validator for ``subject@version``, built once (again if the file changes)."""
        from evolvekit.schema.validate import SchemaValidator

        normal = self._resolve_version(subject, version)
        key = (subject, normal)
        path = self.path(subject, normal)
        schema = self._load_checked(path)
        cached = self._validators.get(key)
        if cached is not None and cached[0] is schema:
            return cached[1]
        built = SchemaValidator(schema, registry=self, base_uri=path.as_uri(), file=str(path))
        self._validators[key] = (schema, built)
        return built

    # --- writing ------------------------------------------------------------------------

    def add(self, subject: str, schema: Any, version: str | None = None) -> str:
        """Write ``schema`` as a new version of ``subject`` and return that version.

        ``version=None`` means the next minor after the latest (``1.0.0`` for a new subject);
        no patch/major is guessed from the content. Compatibility is NOT checked here: the
        caller (``evolvekit register``) runs ``evolvekit.schema.compat`` first.
        """
        if not _SUBJECT_NAME.match(subject) or subject.startswith(("_", ".")):
            raise RegistryError(f"{subject!r} is not a valid subject name")
        folder = self.root / subject
        existing = self.versions(subject) if folder.is_dir() else []
        if version is None:
            if existing:
                last = Version(existing[-1])
                version = f"{last.major}.{last.minor + 1}.0"
            else:
                version = "1.0.0"
        version = normalize_version(version)
        if version in existing:
            raise RegistryError(f"subject {subject!r} already has version {version}")
        target = folder / f"{version}.json"
        where = str(target)
        try:
            encoded = orjson.dumps(schema, option=orjson.OPT_INDENT_2) + b"\n"
        except TypeError as exc:
            raise SchemaError(f"schema is not JSON: {exc}", file=where) from None
        if len(encoded) > self.max_bytes:
            raise SchemaError(f"schema is {len(encoded)} bytes, over {self.max_bytes}", file=where)
        if max_depth_of(schema) > self.max_depth:
            raise SchemaError(
                f"nesting is deeper than the limit of {self.max_depth} levels",
                file=where,
                pointer=pointer_at_depth(schema, self.max_depth),
            )
        check_metaschema(schema, file=where)
        check_refs(schema, base_uri=target.as_uri(), registry=self, file=where)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            # Write-then-rename so a crash never leaves a half-written version behind.
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".part", dir=folder)
        except OSError as exc:
            raise RegistryError(f"cannot write: {exc.strerror}", file=where) from None
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(encoded)
            os.replace(tmp, target)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            raise RegistryError(f"cannot write: {exc.strerror}", file=where) from None
        self._versions.pop(subject, None)
        return version
