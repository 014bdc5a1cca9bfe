"""The directional diff walk: every difference between two schemas, judged old -> new.

The walk follows Confluent's JSON Schema diff (its identifiers, its JSON-pointer paths and,
where it has them, its verdict rules, including the strict/lenient content-model policy), so
its verdicts can be checked against Confluent's public test data. It judges ONE direction:
``Walker(policy).compare(old, new)`` says whether every instance of ``old`` is valid under
``new``. ``evolvekit.schema.diff`` runs it both ways and merges the two into one change list.

Sub-comparisons whose outcome decides a verdict (combinator branches, content models) run in
a *trial*: their differences are kept only when the caller decides to.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from evolvekit.safe_regex import schema_pattern_matcher
from evolvekit.schema.changes import ANNOTATION_KINDS, MISSING, is_compatible_kind
from evolvekit.schema.diff_finite import accepted, accepts_all, enumerated
from evolvekit.schema.diff_objects import compare_array, compare_object
from evolvekit.schema.diff_records import Diff, HintGroup, child
from evolvekit.schema.diff_shapes import (
    BOOLEAN,
    COMBINED,
    CONDITIONAL,
    EMPTY,
    ENUM,
    FALSE,
    NOT,
    NULL,
    NUMBER,
    STRING,
    TYPE_KINDS,
    Ctx,
    Shape,
    combined_branches,
    shape_of,
)
from evolvekit.schema.diff_values import (
    as_fraction,
    as_number,
    canonical,
    json_equal,
    limits,
    lower_bound,
    lower_kept,
    same_json,
    upper_bound,
    upper_kept,
)

# Annotations compared at the schema's own path, as Confluent reports them.
_META: Final[tuple[tuple[str, str], ...]] = (
    ("title", "title_changed"),
    ("description", "description_changed"),
    ("default", "default_changed"),
    ("examples", "examples_changed"),
    ("$comment", "comment_changed"),
    ("readOnly", "read_only_changed"),
    ("writeOnly", "write_only_changed"),
    ("contentMediaType", "content_changed"),
    ("contentEncoding", "content_changed"),
)
_META_KEYS: Final[frozenset[str]] = frozenset(
    {k for k, _ in _META} | {"$id", "id", "format", "deprecated"}
)


class Walker:
    """Compares two schemas in one direction (see the module docstring)."""

    def __init__(
        self, policy: str = "strict", *, shortcut: bool = True, hints: bool = True
    ) -> None:
        self.policy = policy
        self.hints = hints  # collect rename-hint material (one direction is enough)
        # Equal subtrees can be skipped only when no $ref could make them mean different things.
        self.shortcut = shortcut
        self._active: set[tuple[int, int, str, str]] = set()
        self._trial_depth = 0
        self.hint_groups: list[HintGroup] = []

    # --- bookkeeping ------------------------------------------------------------------

    def compatible(self, diffs: Iterable[Diff]) -> bool:
        for d in diffs:
            ok = d.compat if d.compat is not None else is_compatible_kind(d.kind, self.policy)
            if not ok:
                return False
        return True

    @property
    def collecting_hints(self) -> bool:
        return self.hints and self._trial_depth == 0

    def trial(self, old: Shape, new: Shape, path: str) -> list[Diff]:
        """Compare in a sub-context whose differences the caller may drop."""
        out: list[Diff] = []
        self._trial_depth += 1
        try:
            self.compare(old, new, path, out)
        finally:
            self._trial_depth -= 1
        return out

    def trial_raw(self, old: Any, old_ctx: Ctx, new: Any, new_ctx: Ctx, path: str) -> list[Diff]:
        return self.trial(shape_of(old, old_ctx, path), shape_of(new, new_ctx, path), path)

    def search(self, pattern: str, name: str) -> bool:
        """``patternProperties`` matching (an invalid pattern matches nothing)."""
        matches = schema_pattern_matcher(pattern) if isinstance(pattern, str) else None
        return matches is not None and matches(name)

    # --- entry points -----------------------------------------------------------------

    def same(self, old: Any, new: Any) -> bool:
        """Whether two subschemas can be skipped as identical."""
        return self.shortcut and same_json(old, new)

    def compare_raw(
        self, old: Any, old_ctx: Ctx, new: Any, new_ctx: Ctx, path: str, out: list[Diff]
    ) -> None:
        if self.shortcut and same_json(old, new):
            return
        self.compare(shape_of(old, old_ctx, path), shape_of(new, new_ctx, path), path, out)

    def compare(self, old: Shape, new: Shape, path: str, out: list[Diff]) -> None:
        # Recursive schemas: a pair already being compared further up is taken as equal.
        key = (id(old.raw), id(new.raw), old.kind + old.criterion, new.kind + new.criterion)
        if key in self._active:
            return
        self._active.add(key)
        try:
            self._compare(old, new, path, out)
        finally:
            self._active.discard(key)

    # --- the walk ---------------------------------------------------------------------

    def _compare(self, old: Shape, new: Shape, path: str, out: list[Diff]) -> None:
        finite = enumerated(old)
        if finite is not None:
            self._compare_finite(old, new, finite, path, out)
            return
        self._compare_shapes(old, new, path, out)

    def _compare_finite(
        self, old: Shape, new: Shape, values: list[Any], path: str, out: list[Diff]
    ) -> None:
        """An old schema that lists its values: compatible iff the new one accepts each.

        Exact where the structural rules are not (``{"type": "number"}`` with ``enum [1]``
        against ``enum [0, 1]`` plus ``minimum 1``). The structural changes are still
        reported; the verdict on them comes from validating the listed values.
        """
        found: list[Diff] = []
        self._compare_shapes(old, new, path, found)
        admitted = [v for v in values if accepted(old, v)]
        # No admitted value (a contradictory schema) or refs: keep the structural verdict.
        verdict = accepts_all(new, admitted) if admitted else None
        if verdict is None:
            out.extend(found)
            return
        if verdict and old.kind == ENUM and new.kind != ENUM:
            found = [d for d in found if d.kind in ANNOTATION_KINDS]  # values all still fit
        structural = [d for d in found if d.kind not in ANNOTATION_KINDS]
        for d in structural:
            d.compat = verdict
        if not verdict and not structural:
            found.append(Diff("enum_array_changed", child(path, "enum"), values, MISSING, False))
        out.extend(found)

    def _compare_shapes(self, old: Shape, new: Shape, path: str, out: list[Diff]) -> None:
        if self._special(old, new, path, out):
            return
        if old.synthetic or new.synthetic:
            self._compare_roles(old, new, path, out)
            return
        if old.kind != new.kind and _implied_vs_empty(old, new):
            old, new = _as_kind(old, new.kind), _as_kind(new, old.kind)
        if old.kind != new.kind:
            # false accepts nothing and {} everything: neither direction can break here.
            if old.kind != FALSE and new.kind != EMPTY:
                out.append(Diff("type_changed", path, old.type_label(), new.type_label()))
            return
        if not (old.part or new.part):
            self.metadata(old, new, path, out)
        kind = old.kind
        if kind == STRING:
            self._type_flags(old, new, path, out)
            self._compare_string(old.raw, new.raw, path, out)
        elif kind == NUMBER:
            self._type_flags(old, new, path, out)
            self._compare_number(old.raw, new.raw, path, out)
        elif kind in (BOOLEAN, NULL):
            self._type_flags(old, new, path, out)
        elif kind == "object":
            self._type_flags(old, new, path, out)
            compare_object(self, old, new, path, out)
        elif kind == "array":
            self._type_flags(old, new, path, out)
            compare_array(self, old, new, path, out)
        elif kind == ENUM:
            self._compare_enum(old, new, path, out)
        elif kind == COMBINED:
            self._compare_combined(old, new, path, out)
        elif kind == NOT:
            self._compare_not(old, new, path, out)
        elif kind == CONDITIONAL:
            self._compare_conditional(old, new, path, out)

    def _special(self, old: Shape, new: Shape, path: str, out: list[Diff]) -> bool:
        """A combinator on one side only: Confluent's singleton / sum / product rules."""
        old_comb = old.kind == COMBINED and not old.synthetic
        new_comb = new.kind == COMBINED and not new.synthetic
        if new_comb and not old_comb:
            branches = combined_branches(new, path)
            if len(branches) == 1:
                sub = self.trial(old, branches[0][1], path)
                if self.compatible(sub):
                    out.extend(sub)
                    return True
            elif new.criterion in ("anyOf", "oneOf"):
                for _, branch in branches:
                    sub = self.trial(old, branch, path)
                    if self.compatible(sub):
                        out.extend(sub)
                        out.append(Diff("sum_type_extended", path, old.type_label(),
                                        new.type_label()))  # fmt: skip
                        return True
            else:
                # allOf: the old schema must fit every conjunct.
                subs = [self.trial(old, branch, path) for _, branch in branches]
                if all(self.compatible(sub) for sub in subs):
                    for sub in subs:
                        out.extend(sub)
                    return True
        elif old_comb and not new_comb:
            branches = combined_branches(old, path)
            if len(branches) == 1:
                sub = self.trial(branches[0][1], new, path)
                if self.compatible(sub):
                    out.extend(sub)
                    return True
            elif old.criterion == "allOf":
                for _, branch in branches:
                    sub = self.trial(branch, new, path)
                    if self.compatible(sub):
                        out.extend(sub)
                        out.append(Diff("product_type_narrowed", path, old.type_label(),
                                        new.type_label()))  # fmt: skip
                        return True
        return False

    def _compare_roles(self, old: Shape, new: Shape, path: str, out: list[Diff]) -> None:
        """Conjunctions of one schema object: pair their parts by role."""
        if old.kind == FALSE or new.kind == EMPTY:
            return
        if not (old.part or new.part):
            self.metadata(old, new, path, out)
        old_roles = old.roles if old.synthetic else ({} if old.kind == EMPTY else {old.role: old})
        new_roles = new.roles if new.synthetic else ({} if new.kind == EMPTY else {new.role: new})
        # A combinator whose keyword changed (allOf -> anyOf) is still the same conjunct.
        olone = [r for r in old_roles if r in _COMBINATOR_ROLES and r not in new_roles]
        nlone = [r for r in new_roles if r in _COMBINATOR_ROLES and r not in old_roles]
        if len(olone) == 1 and len(nlone) == 1:
            new_roles = {(olone[0] if r == nlone[0] else r): p for r, p in new_roles.items()}
        for role, old_part in old_roles.items():
            new_part = new_roles.get(role)
            if new_part is None:
                kind = "conditional_removed" if role == "if" else "product_type_narrowed"
                out.append(Diff(kind, path, _role_value(old_part, role), MISSING))
            else:
                self.compare(old_part, new_part, path, out)
        for role, new_part in new_roles.items():
            if role not in old_roles:
                kind = "conditional_added" if role == "if" else "product_type_extended"
                out.append(Diff(kind, path, MISSING, _role_value(new_part, role)))

    # --- annotations ------------------------------------------------------------------

    def metadata(self, old: Shape, new: Shape, path: str, out: list[Diff]) -> None:
        o = old.raw if isinstance(old.raw, dict) else {}
        n = new.raw if isinstance(new.raw, dict) else {}
        if _META_KEYS.isdisjoint(o) and _META_KEYS.isdisjoint(n):
            return
        id_key = "id" if old.ctx.draft4 else "$id"
        for key, kind in ((id_key, "id_changed"), *_META):
            ov, nv = o.get(key, MISSING), n.get(key, MISSING)
            if ov is MISSING and nv is MISSING:
                continue
            if ov is MISSING or nv is MISSING or not json_equal(ov, nv):
                out.append(Diff(kind, path, ov, nv))
        of, nf = o.get("format", MISSING), n.get("format", MISSING)
        if of != nf:
            kind = "format_added" if of is MISSING else "format_removed" if nf is MISSING else (
                "format_changed")  # fmt: skip
            out.append(Diff(kind, child(path, "format"), of, nf))
        od, nd = bool(o.get("deprecated")), bool(n.get("deprecated"))
        if od != nd:
            out.append(Diff("deprecated_added" if nd else "deprecated_removed",
                            child(path, "deprecated"), od, nd))  # fmt: skip

    # --- scalars ----------------------------------------------------------------------

    def _type_flags(self, old: Shape, new: Shape, path: str, out: list[Diff]) -> None:
        """integer <-> number.

        An implied type becoming explicit (``{"maxLength": 3}`` -> ``{"type": "string", ...}``)
        is not reported, as Confluent and Apicurio do not: schemas in the wild state the type
        by the sibling they sit in (a property of a typed parent, a ``then`` branch).
        """
        narrowed = new.integer and not old.integer
        extended = old.integer and not new.integer
        if narrowed:
            out.append(Diff("type_narrowed", path, old.type_label(), new.type_label()))
        elif extended:
            out.append(Diff("type_extended", path, old.type_label(), new.type_label()))

    def bound(self, ov: Any, nv: Any, stem: str, path: str, out: list[Diff]) -> None:
        """``<stem>_added/_removed/_increased/_decreased`` for a numeric keyword."""
        ov, nv = as_number(ov), as_number(nv)
        if ov == nv:
            return
        if ov is None:
            out.append(Diff(f"{stem}_added", path, MISSING, nv))
        elif nv is None:
            out.append(Diff(f"{stem}_removed", path, ov, MISSING))
        elif nv > ov:
            out.append(Diff(f"{stem}_increased", path, ov, nv))
        else:
            out.append(Diff(f"{stem}_decreased", path, ov, nv))

    def _compare_string(self, o: Any, n: Any, path: str, out: list[Diff]) -> None:
        o = o if isinstance(o, dict) else {}
        n = n if isinstance(n, dict) else {}
        self.bound(o.get("maxLength"), n.get("maxLength"), "max_length",
                   child(path, "maxLength"), out)  # fmt: skip
        self.bound(o.get("minLength"), n.get("minLength"), "min_length",
                   child(path, "minLength"), out)  # fmt: skip
        op, np_ = o.get("pattern", MISSING), n.get("pattern", MISSING)
        if op != np_:
            kind = "pattern_added" if op is MISSING else "pattern_removed" if np_ is MISSING else (
                "pattern_changed")  # fmt: skip
            out.append(Diff(kind, child(path, "pattern"), op, np_))

    def _compare_number(self, o: Any, n: Any, path: str, out: list[Diff]) -> None:
        o = o if isinstance(o, dict) else {}
        n = n if isinstance(n, dict) else {}
        olim, nlim = limits(o), limits(n)
        # Inclusive and exclusive bounds are judged together (exclusiveMinimum 10 -> minimum
        # 10 is a relaxation), so each keyword's change carries the combined verdict.
        verdicts = (upper_kept(upper_bound(o), upper_bound(n)),
                    lower_kept(lower_bound(o), lower_bound(n)))  # fmt: skip
        for index, (key, stem) in enumerate((
            ("maximum", "maximum"), ("exclusiveMaximum", "exclusive_maximum"),
            ("minimum", "minimum"), ("exclusiveMinimum", "exclusive_minimum"),
        )):  # fmt: skip
            found: list[Diff] = []
            self.bound(olim[index], nlim[index], stem, child(path, key), found)
            for d in found:
                d.compat = verdicts[index // 2]
            out.extend(found)
        om, nm = as_number(o.get("multipleOf")), as_number(n.get("multipleOf"))
        if om == nm:
            return
        where = child(path, "multipleOf")
        if om is None:
            out.append(Diff("multiple_of_added", where, MISSING, nm))
        elif nm is None:
            out.append(Diff("multiple_of_removed", where, om, MISSING))
        elif om == 0 or nm == 0:
            out.append(Diff("multiple_of_changed", where, om, nm))
        elif (as_fraction(nm) / as_fraction(om)).denominator == 1:
            out.append(Diff("multiple_of_expanded", where, om, nm))
        elif (as_fraction(om) / as_fraction(nm)).denominator == 1:
            out.append(Diff("multiple_of_reduced", where, om, nm))
        else:
            out.append(Diff("multiple_of_changed", where, om, nm))

    def _compare_enum(self, old: Shape, new: Shape, path: str, out: list[Diff]) -> None:
        okeys = {canonical(v) for v in old.values}
        nkeys = {canonical(v) for v in new.values}
        if okeys == nkeys:
            return
        key = new.enum_key if new.enum_key == old.enum_key else "enum"
        ov = old.raw.get(old.enum_key, MISSING) if isinstance(old.raw, dict) else MISSING
        nv = new.raw.get(new.enum_key, MISSING) if isinstance(new.raw, dict) else MISSING
        if nkeys >= okeys:
            kind = "enum_array_extended"
        elif okeys >= nkeys:
            kind = "enum_array_narrowed"
        else:
            kind = "enum_array_changed"
        out.append(Diff(kind, child(path, key), ov, nv))

    # --- applicators ------------------------------------------------------------------

    def _compare_not(self, old: Shape, new: Shape, path: str, out: list[Diff]) -> None:
        where = child(path, "not")
        # not A -> not B is backward compatible when B accepts no more than A: compare reversed.
        sub = self.trial_raw(new.raw["not"], new.ctx, old.raw["not"], old.ctx, where)
        kind = "not_type_narrowed" if self.compatible(sub) else "not_type_extended"
        if sub or not json_equal(old.raw["not"], new.raw["not"]):
            out.append(Diff(kind, where, old.raw["not"], new.raw["not"]))

    def _compare_conditional(self, old: Shape, new: Shape, path: str, out: list[Diff]) -> None:
        if not json_equal(old.raw["if"], new.raw["if"]):
            keys = ("if", "then", "else")
            ov = {k: old.raw[k] for k in keys if k in old.raw}
            nv = {k: new.raw[k] for k in keys if k in new.raw}
            out.append(Diff("conditional_changed", child(path, "if"), ov, nv))
            return
        # Same condition: each branch is compared like any subschema (absent = true).
        for key in ("then", "else"):
            if key in old.raw or key in new.raw:
                self.compare_raw(old.raw.get(key, True), old.ctx, new.raw.get(key, True),
                                 new.ctx, child(path, key), out)  # fmt: skip

    def _compare_combined(self, old: Shape, new: Shape, path: str, out: list[Diff]) -> None:
        oc, nc = old.criterion, new.criterion
        obranches, nbranches = combined_branches(old, path), combined_branches(new, path)
        osize, nsize = len(obranches), len(nbranches)
        if oc != nc:
            if (nc == "anyOf" or (osize == 1 and nsize == 1) or (osize == 1 and nc == "oneOf")
                    or (nsize == 1 and oc == "allOf")):  # fmt: skip
                out.append(Diff("combined_type_extended", path, oc, nc))
            else:
                out.append(Diff("combined_type_changed", path, oc, nc))
                return
        if osize < nsize:
            kind = "product_type_extended" if nc == "allOf" else "sum_type_extended"
            out.append(Diff(kind, path, old.type_label(), new.type_label()))
        elif osize > nsize:
            kind = "sum_type_narrowed" if oc in ("anyOf", "oneOf") else "product_type_narrowed"
            out.append(Diff(kind, path, old.type_label(), new.type_label()))
        # Pair branches by maximum matching over compatible pairs, cheapest pairs first.
        edges: dict[int, list[tuple[int, int, list[Diff]]]] = {}
        for oi, obranch in obranches:
            where = path if old.typelist else child(path, oc, oi)
            candidates = []
            for nj, nbranch in nbranches:
                sub = self.trial(obranch, nbranch, where)
                if self.compatible(sub):
                    candidates.append((len(sub), nj, sub))
            candidates.sort(key=lambda c: (c[0], c[1]))
            edges[oi] = candidates
        owner: dict[int, int] = {}

        def assign(oi: int, seen: set[int]) -> bool:
            for _, nj, _sub in edges[oi]:
                if nj in seen:
                    continue
                seen.add(nj)
                if nj not in owner or assign(owner[nj], seen):
                    owner[nj] = oi
                    return True
            return False

        for oi, _ in obranches:
            assign(oi, set())
        chosen = {oi: nj for nj, oi in owner.items()}
        for oi, _ in obranches:
            if oi in chosen:
                out.extend(next(s for _, nj, s in edges[oi] if nj == chosen[oi]))
        if len(owner) < min(osize, nsize):
            out.append(Diff("combined_type_subschemas_changed", path, old.type_label(),
                            new.type_label()))  # fmt: skip


_COMBINATOR_ROLES: Final = frozenset({"allOf", "anyOf", "oneOf"})


def _implied_vs_empty(old: Shape, new: Shape) -> bool:
    """``{}`` against ``{"maxLength": 3}``: an untyped constraint, comparable keyword-wise."""
    pair = (old, new) if old.kind == EMPTY else (new, old)
    return pair[0].kind == EMPTY and pair[1].kind in TYPE_KINDS and not pair[1].requires


def _as_kind(shape: Shape, kind: str) -> Shape:
    if shape.kind != EMPTY:
        return shape
    return Shape(kind, shape.raw, shape.ctx, requires=False)


def _role_value(shape: Shape, role: str) -> Any:
    raw = shape.raw if isinstance(shape.raw, dict) else {}
    if role == "type":
        return shape.type_label()
    if role == "enum":
        return raw.get(shape.enum_key, MISSING)
    if role == "$ref":
        return raw.get("$ref", shape.type_label())
    return raw.get(role, MISSING)
