"""``evolvekit diff``, ``check`` (with and without ``--base``) and ``register``, end to end."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from evolvekit.cli.main import main

ORDER_V1: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["orderId"],
    "properties": {
        "orderId": {"type": "string"},
        "amount": {"type": "number"},
        "placedAt": {"$ref": "../_defs/common.json#/$defs/timestamp"},
    },
}
DEFS: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$defs": {"timestamp": {"type": "string", "format": "date-time"}},
}


def with_changes(schema: dict[str, Any], **properties: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(schema))
    for name, value in properties.items():
        if value is None:
            out["properties"].pop(name)
        else:
            out["properties"][name] = value
    return out


# Candidates live in a "_drafts" folder of the registry (no subject: it starts with "_"), so
# their relative $ref to ../_defs stays inside the registry root.

# Backward compatible over v1: a new optional property in a closed content model.
ORDER_V2 = with_changes(ORDER_V1, note={"type": "string"})
# Backward incompatible over v1: amount narrowed from number to integer.
ORDER_NARROWED = with_changes(ORDER_V1, amount={"type": "integer"})


def write_json(path: Path, value: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=2), encoding="utf-8")
    return path


@pytest.fixture
def schemas(tmp_path: Path) -> Path:
    """A registry with one subject, ``orders`` (mode backward), at 1.0.0 and 1.1.0."""
    root = tmp_path / "repo" / "schemas"
    write_json(root / "_defs" / "common.json", DEFS)
    write_json(root / "orders" / "1.0.0.json", ORDER_V1)
    write_json(root / "orders" / "1.1.0.json", ORDER_V2)
    (root / "orders" / "subject.yaml").write_text("mode: backward\n", encoding="utf-8")
    return root


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def assert_one_line_error(err: str, *fragments: str) -> None:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("evolvekit: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def summary_rows(out: str) -> list[str]:
    """The rows of the check summary table (after its header, before the tally)."""
    lines = out.splitlines()
    start = max(i for i, line in enumerate(lines) if line.split()[:2] == ["subject", "compared"])
    return [line for line in lines[start + 1 :] if line and not line[0].isdigit()]


# --- diff ----------------------------------------------------------------------------


def test_diff_identical_files_exit_0(capsys: pytest.CaptureFixture[str], schemas: Path) -> None:
    old = str(schemas / "orders" / "1.0.0.json")
    code, out, _ = run(capsys, "diff", old, old, "--schemas", str(schemas))
    assert code == 0
    assert "no changes" in out
    assert "backward: compatible" in out


def test_diff_exit_code_follows_mode(capsys: pytest.CaptureFixture[str], schemas: Path) -> None:
    narrowed = write_json(schemas / "_drafts" / "narrowed.json", ORDER_NARROWED)
    args = ("diff", "orders@1.0.0", str(narrowed), "--schemas", str(schemas))
    code, out, _ = run(capsys, *args)
    assert code == 1
    assert "type_narrowed" in out and "#/properties/amount" in out
    assert "(breaks: backward)" in out
    assert "backward: INCOMPATIBLE (1 breaking)  <- mode" in out
    # Every integer is a number: the change keeps forward compatibility.
    code, out, _ = run(capsys, *args, "--mode", "forward")
    assert code == 0
    assert "forward:  compatible  <- mode" in out
    code, _, _ = run(capsys, *args, "--mode", "full")
    assert code == 1


def test_diff_registry_refs_and_json(capsys: pytest.CaptureFixture[str], schemas: Path) -> None:
    code, out, _ = run(
        capsys, "diff", "orders@1.0.0", "orders@latest", "--schemas", str(schemas), "--format",
        "json",
    )  # fmt: skip
    assert code == 0
    data = json.loads(out)
    assert list(data) == ["compatible", "mode", "policy", "mode_source", "policy_source",
                          "backward", "forward", "changes", "hints"]  # fmt: skip
    assert data["compatible"] is True and data["mode"] == "backward" and data["policy"] == "strict"
    paths = [c["path"] for c in data["changes"]]
    assert "#/properties/note" in paths
    added = data["changes"][paths.index("#/properties/note")]
    assert "old" not in added and added["new"] == {"type": "string"}
    assert set(added) == {"kind", "path", "new", "breaks", "severity", "explanation", "example"}
    assert isinstance(added["example"]["note"], str)  # a new event the old closed schema rejects


@pytest.mark.parametrize("fmt", ["markdown", "html"])
def test_diff_other_formats(capsys: pytest.CaptureFixture[str], schemas: Path, fmt: str) -> None:
    narrowed = write_json(schemas / "_drafts" / "narrowed.json", ORDER_NARROWED)
    code, out, _ = run(
        capsys, "diff", "orders@1.0.0", str(narrowed), "--schemas", str(schemas), "--format", fmt
    )
    assert code == 1
    assert "type_narrowed" in out
    if fmt == "markdown":
        assert "❌ backward" in out and "| severity | kind | path |" in out
    else:
        assert out.startswith('<div class="evolvekit-report">') and "<script" not in out


def test_diff_colour(capsys: pytest.CaptureFixture[str], schemas: Path) -> None:
    narrowed = write_json(schemas / "_drafts" / "narrowed.json", ORDER_NARROWED)
    base = ("diff", "orders@1.0.0", str(narrowed), "--schemas", str(schemas))
    assert "\x1b[" in run(capsys, *base, "--color", "always")[1]
    assert "\x1b[" not in run(capsys, *base, "--color", "never")[1]
    assert "\x1b[" not in run(capsys, *base)[1]  # auto: captured output is not a TTY


def test_diff_shared_ref_change_is_seen(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Two files whose only difference is inside the $ref'd definition they each point to."""
    for side, fmt in (("a", "date-time"), ("b", "date")):
        write_json(tmp_path / side / "schemas" / "_defs" / "common.json",
                   {"$defs": {"timestamp": {"type": "string", "format": fmt}}})  # fmt: skip
        write_json(tmp_path / side / "schemas" / "orders" / "1.0.0.json", ORDER_V1)
    code, out, _ = run(
        capsys, "diff", str(tmp_path / "a/schemas/orders/1.0.0.json"),
        str(tmp_path / "b/schemas/orders/1.0.0.json"), "--schemas", str(tmp_path),
    )  # fmt: skip
    assert code == 0
    assert "format_changed" in out and "#/properties/placedAt" in out


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"{not json", "not valid JSON"),
        (b'{"type": 12}', "not a valid JSON Schema"),
        (b'{"$ref": "https://example.com/s.json"}', "remote $ref"),
        (b'{"$schema": "https://example.com/my-dialect"}', "$schema"),
    ],
)
def test_diff_bad_input_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], schemas: Path, content: bytes, fragment: str
) -> None:
    bad = schemas.parent / "bad.json"
    bad.write_bytes(content)
    code, out, err = run(
        capsys, "diff", "orders@1.0.0", str(bad), "--schemas", str(schemas)
    )  # fmt: skip
    assert code == 2
    assert out == ""
    assert_one_line_error(err, "bad.json", fragment)


@pytest.mark.parametrize(
    ("operand", "fragment"),
    [
        ("no/such/file.json", "no such schema file"),
        ("orders@9.9.9", "no version 9.9.9"),
        ("nobody@1.0.0", "unknown subject"),
        ("orders@not-a-version", "not a semantic version"),
    ],
)
def test_diff_bad_operands_exit_2(
    capsys: pytest.CaptureFixture[str], schemas: Path, operand: str, fragment: str
) -> None:
    code, _, err = run(capsys, "diff", "orders@1.0.0", operand, "--schemas", str(schemas))
    assert code == 2
    assert_one_line_error(err, fragment)


def test_diff_usage_errors_exit_2(capsys: pytest.CaptureFixture[str], schemas: Path) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["diff", "orders@1.0.0", "orders@1.1.0", "--mode", "sideways"])
    assert exited.value.code == 2
    assert "invalid choice: 'sideways'" in capsys.readouterr().err
    code, _, err = run(capsys, "diff", "a.json", "b.json", "--schemas", str(schemas / "nowhere"))
    assert code == 2
    assert_one_line_error(err, "does not exist")


# --- check ---------------------------------------------------------------------------


def test_check_passes_and_prints_the_table(
    capsys: pytest.CaptureFixture[str], schemas: Path
) -> None:
    code, out, _ = run(capsys, "check", "--schemas", str(schemas))
    assert code == 0
    header = out.splitlines()[0].split()
    assert header == ["subject", "compared", "mode", "verdict", "breaking"]
    assert any(line.startswith("orders") and "compatible" in line for line in summary_rows(out))
    assert "1 checked, 0 violation(s)" in out


def test_check_fails_on_a_breaking_newest_version(
    capsys: pytest.CaptureFixture[str], schemas: Path
) -> None:
    write_json(schemas / "orders" / "2.0.0.json", ORDER_NARROWED)
    code, out, _ = run(capsys, "check", "--schemas", str(schemas))
    assert code == 1
    assert "type_narrowed" in out  # the failing comparison's report comes first
    row = next(line for line in summary_rows(out) if line.startswith("orders"))
    assert "INCOMPATIBLE" in row and row.split()[-1] != "0"
    code, out, _ = run(capsys, "check", "--schemas", str(schemas), "--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["ok"] is False and data["checks"][0]["subject"] == "orders"
    code, out, _ = run(capsys, "check", "--schemas", str(schemas), "--format", "markdown")
    assert code == 1 and "❌ failed" in out


def test_check_unknown_subject_exit_2(capsys: pytest.CaptureFixture[str], schemas: Path) -> None:
    code, _, err = run(capsys, "check", "--schemas", str(schemas), "--subject", "nobody")
    assert code == 2
    assert_one_line_error(err, "nobody")


# --- check --base --------------------------------------------------------------------

needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def git(repo: Path, *argv: str) -> str:
    proc = subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.com",
         "-c", "commit.gpgsign=false", *argv],
        cwd=repo, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return proc.stdout.strip()


@pytest.fixture(autouse=True)
def _no_outer_git(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run git in the temporary repositories even when the suite runs inside a git hook."""
    for name in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def repo(schemas: Path) -> Path:
    """A git repository holding ``schemas`` committed twice; HEAD~1 lacks orders 1.1.0."""
    root = schemas.parent
    git(root, "init", "-q", "-b", "main")
    v11 = (schemas / "orders" / "1.1.0.json").read_bytes()
    (schemas / "orders" / "1.1.0.json").unlink()
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "orders 1.0.0")
    (schemas / "orders" / "1.1.0.json").write_bytes(v11)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "orders 1.1.0")
    return root


@needs_git
def test_base_unchanged_passes(capsys: pytest.CaptureFixture[str], repo: Path) -> None:
    code, out, _ = run(capsys, "check", "--schemas", str(repo / "schemas"), "--base", "HEAD")
    assert code == 0
    assert "0 checked, 0 violation(s)" in out


@needs_git
def test_base_new_version_is_compared_with_the_previous(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    code, out, _ = run(capsys, "check", "--schemas", str(repo / "schemas"), "--base", "HEAD~1")
    assert code == 0
    row = next(line for line in summary_rows(out) if line.startswith("orders"))
    assert "1.1.0 (new) vs 1.0.0" in row and "compatible" in row
    write_json(repo / "schemas" / "orders" / "2.0.0.json", ORDER_NARROWED)
    code, out, _ = run(capsys, "check", "--schemas", str(repo / "schemas"), "--base", "HEAD")
    assert code == 1
    assert "2.0.0 (new) vs 1.1.0" in out and "type_narrowed" in out


@needs_git
def test_base_edited_version_and_shared_defs(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    schemas = repo / "schemas"
    write_json(schemas / "orders" / "1.0.0.json", ORDER_NARROWED)  # edited in place: breaks
    code, out, _ = run(capsys, "check", "--schemas", str(schemas), "--base", "HEAD")
    assert code == 1
    row = next(line for line in summary_rows(out) if line.startswith("orders"))
    assert "1.0.0 vs HEAD" in row and "INCOMPATIBLE" in row
    git(repo, "checkout", "-q", "--", ".")
    # Narrowing the shared definition changes both versions, though neither file changed.
    defs = json.loads(json.dumps(DEFS))
    defs["$defs"]["timestamp"]["maxLength"] = 40
    write_json(schemas / "_defs" / "common.json", defs)
    code, out, _ = run(capsys, "check", "--schemas", str(schemas), "--base", "HEAD", "--format",
                       "json")  # fmt: skip
    assert code == 1
    data = json.loads(out)
    assert [c["compared"] for c in data["checks"]] == ["1.0.0 vs HEAD", "1.1.0 vs HEAD"]
    kinds = {c["kind"] for c in data["checks"][0]["pairs"][0]["changes"]}
    assert "max_length_added" in kinds


@needs_git
def test_base_deleted_version_is_a_violation(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    (repo / "schemas" / "orders" / "1.0.0.json").unlink()
    code, out, _ = run(capsys, "check", "--schemas", str(repo / "schemas"), "--base", "HEAD")
    assert code == 1
    assert "VIOLATION (deleted)" in out and "1.0.0 at HEAD" in out


@needs_git
def test_base_bad_input(capsys: pytest.CaptureFixture[str], repo: Path, tmp_path: Path) -> None:
    schemas = str(repo / "schemas")
    code, _, err = run(capsys, "check", "--schemas", schemas, "--base", "no-such-branch")
    assert code == 2
    assert_one_line_error(err, "no-such-branch", "not a commit")
    code, _, err = run(capsys, "check", "--schemas", schemas, "--base=--output=/tmp/x")
    assert code == 2
    assert_one_line_error(err, "not a git ref")
    outside = tmp_path / "plain" / "schemas"
    write_json(outside / "orders" / "1.0.0.json", ORDER_V1)
    code, _, err = run(capsys, "check", "--schemas", str(outside), "--base", "HEAD")
    assert code == 2
    assert_one_line_error(err, "not in one")


@needs_git
def test_base_broken_file_at_ref_is_named_by_ref(
    capsys: pytest.CaptureFixture[str], repo: Path
) -> None:
    schemas = repo / "schemas"
    (schemas / "orders" / "1.0.0.json").write_text("{broken", encoding="utf-8")
    git(repo, "commit", "-q", "-am", "break it")
    write_json(schemas / "orders" / "1.0.0.json", ORDER_V1)
    code, _, err = run(capsys, "check", "--schemas", str(schemas), "--base", "HEAD")
    assert code == 2
    assert_one_line_error(err, "HEAD:schemas/orders/1.0.0.json", "not valid JSON")


# --- register ------------------------------------------------------------------------


def test_register_accepts_a_compatible_version(
    capsys: pytest.CaptureFixture[str], schemas: Path
) -> None:
    candidate = write_json(
        schemas / "_drafts" / "candidate.json", with_changes(ORDER_V2, channel={"type": "string"})
    )
    code, out, _ = run(capsys, "register", "orders", str(candidate), "--schemas", str(schemas))
    assert code == 0
    assert "registered orders@1.2.0" in out
    assert "#/properties/channel" in out  # the report is printed on success too
    stored = json.loads((schemas / "orders" / "1.2.0.json").read_text(encoding="utf-8"))
    assert stored["properties"]["channel"] == {"type": "string"}


def test_register_with_explicit_version(capsys: pytest.CaptureFixture[str], schemas: Path) -> None:
    candidate = write_json(schemas / "_drafts" / "candidate.json", ORDER_V2)
    code, out, _ = run(
        capsys, "register", "orders", str(candidate), "--version", "v2.0.0",
        "--schemas", str(schemas),
    )  # fmt: skip
    assert code == 0 and "registered orders@2.0.0" in out
    assert (schemas / "orders" / "2.0.0.json").is_file()
    code, _, err = run(
        capsys, "register", "orders", str(candidate), "--version", "2.0.0",
        "--schemas", str(schemas),
    )  # fmt: skip
    assert code == 2
    assert_one_line_error(err, "already has version 2.0.0")
    code, _, err = run(
        capsys, "register", "orders", str(candidate), "--version", "1.5.0",
        "--schemas", str(schemas),
    )  # fmt: skip
    assert code == 2
    assert_one_line_error(err, "older than the latest version of 'orders' (2.0.0)")


def test_register_refuses_a_breaking_version(
    capsys: pytest.CaptureFixture[str], schemas: Path
) -> None:
    candidate = write_json(schemas / "_drafts" / "candidate.json", ORDER_NARROWED)
    before = sorted(p.name for p in (schemas / "orders").iterdir())
    code, out, _ = run(capsys, "register", "orders", str(candidate), "--schemas", str(schemas))
    assert code == 1
    assert "type_narrowed" in out and "refused" in out
    assert sorted(p.name for p in (schemas / "orders").iterdir()) == before


def test_register_under_mode_none_says_what_it_allows(
    capsys: pytest.CaptureFixture[str], schemas: Path
) -> None:
    (schemas / "orders" / "subject.yaml").write_text("mode: none\n", encoding="utf-8")
    unrelated = {"type": "object", "required": ["sku"], "properties": {"sku": {"type": "string"}}}
    candidate = write_json(schemas / "_drafts" / "unrelated.json", unrelated)
    code, out, _ = run(capsys, "register", "orders", str(candidate), "--schemas", str(schemas))
    assert code == 0 and "registered orders@" in out
    allowed = [line for line in out.splitlines() if line.startswith("allowed by mode none")]
    assert len(allowed) == 1, out
    pattern = r"allowed by mode none: [1-9]\d* breaking change\(s\) \(backward\)"
    assert re.search(pattern, allowed[0])


def test_register_new_subject_and_bad_file(
    capsys: pytest.CaptureFixture[str], schemas: Path
) -> None:
    candidate = write_json(schemas / "_drafts" / "candidate.json", ORDER_V1)
    code, _, err = run(capsys, "register", "refunds", str(candidate), "--schemas", str(schemas))
    assert code == 2  # a typo'd subject must not silently become a new one
    assert_one_line_error(err, "unknown subject 'refunds'", "--new-subject")
    assert not (schemas / "refunds").exists()
    code, out, _ = run(capsys, "register", "refunds", str(candidate), "--new-subject",
                       "--schemas", str(schemas))  # fmt: skip
    assert code == 0 and "registered refunds@1.0.0" in out
    code, _, err = run(capsys, "register", "refunds", str(candidate), "--new-subject",
                       "--schemas", str(schemas))  # fmt: skip
    assert code == 2
    assert_one_line_error(err, "already exists")
    bad = schemas.parent / "bad.json"
    bad.write_text("[1, 2", encoding="utf-8")
    code, _, err = run(capsys, "register", "refunds", str(bad), "--schemas", str(schemas))
    assert code == 2
    assert_one_line_error(err, "bad.json", "not valid JSON")
