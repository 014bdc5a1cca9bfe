"""The compiled mapper: a RuleSet turned into closures that only move data.

``Mapper.apply(event)``:

1. starts the output as the event minus every field a rule reads or drops (``unmapped:
   keep``/``error``), copying only the containers on the touched spines, or as ``{}``
   (``unmapped: drop``); an object left empty by moves is removed;
2. lets each rule read the ORIGINAL event (so rules never see each other's output), run its
   transforms and write into the output, copying a shared container before writing into it.

The input is never mutated; untouched subtrees are shared between input and output. Rule sets
made only of top-level renames (the tutorial's kind) take a single tight loop instead.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from evolvekit.errors import MappingError
from evolvekit.jsonio import json_type
from evolvekit.mapping.paths import (
    WILDCARD,
    Segment,
    format_path,
    parse_path,
    read_nested,
    read_plain,
)
from evolvekit.mapping.transforms import TransformFailure, get_transform
from evolvekit.mapping.tree import (
    EMPTIED,
    Path,
    build_trie,
    combine,
    first_leaf,
    is_scalar,
    prune,
)
from evolvekit.sentinel import MISSING

if TYPE_CHECKING:
    from evolvekit.mapping.ruleset import Rule, RuleSet

Chain = tuple[tuple[str, Callable[[Any], Any]], ...]


# --- the compiled rule ------------------------------------------------------------------


class _Step:
    """One compiled rule."""

    __slots__ = (
        "chain",
        "default",
        "file",
        "flat_key",
        "index",
        "kind",
        "line",
        "read",
        "required",
        "source_text",
        "sources",
        "target",
        "target_text",
        "value",
        "wildcards",
    )

    def __init__(self, rule: Rule, file: str | None) -> None:
        self.index = rule.index
        self.line = rule.line
        self.file = file
        self.sources: tuple[Path, ...] = tuple(parse_path(s) for s in rule.sources)
        self.source_text = ", ".join(rule.sources) or None
        self.target: Path | None = None if rule.target is None else parse_path(rule.target)
        self.target_text = rule.target
        self.kind = "drop" if rule.drop else "value" if not rule.sources else "move"
        self.value = rule.value
        self.default = rule.default
        self.required = rule.required
        self.chain: Chain = tuple(
            (spec.name, get_transform(spec.name).bind(spec.params)) for spec in rule.transforms
        )
        self.wildcards = sum(1 for s in (self.target or ()) if s is WILDCARD)
        target = self.target or ()
        self.flat_key = target[0] if len(target) == 1 and isinstance(target[0], str) else None
        self.read = self._reader()

    def _reader(self) -> Callable[[dict[str, Any]], Any]:
        if len(self.sources) != 1:
            return self._read_many
        path = self.sources[0]
        if self.wildcards:
            return lambda event: read_nested(event, path)
        if len(path) == 1 and isinstance(path[0], str):
            key = path[0]
            return lambda event: event.get(key, MISSING)
        return lambda event: read_plain(event, path)

    def _read_many(self, event: dict[str, Any]) -> Any:
        reader = read_nested if self.wildcards else read_plain
        return combine([reader(event, path) for path in self.sources], self.wildcards)

    def error(
        self, message: str, *, path: str | None, value: Any = None, transform: str | None = None
    ) -> MappingError:
        return MappingError(
            message,
            rule=self.index,
            path=path,
            value=value,
            transform=transform,
            file=self.file,
            line=self.line,
        )

    def produce(self, event: dict[str, Any]) -> Any:
        """The value this rule writes (nested lists for [*] targets), or MISSING."""
        if self.kind == "value":
            value = self.value if is_scalar(self.value) else copy.deepcopy(self.value)
            return self.transform(value, self.target_text) if self.chain else value
        raw = self.read(event)
        if self.wildcards:
            return self._per_element(raw, self.wildcards, ())
        if raw is MISSING:
            return self.finish(raw, self.source_text)
        return self.transform(raw, self.source_text) if self.chain else raw

    def finish(self, value: Any, where: str | None) -> Any:
        if value is MISSING:
            if self.default is not MISSING:
                return self.default if is_scalar(self.default) else copy.deepcopy(self.default)
            if self.required:
                raise self.error(
                    "required field is absent and the rule has no default "
                    "(give the rule a 'default', or drop 'required: true')",
                    path=where,
                    value=None,
                )
            return MISSING
        return self.transform(value, where) if self.chain else value

    def _per_element(self, raw: Any, depth: int, indexes: tuple[int, ...]) -> Any:
        if depth == 0:
            return self.finish(raw, self._element_path(indexes))
        if raw is MISSING:
            # No list to walk: nothing to write, unless the rule insists on the field.
            if depth == self.wildcards and self.required and self.default is MISSING:
                self.finish(MISSING, self.source_text)
            return MISSING
        return [self._per_element(item, depth - 1, (*indexes, i)) for i, item in enumerate(raw)]

    def _element_path(self, indexes: tuple[int, ...]) -> str | None:
        if len(self.sources) != 1:
            return self.source_text
        filled = iter(indexes)
        return format_path([next(filled) if s is WILDCARD else s for s in self.sources[0]])

    def transform(self, value: Any, where: str | None) -> Any:
        for name, fn in self.chain:
            before = value
            try:
                value = fn(value)
            except TransformFailure as exc:
                raise self.error(str(exc), path=where, value=before, transform=name) from None
            except (ValueError, TypeError, ArithmeticError, LookupError) as exc:
                raise self.error(
                    f"{name}: cannot handle {json_type(before)} {before!r}: {exc}",
                    path=where,
                    value=before,
                    transform=name,
                ) from None
            except MappingError:
                raise
            except Exception as exc:  # a user transform's own bug: still name the rule
                raise self.error(
                    f"{name} failed: {type(exc).__name__}: {exc}",
                    path=where,
                    value=before,
                    transform=name,
                ) from None
        return value


# --- writing ----------------------------------------------------------------------------


def _container_for(segment: Segment) -> dict[str, Any] | list[Any]:
    return {} if isinstance(segment, str) else []


def _child(step: _Step, parent: Any, segment: Segment, following: Segment, owned: set[int]) -> Any:
    """The owned container at ``parent[segment]``, created or copied as needed."""
    want = dict if isinstance(following, str) else list
    if isinstance(parent, dict):
        assert isinstance(segment, str)
        current = parent.get(segment, MISSING)
    else:
        assert isinstance(segment, int)
        while len(parent) <= segment:
            parent.append(None)
        current = parent[segment]
        if current is None:  # padding (or null) in a list is filled in
            current = MISSING
    if current is MISSING:
        fresh = _container_for(following)
        owned.add(id(fresh))
        parent[segment] = fresh
        return fresh
    if not isinstance(current, want):
        kind = "an object" if want is dict else "a list"
        raise step.error(
            f"cannot write {step.target_text!r}: "
            f"{f'[{segment}]' if isinstance(segment, int) else repr(segment)} "
            f"holds {json_type(current)} {current!r}, not {kind}",
            path=step.target_text,
            value=current,
        )
    if id(current) not in owned:
        current = dict(current) if isinstance(current, dict) else list(current)
        owned.add(id(current))
        parent[segment] = current
    return current


def _put(parent: Any, segment: Segment, value: Any) -> None:
    if isinstance(parent, dict):
        parent[segment] = value
    else:
        assert isinstance(segment, int)
        while len(parent) <= segment:
            parent.append(None)
        parent[segment] = value


def _write(step: _Step, root: Any, path: Path, value: Any, owned: set[int]) -> None:
    current = root
    for position, segment in enumerate(path):
        if segment is WILDCARD:
            _write_each(step, current, path[position + 1 :], value, owned)
            return
        if position == len(path) - 1:
            _put(current, segment, value)
            return
        current = _child(step, current, segment, path[position + 1], owned)


def _write_each(
    step: _Step, container: list[Any], rest: Path, values: Any, owned: set[int]
) -> None:
    if values is MISSING:
        return
    assert isinstance(values, list)
    for index, item in enumerate(values):
        if not rest:
            if item is not MISSING:
                _put(container, index, item)
            elif len(container) <= index:
                _put(container, index, None)
            continue
        element = _child(step, container, index, rest[0], owned)
        if item is not MISSING:
            _write(step, element, rest, item, owned)


class Mapper:
    """A compiled RuleSet. ``apply`` returns a new dict and never mutates its input."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self._steps = tuple(_Step(rule, ruleset.source) for rule in ruleset.rules)
        self._writers = tuple(s for s in self._steps if s.kind != "drop")
        self._unmapped = ruleset.unmapped
        removed = [path for step in self._steps for path in step.sources]
        self._trie = build_trie(removed)
        # Fast paths for the common flat case (top-level keys only).
        self._flat_removals: tuple[str, ...] | None = (
            tuple(p[0] for p in removed if isinstance(p[0], str))
            if all(len(p) == 1 for p in removed)
            else None
        )
        self._flat_targets = {
            id(s): s.target[0]
            for s in self._writers
            if s.target is not None and len(s.target) == 1 and isinstance(s.target[0], str)
        }
        self._renames = self._plain_renames()
        # Popping while writing is safe only when no rule writes a key another rule reads.
        self._pop_in_place = self._renames is not None and not (
            {target for _, target in self._renames} & set(self._flat_removals or ())
        )

    def _plain_renames(self) -> tuple[tuple[str, str], ...] | None:
        """``(source key, target key)`` pairs when every rule just renames a top-level field
        (or drops one), the tutorial's kind of rule set: apply then runs one tight loop."""
        if self._unmapped == "error" or self._flat_removals is None:
            return None
        pairs = []
        for step in self._steps:
            if step.kind == "drop":
                continue
            plain = (
                step.kind == "move"
                and len(step.sources) == 1
                and not step.chain
                and step.default is MISSING
                and not step.required
                and id(step) in self._flat_targets
            )
            if not plain:
                return None
            source = step.sources[0][0]
            assert isinstance(source, str)
            pairs.append((source, self._flat_targets[id(step)]))
        return tuple(pairs)

    def __repr__(self) -> str:
        origin = self.ruleset.source or "a dict"
        return f"<Mapper of {len(self._steps)} rules, unmapped={self._unmapped}, from {origin}>"

    def apply(self, event: dict[str, Any]) -> dict[str, Any]:
        if not isinstance(event, dict):
            raise MappingError(
                f"an event must be a JSON object, not {json_type(event)}", file=self.ruleset.source
            )
        renames = self._renames
        if renames is not None:
            return self._rename(event, renames)
        owned: set[int] = set()
        if self._unmapped == "drop":
            out: dict[str, Any] = {}
        elif self._flat_removals is not None:
            out = dict(event)
            for key in self._flat_removals:
                out.pop(key, None)
        else:
            pruned = prune(event, self._trie, owned)
            if pruned is EMPTIED:
                out = {}
            elif pruned is event:
                out = dict(event)
            else:
                out = pruned
        leftover = first_leaf(out, (), owned) if self._unmapped == "error" and out else None
        if leftover is not None:
            path, value = leftover
            text = format_path(path)
            raise MappingError(
                f"field {text!r} is read by no rule and unmapped is 'error' "
                "(add a rule for it, or set unmapped: keep or drop)",
                path=text,
                value=value,
                file=self.ruleset.source,
            )
        owned.add(id(out))
        # Rules read the untouched input and write into `out`, whose shared containers are
        # copied before any write, so reading and writing can share one pass.
        for step in self._writers:
            value = step.produce(event)
            if value is MISSING:
                continue
            if step.flat_key is not None:
                out[step.flat_key] = value
            else:
                assert step.target is not None
                _write(step, out, step.target, value, owned)
        return out

    def _rename(
        self, event: dict[str, Any], renames: tuple[tuple[str, str], ...]
    ) -> dict[str, Any]:
        if self._unmapped == "drop":
            out: dict[str, Any] = {}
            for source, target in renames:
                value = event.get(source, MISSING)
                if value is not MISSING:
                    out[target] = value
            return out
        out = dict(event)
        if self._pop_in_place:
            for source, target in renames:
                value = out.pop(source, MISSING)
                if value is not MISSING:
                    out[target] = value
            if len(renames) != len(self._flat_removals or ()):
                for key in self._flat_removals or ():
                    out.pop(key, None)
            return out
        for key in self._flat_removals or ():
            out.pop(key, None)
        for source, target in renames:
            value = event.get(source, MISSING)
            if value is not MISSING:
                out[target] = value
        return out

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        return self.apply(event)
