"""``check_rules``: what a rule set will do to events of one schema, judged against another.

Static findings come from the two schemas and the rules alone: target-required fields no
rule produces, source fields no rule reads (and what ``unmapped`` does with them), type
conflicts along source type -> transforms -> target type. Given sample events, the report
also says what share validate after mapping, grouped by (pointer, keyword) of the errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from evolvekit.errors import MappingError, RuleSetError
from evolvekit.mapping.check_report import (
    MAX_EXAMPLES_PER_GROUP,
    SEVERITY_ORDER,
    ErrorGroup,
    Finding,
    RulesReport,
    SampleResult,
    Severity,
)
from evolvekit.mapping.paths import WILDCARD
from evolvekit.mapping.ruleset import Rule, RuleSet, TransformSpec
from evolvekit.mapping.schema_fields import Key, SchemaFields, accepts, json_type, rule_key
from evolvekit.sentinel import MISSING

__all__ = ["ErrorGroup", "Finding", "RulesReport", "SampleResult", "check_rules"]

if TYPE_CHECKING:
    from evolvekit.schema.registry import SchemaRegistry
    from evolvekit.schema.validate import SchemaValidator

# ---- the check ----------------------------------------------------------------------


def check_rules(
    ruleset: RuleSet,
    source_schema: Mapping[str, Any],
    target_schema: Mapping[str, Any],
    samples: Iterable[Mapping[str, Any]] | None = None,
    *,
    registry: SchemaRegistry | None = None,
    source_uri: str | None = None,
    target_uri: str | None = None,
) -> RulesReport:
    """Judge ``ruleset`` (source_schema -> target_schema) statically and, given samples,
    by mapping each and validating the result against ``target_schema``.

    ``registry`` with the schemas' URIs (``registry.uri(subject, version)``) lets ``$ref`` s
    to the registry's other files be followed; without it such fields have unknown types.
    """
    retrieve = registry.retrieve_json if registry is not None else None
    source = SchemaFields(source_schema, retrieve=retrieve, base_uri=source_uri)
    target = SchemaFields(target_schema, retrieve=retrieve, base_uri=target_uri)
    rules = list(ruleset.rules)
    findings: list[Finding] = []
    read_keys = _read_keys(rules)
    produced = _produced_keys(rules)
    findings += _check_rule_types(rules, source, target)
    findings += _check_unread(ruleset, source, target, read_keys)
    findings += _check_required(ruleset, source, target, read_keys, produced)
    findings.sort(key=lambda f: (SEVERITY_ORDER[f.severity], f.path, f.kind))
    if samples is None:
        return RulesReport(ruleset, findings)
    from evolvekit.schema.validate import SchemaValidator

    validator = SchemaValidator(target_schema, registry=registry, base_uri=target_uri)
    return RulesReport(ruleset, findings, _run_samples(ruleset, validator, samples))


def _keys(paths: Iterable[str]) -> list[Key]:
    out = []
    for p in paths:
        try:
            out.append(rule_key(p))
        except RuleSetError:
            continue  # the rule set has already refused bad paths at load time
    return out


def _read_keys(rules: list[Rule]) -> dict[Key, Rule]:
    read: dict[Key, Rule] = {}
    for rule in rules:
        for key in _keys(rule.sources):
            read.setdefault(key, rule)
    return read


def _produced_keys(rules: list[Rule]) -> dict[Key, Rule]:
    produced: dict[Key, Rule] = {}
    for rule in rules:
        if rule.drop or rule.target is None:
            continue
        for key in _keys([rule.target]):
            produced.setdefault(key, rule)
    return produced


def _is_prefix(prefix: Key, key: Key) -> bool:
    return len(prefix) <= len(key) and key[: len(prefix)] == prefix


def _covered_by_read(key: Key, read: Mapping[Key, Rule]) -> bool:
    """A rule reads ``key`` itself or an enclosing object (which moves it wholesale)."""
    return any(_is_prefix(r, key) for r in read)


def _check_unread(
    ruleset: RuleSet, source: SchemaFields, target: SchemaFields, read: Mapping[Key, Rule]
) -> list[Finding]:
    findings: list[Finding] = []
    for f in source:
        if _covered_by_read(f.key, read):
            continue
        if any(_is_prefix(f.key, r) for r in read):
            continue  # partly read: its unread children are reported on their own
        # Report the topmost wholly unread field only: its descendants go with it.
        parent = f.key[:-1]
        if parent and parent in source and not _partly_read(parent, read):
            continue
        findings.append(_unread_finding(ruleset, f.key, f.path, f.always, source, target))
    return findings


def _partly_read(key: Key, read: Mapping[Key, Rule]) -> bool:
    return any(_is_prefix(key, r) or _is_prefix(r, key) for r in read)


def _unread_finding(
    ruleset: RuleSet,
    key: Key,
    path: str,
    always: bool,
    source: SchemaFields,
    target: SchemaFields,
) -> Finding:
    mode = ruleset.unmapped
    if mode == "drop":
        return Finding(
            "info", "unread_source", path, "no rule reads it; unmapped: drop discards it"
        )
    if mode == "error":
        if always:
            return Finding(
                "error",
                "unread_source",
                path,
                "no rule reads it and it is required in the source; unmapped: error fails "
                "every event",
            )
        return Finding(
            "warning",
            "unread_source",
            path,
            "no rule reads it; unmapped: error fails every event that has it",
        )
    if key in target or _inside_opaque(key, target):
        return Finding(
            "info", "unread_source", path, "no rule reads it; kept as is (unmapped: keep)"
        )
    if target.parent_closed(key) or _closed_ancestor(key, target):
        severity: Severity = "error" if always else "warning"
        when = "every event" if always else "events that have it"
        return Finding(
            severity,
            "unread_source",
            path,
            f"no rule reads it; unmapped: keep passes it through, but the target schema "
            f"does not allow it there, so {when} fail{'s' if always else ''} validation",
        )
    return Finding(
        "info",
        "unread_source",
        path,
        "no rule reads it; kept as is (unmapped: keep), the target schema does not define it",
    )


def _inside_opaque(key: Key, target: SchemaFields) -> bool:
    """An enclosing target field with no listed properties takes anything under it."""
    for n in range(len(key) - 1, 0, -1):
        f = target.get(key[:n])
        if f is not None:
            return not f.closed and not target.has_children(f.key)
    return False


def _closed_ancestor(key: Key, target: SchemaFields) -> bool:
    for n in range(len(key) - 1, -1, -1):
        if n == 0:
            return target.root_closed
        f = target.get(key[:n])
        if f is not None:
            return f.closed
    return False


def _check_required(
    ruleset: RuleSet,
    source: SchemaFields,
    target: SchemaFields,
    read: Mapping[Key, Rule],
    produced: Mapping[Key, Rule],
) -> list[Finding]:
    findings: list[Finding] = []
    keep = ruleset.unmapped == "keep"
    for f in target:
        if not f.required or WILDCARD in f.key:
            continue
        parent = f.key[:-1]
        if parent and not _exists(parent, source, target, read, produced, keep):
            continue  # required inside an object that will not be there: nothing to demand
        rule = _producer(f.key, produced)
        if rule is not None:
            findings += _maybe_absent(rule, f.path, source)
            continue
        if keep and f.key in source and not _covered_by_read(f.key, read):
            if not source.fields[f.key].always:
                findings.append(
                    Finding(
                        "warning",
                        "maybe_missing",
                        f.path,
                        "required by the target; kept from the source, where it is optional",
                    )
                )
            continue
        why = ""
        if f.key in source and not keep:
            why = f" (the source has it, but unmapped: {ruleset.unmapped} does not keep it)"
        elif f.key in source:
            why = " (the source has it, but a rule moves it elsewhere)"
        findings.append(
            Finding(
                "error",
                "missing_required",
                f.path,
                f"required by the target; no rule produces it{why}",
            )
        )
    return findings


def _exists(
    key: Key,
    source: SchemaFields,
    target: SchemaFields,
    read: Mapping[Key, Rule],
    produced: Mapping[Key, Rule],
    keep: bool,
) -> bool:
    if _producer(key, produced) is not None:
        return True
    return keep and key in source and not _covered_by_read(key, read)


def _producer(key: Key, produced: Mapping[Key, Rule]) -> Rule | None:
    """The rule writing ``key``, an enclosing object, or something inside it."""
    for k, rule in produced.items():
        if _is_prefix(k, key) or _is_prefix(key, k):
            return rule
    return None


def _maybe_absent(rule: Rule, path: str, source: SchemaFields) -> list[Finding]:
    if rule.value is not MISSING or rule.default is not MISSING or rule.required:
        return []
    optional = [
        s
        for s in rule.sources
        if (f := source.get(_keys([s])[0] if _keys([s]) else ())) is not None and not f.always
    ]
    if not optional or len(optional) < len(rule.sources):
        return []
    return [
        Finding(
            "warning",
            "maybe_missing",
            path,
            f"required by the target, but produced only when the source has "
            f"{', '.join(optional)} (optional there); add a default",
            rule.index,
        )
    ]


def _check_rule_types(
    rules: list[Rule], source: SchemaFields, target: SchemaFields
) -> list[Finding]:
    findings: list[Finding] = []
    for rule in rules:
        for key, text in zip(_keys(rule.sources), rule.sources, strict=False):
            if key not in source and not _inside_opaque(key, source):
                findings.append(
                    Finding(
                        "warning",
                        "unknown_source",
                        text,
                        "the source schema does not define this field; the rule reads nothing "
                        "from valid events"
                        + ("" if rule.default is MISSING else " but its default"),
                        rule.index,
                    )
                )
        if rule.drop or rule.target is None:
            continue
        target_keys = _keys([rule.target])
        if not target_keys:
            continue
        tkey = target_keys[0]
        tfield = target.get(tkey)
        if tfield is None:
            if target.parent_closed(tkey) or (len(tkey) > 1 and _closed_ancestor(tkey, target)):
                findings.append(
                    Finding(
                        "error",
                        "unknown_target",
                        rule.target,
                        "the target schema does not allow this field",
                        rule.index,
                    )
                )
            continue
        findings += _type_flow(rule, source, tfield.types)
    return findings


def _type_flow(
    rule: Rule, source: SchemaFields, target_types: frozenset[str] | None
) -> list[Finding]:
    """Follow the JSON types from the rule's input through its transforms to the target."""
    from evolvekit.mapping.transforms import get_transform

    findings: list[Finding] = []
    types, origin = _rule_input_types(rule, source)
    for spec in rule.transforms:
        try:
            transform = get_transform(spec.name)
        except RuleSetError:
            continue
        verdict = accepts(transform.input_types, types)
        if verdict != "all":
            assert types is not None and transform.input_types is not None
            findings.append(
                _type_conflict(
                    rule,
                    verdict,
                    f"{origin} is {_types_text(types)} but transform {spec.name} takes "
                    f"{_types_text(transform.input_types)}",
                )
            )
        types = _output_types(spec, transform.output_type, types)
        origin = f"transform {spec.name}"
    verdict = accepts(target_types, types)
    if verdict != "all":
        assert types is not None and target_types is not None
        findings.append(
            _type_conflict(
                rule,
                verdict,
                f"{origin} gives {_types_text(types)} but the target wants "
                f"{_types_text(target_types)}",
            )
        )
    return findings + _default_type_flow(rule, target_types)


def _rule_input_types(rule: Rule, source: SchemaFields) -> tuple[frozenset[str] | None, str]:
    """The types that reach the rule's first transform, and where they come from."""
    if rule.value is not MISSING:
        return frozenset({json_type(rule.value)}), "the constant"
    if len(rule.sources) == 1:
        keys = _keys(rule.sources)
        return (source.types_of(keys[0]) if keys else None), f"source {rule.sources[0]}"
    # several sources reach the transforms as a list
    return frozenset({"array"}), "the sources (as a list)"


def _default_type_flow(rule: Rule, target_types: frozenset[str] | None) -> list[Finding]:
    """An error when the rule's default can never fit the target."""
    if rule.default is MISSING or rule.default is None:
        return []
    if accepts(target_types, frozenset({json_type(rule.default)})) != "none":
        return []
    assert target_types is not None
    return [
        _type_conflict(
            rule,
            "none",
            f"default {rule.default!r} is {json_type(rule.default)} but the target "
            f"wants {_types_text(target_types)}",
        )
    ]


def _type_conflict(rule: Rule, verdict: str, message: str) -> Finding:
    """A type_conflict finding: an error when no value fits, a warning when some may not."""
    assert rule.target is not None
    return Finding(
        "error" if verdict == "none" else "warning",
        "type_conflict",
        rule.target,
        message,
        rule.index,
    )


def _output_types(
    spec: TransformSpec, declared: str | None, given: frozenset[str] | None
) -> frozenset[str] | None:
    """What a transform produces, refined where its parameters tell more than its type."""
    if spec.name == "map":
        table = spec.params.get("table")
        if isinstance(table, Mapping):
            values = list(table.values())
            if "default" in spec.params:
                values.append(spec.params["default"])
            return frozenset(json_type(v) for v in values)
    if spec.name == "scale" and given == frozenset({"integer"}):
        factor = spec.params.get("factor")
        if isinstance(factor, int | float) and float(factor).is_integer():
            return given  # integer x whole factor stays an integer
    if declared is not None:
        return frozenset({declared})
    return None  # unknown: the transform does not say


def _types_text(types: frozenset[str]) -> str:
    return " or ".join(sorted(types))


# ---- samples ------------------------------------------------------------------------


def _run_samples(
    ruleset: RuleSet, validator: SchemaValidator, samples: Iterable[Mapping[str, Any]]
) -> SampleResult:
    from evolvekit.schema.validate import Problem

    mapper = ruleset.compile()
    result = SampleResult()
    groups: dict[tuple[str, str], ErrorGroup] = {}
    for index, sample in enumerate(samples):
        result.total += 1
        try:
            mapped = mapper.apply(dict(sample))
        except MappingError as exc:
            problems = [Problem(exc.path or "", "mapping", str(exc))]
        else:
            problems = validator.problems(mapped)
        if not problems:
            result.valid += 1
            continue
        seen: set[tuple[str, str]] = set()
        for pointer, keyword, message in problems:
            group = groups.get((pointer, keyword))
            if group is None:
                group = groups[(pointer, keyword)] = ErrorGroup(pointer, keyword, message)
            if (pointer, keyword) in seen:
                continue  # count each event once per group
            seen.add((pointer, keyword))
            group.count += 1
            if len(group.samples) < MAX_EXAMPLES_PER_GROUP:
                group.samples.append(index)
    result.groups = sorted(groups.values(), key=lambda g: (-g.count, g.pointer, g.keyword))
    return result


