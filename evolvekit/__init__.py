"""evolvekit: a schema-evolution workbench for NICE CXone event data.

The public API (DESIGN.md, "Public API") is re-exported here. Names are imported lazily on
first use, so ``import evolvekit`` (and the CLI's start-up) stays fast and does not pull in
httpx, websockets or the validators until they are needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, str] = {
    # errors
    "EvolveKitError": "evolvekit.errors",
    "InputError": "evolvekit.errors",
    "SchemaError": "evolvekit.errors",
    "RefError": "evolvekit.errors",
    "VersionError": "evolvekit.errors",
    "RuleSetError": "evolvekit.errors",
    "ConfigError": "evolvekit.errors",
    "RegistryError": "evolvekit.errors",
    "EventValidationError": "evolvekit.errors",
    "MappingError": "evolvekit.errors",
    "MigrationError": "evolvekit.errors",
    "CXoneError": "evolvekit.errors",
    "CXoneAuthError": "evolvekit.errors",
    "CXoneScopeError": "evolvekit.errors",
    "CXonePublishError": "evolvekit.errors",
    "BroadcastError": "evolvekit.errors",
    "StoreError": "evolvekit.errors",
    # schemas
    "MISSING": "evolvekit.schema.changes",
    "Change": "evolvekit.schema.changes",
    "RenameHint": "evolvekit.schema.changes",
    "SchemaDiff": "evolvekit.schema.changes",
    "SchemaRegistry": "evolvekit.schema.registry",
    "diff_schemas": "evolvekit.schema.diff",
    "infer_schema": "evolvekit.schema.infer",
    "SchemaValidator": "evolvekit.schema.validate",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from evolvekit.errors import (
        BroadcastError,
        ConfigError,
        CXoneAuthError,
        CXoneError,
        CXonePublishError,
        CXoneScopeError,
        EventValidationError,
        EvolveKitError,
        InputError,
        MappingError,
        MigrationError,
        RefError,
        RegistryError,
        RuleSetError,
        SchemaError,
        StoreError,
        VersionError,
    )
    from evolvekit.schema.changes import MISSING, Change, RenameHint, SchemaDiff
    from evolvekit.schema.diff import diff_schemas
    from evolvekit.schema.infer import infer_schema
    from evolvekit.schema.registry import SchemaRegistry
    from evolvekit.schema.validate import SchemaValidator


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evolvekit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
