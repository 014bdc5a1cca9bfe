"""User patterns: RE2 for rule patterns, jsonschema-rs for schema patterns, never backtracking."""

from __future__ import annotations

import subprocess
import sys

import pytest

from evolvekit.safe_regex import (
    UnsupportedPattern,
    compile_pattern,
    schema_pattern_matcher,
    to_re2,
)

# Classic catastrophic-backtracking pairs (Python's re needs ~2**n steps for each), and a
# text each pattern does match.
HOSTILE = [
    (r"^([a-z]+)+[0-9]$", "a" * 5000 + "!", "abc1"),
    (r"^(a+)+$", "a" * 5000 + "!", "aaa"),
    (r"^(a|aa)+$", "a" * 5000 + "!", "aaa"),
    (r"(x+x+)+y", "x" * 5000, "xxy"),
]


def _finishes(code: str) -> str:
    """Run ``code`` in a fresh interpreter: what it prints. The timeout is a hang guard (a
    backtracking engine holds the GIL, so a thread could not be given up on), not a speed
    assertion."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


@pytest.mark.parametrize(("pattern", "text", "good"), HOSTILE)
def test_hostile_rule_patterns_finish(pattern: str, text: str, good: str) -> None:
    code = "from evolvekit.safe_regex import compile_pattern as c\n"
    code += f"print(c({pattern!r}).search({text!r}) is None, c({pattern!r}).search({good!r}))"
    assert _finishes(code).startswith("True <")


@pytest.mark.parametrize(("pattern", "text", "good"), HOSTILE)
def test_hostile_schema_patterns_finish(pattern: str, text: str, good: str) -> None:
    code = "from evolvekit.safe_regex import schema_pattern_matcher as m\n"
    code += f"print(m({pattern!r})({text!r}), m({pattern!r})({good!r}))"
    assert _finishes(code) == "False True"


@pytest.mark.parametrize(
    ("pattern", "what"),
    [
        (r"(a)\1", "backreferences"),
        (r"(?P<x>a)(?P=x)", "backreferences"),
        (r"(?<x>a)\k<x>", "backreferences"),
        (r"a(?=b)", "lookahead/lookbehind"),
        (r"a(?!b)", "lookahead/lookbehind"),
        (r"(?<=a)b", "lookahead/lookbehind"),
        (r"(?<!a)b", "lookahead/lookbehind"),
        (r"(?>a+)b", "atomic groups"),
        (r"a++b", "possessive quantifiers"),
    ],
)
def test_backtracking_constructs_are_refused_by_name(pattern: str, what: str) -> None:
    with pytest.raises(UnsupportedPattern, match="RE2") as info:
        compile_pattern(pattern)
    assert what in str(info.value)


def test_escaped_or_bracketed_lookalikes_are_not_refused() -> None:
    assert compile_pattern(r"\(?=x").search("(=x") is not None
    assert compile_pattern(r"[?+]+").search("a?+") is not None
    assert compile_pattern(r"[(?=]").search("=") is not None


def test_engine_errors_are_clear_and_not_logged(capfd: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(UnsupportedPattern, match="missing"):
        compile_pattern("([a-z]+")
    with pytest.raises(UnsupportedPattern, match="repetition"):
        compile_pattern("a{5000}")
    assert capfd.readouterr().err == ""


def test_python_and_ecma_spellings_are_translated() -> None:
    assert to_re2(r"^a\Z") == r"^a\z"
    assert to_re2(r"\u00e9") == r"\x{00e9}"
    assert to_re2(r"\u{1F600}") == r"\x{1F600}"
    assert to_re2(r"\U0001F600") == r"\x{0001F600}"
    assert to_re2(r"a{,3}") == r"a{0,3}"
    assert to_re2(r"[{,3}]") == r"[{,3}]"  # inside a class it is text
    assert compile_pattern(r"^caf\u00e9\Z").search("café") is not None
    assert compile_pattern(r"^a{,2}$").search("aa") is not None
    assert compile_pattern(r"^a{,2}$").search("aaa") is None


def test_groups_by_number_and_name() -> None:
    both = compile_pattern(r"(?P<user>[^@]+)@(?<host>.+)")
    assert both.groups == 2 and both.groupindex == {"user": 1, "host": 2}
    match = both.search("ann@example.com")
    assert match is not None
    assert (match.group(0), match.group("user"), match.group(2)) == (
        "ann@example.com", "ann", "example.com",
    )  # fmt: skip
    wide = compile_pattern(r"(é+)(\S*)$").search("a ééx😀")
    assert wide is not None and (wide.group(1), wide.group(2)) == ("éé", "x😀")
    lone = compile_pattern(r"b(.)c").search("a\ud800bxc")  # JSON allows a lone surrogate
    assert lone is not None and lone.group(1) == "x"
    optional = compile_pattern(r"a(b)?").search("a")
    assert optional is not None and optional.group(1) is None
    assert both.pattern == r"(?P<user>[^@]+)@(?<host>.+)"


def test_schema_patterns_follow_ecma() -> None:
    digits = schema_pattern_matcher(r"^\d+$")
    assert digits is not None and digits("123") and not digits("١٢٣") and not digits("1\n")
    look = schema_pattern_matcher(r"^(?!x)\w+$")  # lookahead is ECMA-262; the validator runs it
    assert look is not None and look("ab") and not look("xb")
    assert schema_pattern_matcher(r"^\p{L}+(") is None
