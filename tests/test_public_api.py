"""The public API (DESIGN.md) resolves: every name in __all__ imports; documented ones exist."""

import importlib

import evolvekit as ek

DOCUMENTED = [
    "SchemaRegistry",
    "diff_schemas",
    "SchemaDiff",
    "Change",
    "MISSING",
    "RuleSet",
    "register_transform",
    "check_rules",
    "suggest_rules",
    "Migrator",
    "MappingError",
    "CXoneConfig",
    "CXoneClient",
    "Broadcaster",
    "BackgroundBroadcaster",
    "infer_schema",
]


def test_every_exported_name_resolves() -> None:
    for name in ek.__all__:
        assert getattr(ek, name) is not None, name


def test_documented_names_are_exported() -> None:
    missing = [name for name in DOCUMENTED if name not in ek.__all__]
    assert not missing


def test_broadcast_consume_is_reachable() -> None:
    assert callable(importlib.import_module("evolvekit.broadcast").consume)
