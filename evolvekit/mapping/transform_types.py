"""What a transform is: the ``Transform`` record, its failure type, and how one is made.

Shared by the registry (``transforms.py``) and the built-in transforms
(``builtin_transforms.py``), which therefore do not import each other in a circle.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from evolvekit.errors import RuleSetError
from evolvekit.jsonio import JSON_TYPES, json_type


class TransformFailure(ValueError):
    """A transform could not handle a value; the message says why, for a person."""


TransformFn = Callable[..., Any]
PrepareFn = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True, eq=False)
class Transform:
    """A registered transform and what the workbench and check_rules need to know about it."""

    name: str
    description: str
    fn: TransformFn
    input_types: frozenset[str] | None = None  # JSON types accepted; None = any
    output_type: str | None = None  # JSON type produced; None = same as input / unknown
    params: dict[str, bool] = field(default_factory=dict)  # name -> required
    prepare: PrepareFn | None = None

    def check_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Checked (and prepared) parameters; raises RuleSetError saying what is wrong."""
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            known = ", ".join(sorted(self.params)) or "none"
            raise RuleSetError(
                f"transform {self.name!r} has no parameter {', '.join(map(repr, unknown))} "
                f"(parameters: {known})"
            )
        missing = sorted(p for p, required in self.params.items() if required and p not in params)
        if missing:
            raise RuleSetError(
                f"transform {self.name!r} needs parameter {', '.join(map(repr, missing))}"
            )
        if self.prepare is None:
            return dict(params)
        try:
            return self.prepare(dict(params))
        except (TransformFailure, ValueError, TypeError) as exc:
            raise RuleSetError(f"transform {self.name!r}: {exc}") from None

    def bind(self, params: dict[str, Any]) -> Callable[[Any], Any]:
        """A one-argument function with checked parameters bound (done once, at compile)."""
        prepared = self.check_params(params)
        return functools.partial(self.fn, **prepared) if prepared else self.fn


_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")


def signature_params(fn: TransformFn) -> dict[str, bool]:
    params: dict[str, bool] = {}
    signature = inspect.signature(fn)
    positional = [
        p
        for p in signature.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if not positional:
        raise TypeError("a transform takes the value as its first positional parameter")
    for parameter in list(signature.parameters.values())[1:]:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        params[parameter.name] = parameter.default is inspect.Parameter.empty
    return params


def transform_decorator(
    name: str,
    add: Callable[[Transform], None],
    *,
    description: str = "",
    input_types: Iterable[str] | None = None,
    output_type: str | None = None,
    prepare: PrepareFn | None = None,
) -> Callable[[TransformFn], TransformFn]:
    """A decorator that makes ``fn(value, **params) -> value`` a ``Transform`` named ``name``
    and hands it to ``add``. The name and JSON type names are checked at once (ValueError),
    the function's signature when it is decorated (TypeError)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"bad transform name {name!r}: use letters, digits, '_', '.', '-'")
    accepted = None if input_types is None else frozenset(input_types)
    for type_name in (*(accepted or ()), *([output_type] if output_type else [])):
        if type_name not in JSON_TYPES:
            raise ValueError(f"{type_name!r} is not a JSON type ({', '.join(sorted(JSON_TYPES))})")

    def decorator(fn: TransformFn) -> TransformFn:
        add(
            Transform(
                name=name,
                description=description or (inspect.getdoc(fn) or "").split("\n", 1)[0],
                fn=fn,
                input_types=accepted,
                output_type=output_type,
                params=signature_params(fn),
                prepare=prepare,
            )
        )
        return fn

    return decorator


def show_value(value: Any) -> str:
    """A short repr of a value for error messages."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def expect_string(name: str, value: Any) -> str:
    """``value`` if it is a string, else a TransformFailure naming the transform."""
    if not isinstance(value, str):
        raise TransformFailure(
            f"{name}: expected a string, got {json_type(value)} {show_value(value)}"
        )
    return value
