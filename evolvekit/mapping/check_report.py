"""The report ``check_rules`` returns: findings, sample results, text/HTML/JSON renderings."""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from evolvekit.mapping.ruleset import RuleSet

Severity = Literal["error", "warning", "info"]
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
MAX_EXAMPLES_PER_GROUP = 3


@dataclass(frozen=True)
class Finding:
    """One thing the check found; ``error`` findings make the report not ok."""

    severity: Severity
    kind: str  # missing_required, unread_source, type_conflict, unknown_source, ...
    path: str
    message: str
    rule: int | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "severity": self.severity,
            "kind": self.kind,
            "path": self.path,
            "message": self.message,
        }
        if self.rule is not None:
            out["rule"] = self.rule
        return out


@dataclass
class ErrorGroup:
    """Sample failures that share a pointer and a validator keyword (or a mapping failure)."""

    pointer: str
    keyword: str
    message: str  # the first one seen
    count: int = 0
    samples: list[int] = field(default_factory=list)  # 0-based sample indexes, first few

    def to_dict(self) -> dict[str, Any]:
        return {
            "pointer": self.pointer,
            "keyword": self.keyword,
            "message": self.message,
            "count": self.count,
            "samples": list(self.samples),
        }


@dataclass
class SampleResult:
    total: int = 0
    valid: int = 0
    groups: list[ErrorGroup] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.valid / self.total if self.total else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "valid": self.valid,
            "share": round(self.share, 4),
            "errors": [g.to_dict() for g in self.groups],
        }


@dataclass
class RulesReport:
    """The outcome of ``check_rules``."""

    ruleset: RuleSet
    findings: list[Finding]
    samples: SampleResult | None = None

    @property
    def ok(self) -> bool:
        if any(f.severity == "error" for f in self.findings):
            return False
        return self.samples is None or self.samples.valid == self.samples.total

    def by_severity(self, severity: Severity) -> list[Finding]:
        return [f for f in self.findings if f.severity == severity]

    @property
    def title(self) -> str:
        rs = self.ruleset
        subject = rs.subject or "rules"
        versions = f" {rs.from_version or '?'} -> {rs.to_version or '?'}"
        source = f" ({rs.source})" if rs.source else ""
        return f"{subject}{versions}{source}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "subject": self.ruleset.subject,
            "from_version": self.ruleset.from_version,
            "to_version": self.ruleset.to_version,
            "source": self.ruleset.source,
            "unmapped": self.ruleset.unmapped,
            "findings": [f.to_dict() for f in self.findings],
            "samples": self.samples.to_dict() if self.samples else None,
        }

    def to_text(self) -> str:
        lines = [f"{'OK' if self.ok else 'NOT OK'}: {self.title}"]
        counts = {s: len(self.by_severity(s)) for s in ("error", "warning", "info")}
        lines.append(
            f"{counts['error']} error(s), {counts['warning']} warning(s), {counts['info']} note(s)"
        )
        for f in self.findings:
            rule = f" (rule {f.rule})" if f.rule is not None else ""
            lines.append(f"  {f.severity:<7} {f.kind:<17} {f.path}{rule}: {f.message}")
        if self.samples is not None:
            s = self.samples
            lines.append(f"samples: {s.valid}/{s.total} valid after mapping ({s.share:.1%})")
            for g in s.groups:
                lines.append(
                    f"  {g.count} x {g.pointer or '#'} [{g.keyword}]: {g.message}"
                    f" (e.g. sample {', '.join(str(i + 1) for i in g.samples)})"
                )
        return "\n".join(lines) + "\n"

    def to_html(self) -> str:
        """A self-contained page (inline style, everything escaped)."""
        esc = html.escape
        rows = "".join(
            f"<tr class='{esc(f.severity)}'><td>{esc(f.severity)}</td><td>{esc(f.kind)}</td>"
            f"<td><code>{esc(f.path)}</code></td>"
            f"<td>{'' if f.rule is None else f.rule}</td><td>{esc(f.message)}</td></tr>"
            for f in self.findings
        )
        parts = [
            "<!DOCTYPE html><html><head><meta charset='utf-8'>",
            f"<title>{esc(self.title)}</title><style>",
            "body{font-family:system-ui,sans-serif;margin:1.5em}"
            "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;"
            "text-align:left;vertical-align:top}tr.error td:first-child{color:#b00020}"
            "tr.warning td:first-child{color:#a15c00}.ok{color:#1b5e20}.bad{color:#b00020}",
            "</style></head><body>",
            f"<h1>{esc(self.title)}</h1>",
            f"<p class='{'ok' if self.ok else 'bad'}'><strong>"
            f"{'OK' if self.ok else 'NOT OK'}</strong></p>",
        ]
        if self.findings:
            parts.append(
                "<table><tr><th>severity</th><th>kind</th><th>path</th><th>rule</th>"
                f"<th>message</th></tr>{rows}</table>"
            )
        else:
            parts.append("<p>No findings.</p>")
        if self.samples is not None:
            s = self.samples
            parts.append(
                f"<h2>Samples</h2><p>{s.valid} of {s.total} valid after mapping ({s.share:.1%})</p>"
            )
            if s.groups:
                parts.append(
                    "<table><tr><th>count</th><th>pointer</th><th>keyword</th>"
                    "<th>first message</th><th>samples</th></tr>"
                    + "".join(
                        f"<tr><td>{g.count}</td><td><code>{esc(g.pointer or '#')}</code></td>"
                        f"<td>{esc(g.keyword)}</td><td>{esc(g.message)}</td>"
                        f"<td>{esc(', '.join(str(i + 1) for i in g.samples))}</td></tr>"
                        for g in s.groups
                    )
                    + "</table>"
                )
        parts.append("</body></html>")
        return "".join(parts)
