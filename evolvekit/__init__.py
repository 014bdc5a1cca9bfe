"""evolvekit: a schema-evolution workbench for NICE CXone event data.

The public API (DESIGN.md, "Public API") is re-exported here. Names are imported lazily on
first use, so ``import evolvekit`` (and the CLI's start-up) stays fast and does not pull in
httpx, websockets or the validators until they are needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from evolvekit._lazy import lazy_getattr

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
    "MISSING": "evolvekit.sentinel",
    "Change": "evolvekit.schema.changes",
    "RenameHint": "evolvekit.schema.changes",
    "SchemaDiff": "evolvekit.schema.changes",
    "SchemaRegistry": "evolvekit.schema.registry",
    "diff_schemas": "evolvekit.schema.diff",
    "infer_schema": "evolvekit.schema.infer",
    "SchemaValidator": "evolvekit.schema.validate",
    # mapping
    "RuleSet": "evolvekit.mapping.ruleset",
    "register_transform": "evolvekit.mapping.transforms",
    "Migrator": "evolvekit.mapping.migrate",
    "check_rules": "evolvekit.mapping.check",
    "RulesReport": "evolvekit.mapping.check",
    "suggest_rules": "evolvekit.mapping.suggest",
    "Suggestion": "evolvekit.mapping.suggest",
    # CXone
    "CXoneConfig": "evolvekit.cxone.config",
    "CXoneClient": "evolvekit.cxone.client",
    "PublishResult": "evolvekit.cxone.client",
    # broadcasting
    "Broadcaster": "evolvekit.broadcast.broadcaster",
    "BackgroundBroadcaster": "evolvekit.broadcast.background",
    "BroadcasterOptions": "evolvekit.broadcast.options",
    # the pipeline service
    "Pipeline": "evolvekit.pipeline.pipeline",
    "Service": "evolvekit.pipeline.service",
    "ServiceConfig": "evolvekit.pipeline.config",
    "load_config": "evolvekit.pipeline.config",
}

__all__ = ["__version__", *_EXPORTS]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from evolvekit.broadcast.background import BackgroundBroadcaster
    from evolvekit.broadcast.broadcaster import Broadcaster
    from evolvekit.broadcast.options import BroadcasterOptions
    from evolvekit.cxone.client import CXoneClient, PublishResult
    from evolvekit.cxone.config import CXoneConfig
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
    from evolvekit.mapping.check import RulesReport, check_rules
    from evolvekit.mapping.migrate import Migrator
    from evolvekit.mapping.ruleset import RuleSet
    from evolvekit.mapping.suggest import Suggestion, suggest_rules
    from evolvekit.mapping.transforms import register_transform
    from evolvekit.pipeline.config import ServiceConfig, load_config
    from evolvekit.pipeline.pipeline import Pipeline
    from evolvekit.pipeline.service import Service
    from evolvekit.schema.changes import Change, RenameHint, SchemaDiff
    from evolvekit.schema.diff import diff_schemas
    from evolvekit.schema.infer import infer_schema
    from evolvekit.schema.registry import SchemaRegistry
    from evolvekit.schema.validate import SchemaValidator
    from evolvekit.sentinel import MISSING


# Subpackages reachable as attributes without an explicit import (``ek.broadcast.consume``).
_SUBPACKAGES = frozenset({"broadcast", "workbench"})


__getattr__ = lazy_getattr(__name__, _EXPORTS, globals(), subpackages=_SUBPACKAGES)


def __dir__() -> list[str]:
    return sorted(__all__)
