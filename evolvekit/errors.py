"""One error hierarchy for evolvekit.

Every error a user can cause carries where it happened (file, line, JSON pointer, rule)
and renders as one line, so the CLI prints ``str(err)`` and exits 2 without a traceback::

    EvolveKitError
    ├── InputError                  bad input the user can fix (file, line, pointer)
    │   ├── SchemaError             not JSON, not a schema, unknown $schema, too big/deep
    │   │   └── RefError            remote, dangling, escaping or structureless $ref
    │   ├── VersionError            a version string that is not semantic
    │   ├── RuleSetError            a rule file that does not load or check
    │   └── ConfigError             settings, config files, environment
    ├── RegistryError               unknown subject / version, registration refused
    ├── EventValidationError        an event fails its schema
    ├── MappingError                a rule fails on an event at run time
    ├── MigrationError              no route between versions, version not detectable
    ├── CXoneError                  talking to CXone
    │   ├── CXoneAuthError          token endpoint refused or answered nonsense
    │   ├── CXoneScopeError         403: a scope is missing
    │   └── CXonePublishError       4xx other than 401/403/429, or retries exhausted
    ├── BroadcastError              the WebSocket broadcaster
    └── StoreError                  the SQLite store
"""

from __future__ import annotations

from typing import Any


class EvolveKitError(Exception):
    """Base of every evolvekit error: a message plus where it happened."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        pointer: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.pointer = pointer

    @property
    def location(self) -> str:
        """``file:line:column`` and/or the JSON pointer, whichever are known."""
        where = ""
        if self.file:
            where = str(self.file)
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
        elif self.line is not None:
            where = f"line {self.line}"
        if self.pointer is not None:
            where = f"{where} {self.pointer}".strip() if where else self.pointer
        return where

    def __str__(self) -> str:
        where = self.location
        return f"{where}: {self.message}" if where else self.message


class InputError(EvolveKitError):
    """Input the user can fix: a file, a flag, a value."""


class SchemaError(InputError):
    """A schema file that cannot be used (parse, metaschema, dialect, size, depth)."""


class RefError(SchemaError):
    """A ``$ref`` that is remote, dangling, outside the registry or has no structure."""


class VersionError(InputError):
    """A version that is not a semantic version."""


class RuleSetError(InputError):
    """A rule file that does not load or does not check."""

    def __init__(self, message: str, *, rule: int | None = None, **where: Any) -> None:
        super().__init__(message, **where)
        self.rule = rule

    def __str__(self) -> str:
        base = super().__str__()
        if self.rule is not None and self.line is None:
            return f"rule {self.rule}: {base}"
        return base


class ConfigError(InputError):
    """Settings that are missing or malformed."""


class RegistryError(EvolveKitError):
    """Unknown subject or version, or a registration the subject's mode refuses."""


class EventValidationError(EvolveKitError):
    """An event that does not validate; ``errors`` holds (pointer, message) pairs."""

    def __init__(self, message: str, errors: list[tuple[str, str]] | None = None, **where: Any):
        super().__init__(message, **where)
        self.errors = errors or []


class MappingError(EvolveKitError):
    """A rule that failed on an event, with everything needed to fix it."""

    def __init__(
        self,
        message: str,
        *,
        rule: int | None = None,
        path: str | None = None,
        value: Any = None,
        transform: str | None = None,
        **where: Any,
    ) -> None:
        super().__init__(message, **where)
        self.rule = rule
        self.path = path
        self.value = value
        self.transform = transform

    def __str__(self) -> str:
        parts = []
        if self.rule is not None:
            parts.append(f"rule {self.rule}")
        if self.file or self.line is not None:
            parts.append(self.location)
        if self.path:
            parts.append(f"path {self.path}")
        if self.transform:
            parts.append(f"transform {self.transform}")
        prefix = " ".join(parts)
        return f"{prefix}: {self.message}" if prefix else self.message


class MigrationError(EvolveKitError):
    """No route between two versions, or an event whose version cannot be detected."""


class CXoneError(EvolveKitError):
    """Talking to CXone (or the simulator) failed."""


class CXoneAuthError(CXoneError):
    """The token endpoint refused the credentials or answered something unusable."""


class CXoneScopeError(CXoneError):
    """403: the token lacks a scope."""

    def __init__(self, message: str, *, scope: str | None = None, **where: Any) -> None:
        super().__init__(message, **where)
        self.scope = scope


class CXonePublishError(CXoneError):
    """An event could not be published; ``status`` and ``body`` from the last answer."""

    def __init__(
        self, message: str, *, status: int | None = None, body: str | None = None, **where: Any
    ) -> None:
        super().__init__(message, **where)
        self.status = status
        self.body = body


class BroadcastError(EvolveKitError):
    """The WebSocket broadcaster failed or was misused."""


class StoreError(EvolveKitError):
    """The SQLite store could not be read or written."""
