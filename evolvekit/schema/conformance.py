"""Conformance of ``diff_schemas`` against three public compatibility suites.

The suites are vendored in ``tests/schema/oracles`` (see its README): Confluent's diff
examples (change lists and backward verdicts, strict and lenient), Apicurio's compatibility
data (backward-only / full / neither) and jsoncompat's fixtures (backward = deserializer,
forward = serializer, with example instances). ``benchmarks/conformance.py`` prints these
results and ``tests/schema/test_conformance.py`` asserts the floors; both count here.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evolvekit.errors import EvolveKitError
from evolvekit.schema.changes import CONFLUENT_KINDS, SchemaDiff
from evolvekit.schema.diff import diff_schemas

CONFLUENT_FILES = (
    "diff-schema-examples.json",
    "diff-combined-schema-examples.json",
    "diff-schema-examples-2020-12.json",
    "diff-combined-schema-examples-2020-12.json",
)
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


@dataclass
class CaseResult:
    """One case of a suite: did evolvekit agree, and if not, why (one line)."""

    case: str
    agreed: bool
    reason: str = ""
    exact: bool | None = None  # Confluent only: identical change list


@dataclass
class SuiteResult:
    name: str
    cases: list[CaseResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.cases)

    @property
    def agreed(self) -> int:
        return sum(c.agreed for c in self.cases)

    @property
    def exact(self) -> int:
        return sum(bool(c.exact) for c in self.cases)

    @property
    def ratio(self) -> float:
        return self.agreed / self.total if self.total else 0.0

    @property
    def exact_ratio(self) -> float:
        return self.exact / self.total if self.total else 0.0


def default_oracles_dir() -> Path:
    """The vendored suites, ``tests/schema/oracles`` in this checkout (see the README there)."""
    return Path(__file__).resolve().parents[2] / "tests" / "schema" / "oracles"


def _load_lenient_json(path: Path) -> Any:
    return json.loads(_TRAILING_COMMA.sub(r"\1", path.read_text(encoding="utf-8")))


def _verdicts(diff: SchemaDiff) -> str:
    return f"backward={diff.backward} forward={diff.forward}"


def _breaking(diff: SchemaDiff, mode: str) -> str:
    found = [str(c) for c in diff.breaking(mode)]
    return ", ".join(found[:3]) + (" ..." if len(found) > 3 else "") if found else "nothing"


def confluent_change_list(diff: SchemaDiff) -> Counter[str]:
    """Our changes in Confluent's vocabulary, as a multiset of ``KIND path``."""
    return Counter(f"{c.kind.upper()} {c.path}" for c in diff.changes if c.kind in CONFLUENT_KINDS)


def run_confluent(root: Path) -> SuiteResult:
    suite = SuiteResult("confluent")
    for name in CONFLUENT_FILES:
        for index, case in enumerate(_load_lenient_json(root / "confluent" / name)):
            label = f"{name}[{index}] {case.get('description', '')}".strip()
            suite.cases.append(_confluent_case(label, case))
    return suite


def _confluent_case(label: str, case: dict[str, Any]) -> CaseResult:
    try:
        old, new = case["original_schema"], case["update_schema"]
        strict = diff_schemas(old, new, policy="strict", examples=False)
        lenient = diff_schemas(old, new, policy="lenient", examples=False)
    except EvolveKitError as exc:
        return CaseResult(label, False, f"error: {exc}", False)
    reasons = []
    if strict.backward != case["compatible"]:
        reasons.append(f"strict backward: expected {case['compatible']}, got {strict.backward} "
                       f"(breaking: {_breaking(strict, 'backward')})")  # fmt: skip
    if "compatible_lenient" in case and lenient.backward != case["compatible_lenient"]:
        breaking = _breaking(lenient, "backward")
        reasons.append(f"lenient backward: expected {case['compatible_lenient']}, got "
                       f"{lenient.backward} (breaking: {breaking})")  # fmt: skip
    ours = confluent_change_list(strict)
    theirs = Counter(case.get("changes", []))
    exact = ours == theirs
    if not exact:
        missing = sorted((theirs - ours).elements())
        extra = sorted((ours - theirs).elements())
        reasons.append(f"changes: missing {missing or '-'}, extra {extra or '-'}")
    return CaseResult(label, not any(r.startswith(("strict", "lenient", "error")) for r in reasons),
                      "; ".join(reasons), exact)  # fmt: skip


_APICURIO_EXPECT = {"backward": (True, False), "both": (True, True), "none": (False, False)}


def run_apicurio(root: Path, *, include_disabled: bool = False) -> SuiteResult:
    suite = SuiteResult("apicurio")
    data = json.loads((root / "apicurio" / "compatibility-test-data.json").read_text("utf-8"))
    skipped = 0
    for test in data["tests"]:
        if not test.get("enabled", True) and not include_disabled:
            skipped += 1
            continue
        expected = _APICURIO_EXPECT[test["compatibility"]]
        suite.cases.append(_two_way_case(str(test["id"]), test["original"], test["updated"],
                                         expected))  # fmt: skip
    suite.notes.append(f"{skipped} disabled test(s) excluded" if skipped
                       else "every test is enabled (none excluded)")  # fmt: skip
    return suite


def _two_way_case(label: str, old: Any, new: Any, expected: tuple[bool, bool]) -> CaseResult:
    try:
        diff = diff_schemas(old, new, policy="strict", examples=False)
    except EvolveKitError as exc:
        return CaseResult(label, False, f"error: {exc}")
    got = (diff.backward, diff.forward)
    if got == expected:
        return CaseResult(label, True)
    parts = [f"expected backward={expected[0]} forward={expected[1]}, got {_verdicts(diff)}"]
    if expected[0] and not got[0]:
        parts.append(f"backward breaks: {_breaking(diff, 'backward')}")
    if expected[1] and not got[1]:
        parts.append(f"forward breaks: {_breaking(diff, 'forward')}")
    return CaseResult(label, False, "; ".join(parts))


def _jsoncompat_cases(root: Path) -> Iterator[Path]:
    folder = root / "jsoncompat"
    yield from sorted(p for p in folder.iterdir() if p.is_dir())


def run_jsoncompat(root: Path) -> SuiteResult:
    suite = SuiteResult("jsoncompat")
    for case in _jsoncompat_cases(root):
        old = json.loads((case / "old.json").read_text("utf-8"))
        new = json.loads((case / "new.json").read_text("utf-8"))
        expect = json.loads((case / "expect.json").read_text("utf-8"))
        expected = (bool(expect["deserializer"]), bool(expect["serializer"]))
        suite.cases.append(_two_way_case(case.name, old, new, expected))
    return suite


def check_jsoncompat_examples(root: Path) -> tuple[int, list[str]]:
    """Validate every example instance with jsonschema: (instances checked, failures)."""
    import jsonschema
    import jsonschema_rs

    checked = 0
    failures: list[str] = []
    for case in _jsoncompat_cases(root):
        path = case / "examples.json"
        if not path.is_file():
            continue
        old = json.loads((case / "old.json").read_text("utf-8"))
        new = json.loads((case / "new.json").read_text("utf-8"))
        examples = json.loads(path.read_text("utf-8"))
        old_v = jsonschema.validators.validator_for(old)(old)
        new_v = jsonschema.validators.validator_for(new)(new)
        wanted = {"old_only": (True, False), "new_only": (False, True), "both": (True, True)}
        for group, (in_old, in_new) in wanted.items():
            for instance in examples.get(group, []):
                checked += 1
                try:
                    got = (old_v.is_valid(instance), new_v.is_valid(instance))
                except (RecursionError, re.error):
                    # ECMA-262 regexes / deep recursion: jsonschema-rs handles both natively.
                    got = (jsonschema_rs.is_valid(old, instance),
                           jsonschema_rs.is_valid(new, instance))  # fmt: skip
                if got != (in_old, in_new):
                    failures.append(f"{case.name} {group} {json.dumps(instance)[:60]}: valid "
                                    f"under old={got[0]} new={got[1]}")  # fmt: skip
    return checked, failures


def run_all(root: Path | None = None) -> list[SuiteResult]:
    where = root or default_oracles_dir()
    return [run_confluent(where), run_apicurio(where), run_jsoncompat(where)]
