from __future__ import annotations

from typing import Any

import pytest

import evolvekit as ek
from evolvekit.errors import RuleSetError
from evolvekit.jsonio import JSON_TYPES
from evolvekit.mapping import transforms as tr
from evolvekit.mapping.builtin_transforms import BUILTIN_TRANSFORMS
from evolvekit.mapping.transforms import get_transform, transforms

BUILT_INS = {
    "str", "int", "float", "bool", "lower", "upper", "strip", "split", "join", "replace",
    "regex", "map", "timestamp", "scale", "hash",
}  # fmt: skip


def test_every_built_in_is_registered_with_a_description() -> None:
    registry = transforms()
    assert registry.keys() >= BUILT_INS
    for name in BUILT_INS:
        t = registry[name]
        assert t.name == name
        assert t.description and "\n" not in t.description, name
        assert t.input_types is None or t.input_types <= JSON_TYPES
        assert t.output_type is None or t.output_type in JSON_TYPES


def test_built_ins_are_registered_explicitly_from_their_list() -> None:
    assert {t.name for t in BUILTIN_TRANSFORMS} == BUILT_INS
    registry = transforms()
    assert all(registry[t.name] is t for t in BUILTIN_TRANSFORMS)


def test_params_come_from_the_signature() -> None:
    assert get_transform("split").params == {"sep": False, "index": False}
    assert get_transform("replace").params == {"old": True, "new": True}
    assert get_transform("hash").params == {"salt_env": True, "algorithm": False}
    assert get_transform("lower").params == {}


def test_unknown_transform() -> None:
    with pytest.raises(RuleSetError, match=r"unknown transform 'nope'.*registered: .*lower"):
        get_transform("nope")


def test_check_params_unknown_and_missing() -> None:
    with pytest.raises(RuleSetError, match="transform 'lower' has no parameter 'x'"):
        get_transform("lower").check_params({"x": 1})
    with pytest.raises(RuleSetError, match="needs parameter 'factor'"):
        get_transform("scale").check_params({})


def test_register_transform_adds_a_user_function() -> None:
    @ek.register_transform("test_reverse", description="Reverse a string", output_type="string")
    def reverse(value: Any, times: int = 1) -> str:
        for _ in range(times):
            value = value[::-1]
        return str(value)

    try:
        t = get_transform("test_reverse")
        assert t.description == "Reverse a string"
        assert t.params == {"times": False}
        assert t.bind({})("abc") == "cba"
        assert t.bind({"times": 2})("abc") == "abc"
        with pytest.raises(ValueError, match="already registered"):
            ek.register_transform("test_reverse")(reverse)
        ek.register_transform("test_reverse", replace=True)(reverse)
        assert get_transform("test_reverse").description == ""
    finally:
        tr._REGISTRY.pop("test_reverse", None)


def test_register_transform_description_defaults_to_the_docstring() -> None:
    @ek.register_transform("test_doc")
    def documented(value: Any) -> Any:
        """First line.

        More."""
        return value

    try:
        assert get_transform("test_doc").description == "First line."
    finally:
        tr._REGISTRY.pop("test_doc", None)


def test_register_transform_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="bad transform name"):
        ek.register_transform("no spaces")
    with pytest.raises(ValueError, match="not a JSON type"):
        ek.register_transform("test_x", input_types={"text"})
    with pytest.raises(TypeError, match="first positional parameter"):
        ek.register_transform("test_y")(lambda **kw: None)
    assert "test_y" not in transforms()
