"""Lazy re-exports for package ``__init__`` modules (PEP 562).

A package lists ``{name: module}`` and gets a module ``__getattr__`` that imports each name
on first use and caches it in the package namespace, so importing the package stays cheap
(no httpx, websockets or ipywidgets until a name that needs them is touched).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_getattr(
    package: str,
    exports: Mapping[str, str],
    namespace: dict[str, Any],
    *,
    subpackages: frozenset[str] = frozenset(),
) -> Callable[[str], Any]:
    """The ``__getattr__`` for ``package``: ``exports`` maps a public name to its module."""

    def __getattr__(name: str) -> Any:
        if name in subpackages:
            return importlib.import_module(f"{package}.{name}")
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__
