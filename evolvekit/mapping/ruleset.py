"""Rule sets: load YAML/JSON rule files (or dicts), check them, compile them into a Mapper.

Loading is strict and says where a problem is: every file is checked against the packaged
``ruleset.schema.json`` and then statically (paths, transforms and their parameters, targets
written twice or nested in each other, wildcard counts). Reading files and their line
marks lives in ``rulefile.py``; compiling into a fast mapper in ``engine.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal, cast

import orjson
import yaml

from evolvekit.errors import RuleSetError, VersionError
from evolvekit.mapping.paths import WILDCARD, Segment, parse_path, wildcard_count
from evolvekit.mapping.rulefile import (
    JsonPath,
    Marks,
    describe_json_type,
    load_yaml,
    ruleset_schema,
    schema_problem,
)
from evolvekit.mapping.transforms import get_transform
from evolvekit.sentinel import MISSING
from evolvekit.versions import normalize_version

if TYPE_CHECKING:
    from evolvekit.mapping.engine import Mapper

Unmapped = Literal["keep", "drop", "error"]
FULL_FORM_KEYS: Final = frozenset(
    {"rules", "subject", "from_version", "to_version", "unmapped", "description"}
)
RULE_KEYS: Final = ("from", "to", "transform", "value", "default", "required", "drop", "note")
_FILE_NAME: Final = re.compile(r"^(?P<from>[^_/]+)_to_(?P<to>[^_/]+)\.(?:ya?ml|json)$")

__all__ = ["Rule", "RuleSet", "TransformSpec", "Unmapped", "ruleset_schema"]


@dataclass(frozen=True)
class TransformSpec:
    """One transform of a rule: a registered name and its parameters as written."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    """One rule as written (paths kept as text; the Mapper pre-parses them)."""

    index: int  # 0-based position in its rule set
    sources: tuple[str, ...]  # empty for `value` rules; several -> the transform gets a list
    target: str | None  # None for drop rules
    transforms: tuple[TransformSpec, ...] = ()
    value: Any = MISSING
    default: Any = MISSING
    required: bool = False
    drop: bool = False
    line: int | None = None  # 1-based line in its file
    note: str | None = None  # free text for people; the engine ignores it

    @property
    def source_segments(self) -> tuple[tuple[Segment, ...], ...]:
        return tuple(parse_path(s) for s in self.sources)

    @property
    def target_segments(self) -> tuple[Segment, ...] | None:
        return None if self.target is None else parse_path(self.target)

    def to_dict(self) -> dict[str, Any]:
        """The rule in the full form's list syntax."""
        out: dict[str, Any] = {}
        if self.sources:
            out["from"] = self.sources[0] if len(self.sources) == 1 else list(self.sources)
        if self.target is not None:
            out["to"] = self.target
        if self.transforms:
            specs = [
                t.name if not t.params else {"name": t.name, **t.params} for t in self.transforms
            ]
            out["transform"] = specs[0] if len(specs) == 1 else specs
        if self.value is not MISSING:
            out["value"] = self.value
        if self.default is not MISSING:
            out["default"] = self.default
        if self.required:
            out["required"] = True
        if self.drop:
            out["drop"] = True
        if self.note is not None:
            out["note"] = self.note
        return out


# --- building rules ---------------------------------------------------------------------


class _Builder:
    """Turns checked data into Rules, raising RuleSetError at the right place."""

    def __init__(self, source: str | None, marks: Marks) -> None:
        self.source = source
        self.marks = marks

    def error(
        self, message: str, path: JsonPath = (), *, rule: int | None = None, key: bool = False
    ) -> RuleSetError:
        mark = self.marks.find(path, key=key)
        line, column = mark if mark else (None, None)
        return RuleSetError(message, rule=rule, file=self.source, line=line, column=column)

    def line_of(self, path: JsonPath, key: bool = False) -> int | None:
        mark = self.marks.find(path, key=key)
        return mark[0] if mark else None


def _conflicts(raw: Mapping[str, Any]) -> str | None:
    """Combinations the schema forbids, told plainly (checked before the schema's terse words)."""
    if "from" in raw and "value" in raw:
        return "a rule has either 'from' (read a field) or 'value' (a constant), not both"
    if raw.get("drop") is True:
        mapped = [k for k in ("to", "value", "transform", "default", "required") if k in raw]
        if mapped:
            return (
                "a rule cannot both drop and map a field: remove "
                + ", ".join(repr(k) for k in mapped)
                + " or 'drop: true'"
            )
        if "from" not in raw:
            return "a drop rule needs 'from' (the field to remove)"
    if "to" not in raw and raw.get("drop") is not True and all(k in RULE_KEYS for k in raw):
        return "a rule needs 'to' (where the value goes), or 'drop: true' to remove 'from'"
    if "value" in raw and ("default" in raw or "required" in raw):
        return "'default' and 'required' apply to 'from' rules, not to constants ('value')"
    return None


def _raw_rules(data: dict[str, Any]) -> Iterator[tuple[JsonPath, bool, dict[str, Any]]]:
    """(document path, keyed form?, rule mapping with 'from' filled in) for each rule."""
    rules = data["rules"]
    if isinstance(rules, list):
        for position, raw in enumerate(rules):
            yield ("rules", position), False, raw
    else:
        for source, raw in rules.items():
            if isinstance(raw, str):
                yield ("rules", source), True, {"from": source, "to": raw}
            else:
                yield ("rules", source), True, {"from": source, **raw}


def _transform_specs(raw: Any) -> tuple[TransformSpec, ...]:
    items = raw if isinstance(raw, list) else [raw]
    specs = []
    for item in items:
        if isinstance(item, str):
            specs.append(TransformSpec(item, {}))
        else:
            params = {k: v for k, v in item.items() if k != "name"}
            specs.append(TransformSpec(item["name"], params))
    return tuple(specs)


def _overlap(a: tuple[Segment, ...], b: tuple[Segment, ...]) -> bool:
    """Whether ``a`` is ``b`` or a prefix of it (a wildcard overlaps every index)."""
    if len(a) > len(b):
        return False
    for x, y in zip(a, b, strict=False):
        if x == y:
            continue
        if (x is WILDCARD and isinstance(y, int)) or (y is WILDCARD and isinstance(x, int)):
            continue
        return False
    return True


def _target_clash(
    rule: Rule, segments: tuple[Segment, ...], other: Rule, other_segments: tuple[Segment, ...]
) -> str:
    name = f"rule {other.index}" + (f" (line {other.line})" if other.line else "")
    if len(other_segments) == len(segments):
        return f"writes {rule.target!r}, which {name} also writes"
    if len(segments) > len(other_segments):
        return f"target {rule.target!r} is nested in {name}'s target {other.target!r}"
    return f"target {rule.target!r} contains {name}'s target {other.target!r}"


def _check_path(builder: _Builder, text: str, where: JsonPath, index: int) -> tuple[Segment, ...]:
    try:
        segments = parse_path(text)
    except RuleSetError as exc:
        raise builder.error(exc.message, where, rule=index) from None
    if not isinstance(segments[0], str):
        raise builder.error(
            f"path {text!r} must start with a field name (an event is an object)", where, rule=index
        )
    return segments


def _build_rule(
    builder: _Builder, index: int, where: JsonPath, raw: dict[str, Any], keyed: bool
) -> tuple[Rule, tuple[Segment, ...] | None]:
    problem = _conflicts(raw)
    if problem:
        raise builder.error(problem, where, rule=index)
    raw_from = raw.get("from")
    sources: tuple[str, ...] = (
        () if raw_from is None else (raw_from,) if isinstance(raw_from, str) else tuple(raw_from)
    )
    from_where = where if keyed else (*where, "from")
    source_segments = [_check_path(builder, s, from_where, index) for s in sources]
    target = raw.get("to")
    target_segments = (
        None if target is None else _check_path(builder, target, (*where, "to"), index)
    )
    transforms = _transform_specs(raw["transform"]) if "transform" in raw else ()
    for position, spec in enumerate(transforms):
        spec_where: JsonPath = (*where, "transform")
        if isinstance(raw["transform"], list):
            spec_where = (*spec_where, position)
        try:
            get_transform(spec.name).check_params(spec.params)
        except RuleSetError as exc:
            raise builder.error(exc.message, spec_where, rule=index) from None
    if target_segments is not None:
        wanted = wildcard_count(target_segments)
        if not sources and wanted:
            raise builder.error(
                f"a constant cannot be written to {target!r}: [*] needs a 'from' with [*]",
                (*where, "to"),
                rule=index,
            )
        for text, segments in zip(sources, source_segments, strict=True):
            if wildcard_count(segments) != wanted:
                raise builder.error(
                    f"'from' {text!r} has {wildcard_count(segments)} [*] but 'to' {target!r} "
                    f"has {wanted}: wildcards map element-wise, so the counts must match",
                    where,
                    rule=index,
                )
    rule = Rule(
        index=index,
        sources=sources,
        target=target,
        transforms=transforms,
        value=raw.get("value", MISSING),
        default=raw.get("default", MISSING),
        required=bool(raw.get("required", False)),
        drop=bool(raw.get("drop", False)),
        line=builder.line_of(where, key=keyed),
        note=raw.get("note"),
    )
    return rule, target_segments


def _version(builder: _Builder, data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    try:
        return normalize_version(str(value))
    except VersionError as exc:
        raise builder.error(exc.message, (key,)) from None


def _build(data: Any, source: str | None, marks: Marks) -> RuleSet:
    builder = _Builder(source, marks)
    if not isinstance(data, dict):
        raise builder.error(f"a rule file must be a mapping, not {describe_json_type(data)}")
    full = bool(FULL_FORM_KEYS & data.keys())
    if full and isinstance(data.get("rules"), list):
        for position, raw in enumerate(data["rules"]):
            if isinstance(raw, dict):
                problem = _conflicts(raw)
                if problem:
                    raise builder.error(problem, ("rules", position), rule=position)
    found = schema_problem(data)
    if found is not None:
        message, path, key = found
        rule_at = path[1] if len(path) >= 2 and path[0] == "rules" else None
        raise builder.error(
            message, path, rule=rule_at if isinstance(rule_at, int) else None, key=key
        )
    if full:
        raws = list(_raw_rules(data))
        unmapped = data.get("unmapped", "keep")
    else:
        raws = [((key,), True, {"from": key, "to": value}) for key, value in data.items()]
        unmapped = "keep"
    rules: list[Rule] = []
    targets: list[tuple[tuple[Segment, ...], Rule, JsonPath]] = []
    for index, (where, keyed, raw) in enumerate(raws):
        rule, target_segments = _build_rule(builder, index, where, raw, keyed)
        if target_segments is not None:
            for other_segments, other, _ in targets:
                if _overlap(other_segments, target_segments) or _overlap(
                    target_segments, other_segments
                ):
                    what = _target_clash(rule, target_segments, other, other_segments)
                    raise builder.error(what, (*where, "to"), rule=index)
            targets.append((target_segments, rule, where))
        rules.append(rule)
    return RuleSet(
        subject=data.get("subject") if full else None,
        from_version=_version(builder, data, "from_version") if full else None,
        to_version=_version(builder, data, "to_version") if full else None,
        unmapped=cast(Unmapped, unmapped),
        rules=tuple(rules),
        source=source,
        description=data.get("description") if full else None,
    )


# --- the rule set -----------------------------------------------------------------------


@dataclass(frozen=True)
class RuleSet:
    """A checked rule set. Build with load / from_yaml / from_json / from_dict."""

    subject: str | None = None
    from_version: str | None = None
    to_version: str | None = None
    unmapped: Unmapped = "keep"
    rules: tuple[Rule, ...] = ()
    source: str | None = None
    description: str | None = None

    @classmethod
    def load(cls, path: str | Path) -> RuleSet:
        """Read a YAML or JSON rule file; ``rules/<subject>/<from>_to_<to>.yaml`` names supply
        the subject and versions (if the file gives them too, they must agree)."""
        p = Path(path)
        try:
            text = p.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise RuleSetError(f"cannot read rule file: {reason}", file=str(p)) from None
        if p.suffix.lower() == ".json":
            ruleset = cls.from_json(text, source=str(p))
        else:
            ruleset = cls.from_yaml(text, source=str(p))
        return ruleset._with_file_name(p)

    @classmethod
    def from_yaml(cls, text: str, *, source: str | None = None) -> RuleSet:
        data, marks = load_yaml(text, source)
        return _build(data, source, marks)

    @classmethod
    def from_json(cls, text: str | bytes, *, source: str | None = None) -> RuleSet:
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise RuleSetError(
                f"not valid JSON: {exc.msg}", file=source, line=exc.lineno, column=exc.colno
            ) from None
        # JSON is YAML, so the YAML reader supplies line numbers; without them, rule indexes.
        try:
            _, marks = load_yaml(text if isinstance(text, str) else text.decode(), source)
        except RuleSetError:
            marks = Marks()
        return _build(data, source, marks)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None) -> RuleSet:
        """The full form (has ``rules``) or the tutorial's compact ``{"old.path": "new.path"}``."""
        return _build(dict(data) if isinstance(data, Mapping) else data, source, Marks())


    def check_names(
        self, subject: str | None, from_version: str | None, to_version: str | None, *,
        named_by: str, file: str | None = None,
    ) -> None:  # fmt: skip
        """The subject and versions the file gives (where it gives them) must be those named
        elsewhere (its path, an editor's menus): a file that says otherwise is a mistake."""
        for what, given, named in (
            ("subject", self.subject, subject),
            ("from_version", self.from_version, from_version),
            ("to_version", self.to_version, to_version),
        ):
            if given is not None and named is not None and given != named:
                raise RuleSetError(
                    f"{what} {given!r} in the file disagrees with {named!r} {named_by}", file=file
                )

    def _with_file_name(self, path: Path) -> RuleSet:
        match = _FILE_NAME.match(path.name)
        if not match:
            return self
        try:
            from_version = normalize_version(match["from"])
            to_version = normalize_version(match["to"])
        except VersionError:
            return self
        folder = path.parent.name
        # The folder names the subject inside a rules tree, or when the file gives none.
        in_rules_tree = path.parent.parent.name == "rules"
        subject = folder if (in_rules_tree or self.subject is None) and folder else self.subject
        self.check_names(subject, from_version, to_version, named_by="from its path",
                         file=str(path))  # fmt: skip
        return RuleSet(
            subject=subject,
            from_version=from_version,
            to_version=to_version,
            unmapped=self.unmapped,
            rules=self.rules,
            source=self.source,
            description=self.description,
        )

    def to_dict(self) -> dict[str, Any]:
        """The full form; ``RuleSet.from_dict(rs.to_dict())`` gives the same rules back."""
        out: dict[str, Any] = {}
        if self.subject is not None:
            out["subject"] = self.subject
        if self.from_version is not None:
            out["from_version"] = self.from_version
        if self.to_version is not None:
            out["to_version"] = self.to_version
        if self.description is not None:
            out["description"] = self.description
        out["unmapped"] = self.unmapped
        out["rules"] = [rule.to_dict() for rule in self.rules]
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(
            self.to_dict(), sort_keys=False, allow_unicode=True, default_flow_style=False
        )

    def compile(self) -> Mapper:
        """A Mapper with paths pre-split and transforms bound, so apply only moves data."""
        from evolvekit.mapping.engine import Mapper

        return Mapper(self)
