from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator
from typing import Any

import pytest

from evolvekit.errors import RuleSetError
from evolvekit.mapping.transforms import TransformFailure, get_transform


def run(name: str, value: Any, **params: Any) -> Any:
    return get_transform(name).bind(params)(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("a", "a"), (245, "245"), (2.5, "2.5"), (True, "true"), (False, "false"),
     ({"a": [1]}, '{"a":[1]}')],
)  # fmt: skip
def test_str(value: Any, expected: str) -> None:
    assert run("str", value) == expected


def test_str_refuses_null() -> None:
    with pytest.raises(TransformFailure, match="str: cannot convert null"):
        run("str", None)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(245, 245), ("245", 245), (" 7 ", 7), ("-3", -3), (245.0, 245), ("1e3", 1000),
     ("245.0", 245), (True, 1)],
)  # fmt: skip
def test_int(value: Any, expected: int) -> None:
    result = run("int", value)
    assert result == expected and type(result) is int


@pytest.mark.parametrize("value", ["abc", "2.5", 2.5, None, [], float("inf"), "nan"])
def test_int_errors(value: Any) -> None:
    with pytest.raises(TransformFailure, match="int: "):
        run("int", value)


def test_int_error_message_is_actionable() -> None:
    with pytest.raises(TransformFailure, match="int: cannot convert 'abc' to an integer"):
        run("int", "abc")
    with pytest.raises(TransformFailure, match=r"not a whole number.*rounding"):
        run("int", 431.5)


@pytest.mark.parametrize(
    ("value", "rounding", "expected"),
    [(431.5, "down", 431), (-2.5, "down", -2), ("-2.5", "floor", -3), (2.1, "ceiling", 3),
     (2.5, "half_up", 3), (-2.5, "half_up", -3), (2.5, "half_even", 2), (3.5, "half_even", 4),
     (2.675, "half_up", 3), ("7", "down", 7), (8.0, "half_even", 8), (1e16, "down", 10**16)],
)  # fmt: skip
def test_int_rounding(value: Any, rounding: str, expected: int) -> None:
    result = run("int", value, rounding=rounding)
    assert result == expected and type(result) is int


def test_int_rounding_is_checked_at_load_time() -> None:
    with pytest.raises(RuleSetError, match="'rounding' must be one of down, floor"):
        get_transform("int").bind({"rounding": "nearest"})
    with pytest.raises(TransformFailure, match="cannot convert 'abc'"):
        run("int", "abc", rounding="down")


@pytest.mark.parametrize(("value", "expected"), [(2, 2.0), ("2.5", 2.5), (" 1e-3 ", 0.001)])
def test_float(value: Any, expected: float) -> None:
    result = run("float", value)
    assert result == expected and type(result) is float


@pytest.mark.parametrize("value", ["x", None, True, "nan", "inf"])
def test_float_errors(value: Any) -> None:
    with pytest.raises(TransformFailure, match="float: "):
        run("float", value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("True", True), ("False", False), ("true", True), ("false", False), ("TRUE", True),
     ("1", True), ("0", False), (1, True), (0, False), (True, True), (False, False)],
)  # fmt: skip
def test_bool(value: Any, expected: bool) -> None:
    assert run("bool", value) is expected


@pytest.mark.parametrize("value", ["yes", "2", 2, None, 1.0, []])
def test_bool_errors(value: Any) -> None:
    with pytest.raises(TransformFailure, match="bool: cannot convert"):
        run("bool", value)


def test_string_case_and_strip() -> None:
    assert run("lower", "Agent.Smith@Company.COM") == "agent.smith@company.com"
    assert run("upper", "abc") == "ABC"
    assert run("strip", "  a b \n") == "a b"
    for name in ("lower", "upper", "strip"):
        with pytest.raises(TransformFailure, match=f"{name}: expected a string, got integer 5"):
            run(name, 5)


def test_split() -> None:
    assert run("split", "a b  c") == ["a", "b", "c"]
    assert run("split", "agent.smith@company.com", sep="@", index=0) == "agent.smith"
    assert run("split", "a/b/c", sep="/", index=-1) == "c"
    with pytest.raises(TransformFailure, match="has 2 part"):
        run("split", "a/b", sep="/", index=5)
    with pytest.raises(RuleSetError, match="'sep' must be a non-empty string"):
        get_transform("split").check_params({"sep": ""})
    with pytest.raises(RuleSetError, match="'index' must be an integer"):
        get_transform("split").check_params({"index": "1"})


def test_join() -> None:
    assert run("join", ["Ann", "Lee"], sep=" ") == "Ann Lee"
    assert run("join", ["a", 1, True]) == "a1true"
    with pytest.raises(TransformFailure, match="join: expected a list"):
        run("join", "ab")
    with pytest.raises(TransformFailure, match="join: cannot convert null"):
        run("join", ["a", None])


def test_replace() -> None:
    assert run("replace", "INT-4421", old="INT-", new="I") == "I4421"
    with pytest.raises(RuleSetError, match="needs parameter 'new'"):
        get_transform("replace").check_params({"old": "x"})
    with pytest.raises(RuleSetError, match="'old' must not be empty"):
        get_transform("replace").check_params({"old": "", "new": "x"})


def test_regex() -> None:
    assert run("regex", "CUST-99281", pattern=r"\d+") == "99281"
    assert run("regex", "a@b.com", pattern=r"@(.+)$", group=1) == "b.com"
    assert run("regex", "a@b.com", pattern=r"(?P<user>[^@]+)@", group="user") == "a"
    with pytest.raises(TransformFailure, match="does not match"):
        run("regex", "abc", pattern=r"\d")
    with pytest.raises(RuleSetError, match="bad pattern"):
        get_transform("regex").check_params({"pattern": "("})
    with pytest.raises(RuleSetError, match="no group 2"):
        get_transform("regex").check_params({"pattern": "(a)", "group": 2})
    with pytest.raises(RuleSetError, match="no group named 'x'"):
        get_transform("regex").check_params({"pattern": "(a)", "group": "x"})


def test_map() -> None:
    table = {"voice": "VOICE", "1": "one", "true": "yes", "null": "nothing"}
    assert run("map", "voice", table=table) == "VOICE"
    assert run("map", 1, table=table) == "one"
    assert run("map", True, table=table) == "yes"
    assert run("map", None, table=table) == "nothing"
    assert run("map", "chat", table=table, default="OTHER") == "OTHER"
    assert run("map", "chat", table=table, default=None) is None
    with pytest.raises(TransformFailure, match="map: 'chat' is not in the table"):
        run("map", "chat", table=table)
    with pytest.raises(RuleSetError, match="'table' must be a mapping"):
        get_transform("map").check_params({"table": ["a"]})


@pytest.mark.parametrize(
    ("value", "fmt_in", "fmt_out", "expected"),
    [
        ("2024-01-15T10:30:00Z", "iso8601", "epoch_s", 1705314600),
        ("2024-01-15T10:30:00Z", "iso8601", "epoch_ms", 1705314600000),
        ("2024-01-15T12:30:00+02:00", "iso8601", "iso8601", "2024-01-15T10:30:00Z"),
        ("2024-01-15T10:30:00", "iso8601", "iso8601", "2024-01-15T10:30:00Z"),
        ("2024-01-15T10:30:00.250Z", "iso8601", "epoch_ms", 1705314600250),
        ("2024-01-15T10:30:00.250Z", "iso8601", "epoch_s", 1705314600.25),
        (1705314600, "epoch_s", "iso8601", "2024-01-15T10:30:00Z"),
        ("1705314600", "epoch_s", "iso8601", "2024-01-15T10:30:00Z"),
        (1705314600250, "epoch_ms", "iso8601", "2024-01-15T10:30:00.250Z"),
        (1705314600250, "epoch_ms", "epoch_s", 1705314600.25),
        (1705314600, "epoch_s", "epoch_ms", 1705314600000),
    ],
)
def test_timestamp(value: Any, fmt_in: str, fmt_out: str, expected: Any) -> None:
    result = run("timestamp", value, input=fmt_in, output=fmt_out)
    assert result == expected and type(result) is type(expected)


def test_timestamp_errors() -> None:
    with pytest.raises(TransformFailure, match="not an ISO 8601 time"):
        run("timestamp", "yesterday", input="iso8601", output="epoch_s")
    with pytest.raises(TransformFailure, match="expected an epoch number"):
        run("timestamp", True, input="epoch_s", output="iso8601")
    with pytest.raises(TransformFailure, match="not an epoch number"):
        run("timestamp", "soon", input="epoch_ms", output="iso8601")
    with pytest.raises(TransformFailure, match="out of range"):
        run("timestamp", 10**30, input="epoch_s", output="iso8601")
    with pytest.raises(RuleSetError, match="'output' must be one of iso8601, epoch_s, epoch_ms"):
        get_transform("timestamp").check_params({"input": "iso8601", "output": "rfc2822"})


@pytest.mark.parametrize(
    ("value", "factor", "expected"),
    [(245, 1000, 245000), (245000, 0.001, 245), (1234, 0.001, 1.234), (2.5, 2, 5.0),
     (3, 0.5, 1.5), (-2, 1000, -2000)],
)  # fmt: skip
def test_scale(value: Any, factor: Any, expected: Any) -> None:
    result = run("scale", value, factor=factor)
    assert result == expected and type(result) is type(expected)


def test_scale_errors() -> None:
    with pytest.raises(TransformFailure, match="scale: expected a number, got string"):
        run("scale", "245", factor=1000)
    with pytest.raises(RuleSetError, match="'factor' must be a finite number"):
        get_transform("scale").check_params({"factor": "1000"})


@pytest.fixture
def salt(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("EK_TEST_SALT", "pepper")
    yield "EK_TEST_SALT"


def test_hash_is_a_keyed_digest(salt: str) -> None:
    result = run("hash", "agent.smith@company.com", salt_env=salt)
    expected = hmac.new(b"pepper", b"agent.smith@company.com", hashlib.sha256).hexdigest()
    assert result == expected
    assert (
        run("hash", "x", salt_env=salt, algorithm="md5")
        == hmac.new(b"pepper", b"x", "md5").hexdigest()
    )


def test_hash_salt_is_read_once_at_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EK_LATE_SALT", raising=False)
    fn = get_transform("hash").bind({"salt_env": "EK_LATE_SALT"})  # compile: not read yet
    with pytest.raises(TransformFailure, match="environment variable EK_LATE_SALT is not set"):
        fn("x")
    monkeypatch.setenv("EK_LATE_SALT", "a")
    first = fn("x")
    monkeypatch.setenv("EK_LATE_SALT", "b")
    assert fn("x") == first


def test_hash_param_errors_never_show_the_salt(salt: str) -> None:
    with pytest.raises(RuleSetError, match="'algorithm' must be one of"):
        get_transform("hash").check_params({"salt_env": salt, "algorithm": "rot13"})
    with pytest.raises(RuleSetError, match="'salt_env' must name an environment variable"):
        get_transform("hash").check_params({"salt_env": "not a name"})
    prepared = get_transform("hash").check_params({"salt_env": salt})
    assert "pepper" not in repr(prepared)
