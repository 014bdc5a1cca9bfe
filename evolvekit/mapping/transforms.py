"""Named transforms that rules may apply: a registry, never ``eval`` or import strings.

A transform is ``fn(value, **params) -> value``. It raises ``TransformFailure`` (or
ValueError/TypeError) with a message a person can act on; the engine turns that into a
MappingError naming the rule, path, value and transform. Parameters are read from the
function's signature (keyword parameters without a default are required). An optional
``prepare(params) -> params`` checks and pre-computes parameters once, when a rule set is
loaded (e.g. compiling a regular expression), so bad parameters fail at load time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from evolvekit.errors import RuleSetError
from evolvekit.mapping.builtin_transforms import BUILTIN_TRANSFORMS
from evolvekit.mapping.transform_types import (
    PrepareFn,
    Transform,
    TransformFailure,
    TransformFn,
    expect_string,
    show_value,
    transform_decorator,
)

__all__ = [
    "PrepareFn",
    "Transform",
    "TransformFailure",
    "TransformFn",
    "expect_string",
    "get_transform",
    "register_transform",
    "show_value",
    "transforms",
]


def _builtin_registry() -> dict[str, Transform]:
    """The registry's starting content: each built-in transform, registered by name."""
    registry: dict[str, Transform] = {}
    for transform in BUILTIN_TRANSFORMS:
        if transform.name in registry:
            raise ValueError(f"built-in transform {transform.name!r} is defined twice")
        registry[transform.name] = transform
    return registry


_REGISTRY: dict[str, Transform] = _builtin_registry()


def register_transform(
    name: str,
    *,
    description: str = "",
    input_types: Iterable[str] | None = None,
    output_type: str | None = None,
    prepare: PrepareFn | None = None,
    replace: bool = False,
) -> Callable[[TransformFn], TransformFn]:
    """Decorator registering ``fn(value, **params) -> value`` under ``name`` for rule files.

    ``input_types``/``output_type`` are JSON type names (``"string"``, ``"integer"``, ...)
    used by static checks. Registering a taken name raises ValueError unless ``replace``.
    """

    def add(transform: Transform) -> None:
        if transform.name in _REGISTRY and not replace:
            raise ValueError(
                f"transform {transform.name!r} is already registered (pass replace=True)"
            )
        _REGISTRY[transform.name] = transform

    return transform_decorator(name, add, description=description, input_types=input_types,
                               output_type=output_type, prepare=prepare)  # fmt: skip


def get_transform(name: str) -> Transform:
    """The registered transform ``name``; an unknown name raises RuleSetError."""
    try:
        return _REGISTRY[name]
    except (KeyError, TypeError):
        known = ", ".join(sorted(_REGISTRY))
        raise RuleSetError(f"unknown transform {name!r} (registered: {known})") from None


def transforms() -> dict[str, Transform]:
    """Every registered transform by name (a copy)."""
    return dict(_REGISTRY)
