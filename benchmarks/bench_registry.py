"""Registry listing and loading over a few hundred files vs a plain read-everything baseline.

Writes 30 subjects x 10 versions that all $ref one shared file into a temporary folder, then
times (a) SchemaRegistry listing the versions, (b) SchemaRegistry loading and checking every
version, and (c) the baseline: json.loads of every file with no checks and no cache. Prints
the times and the ratio of (b) to (c): the price of the registry's checks.

    python benchmarks/bench_registry.py [--subjects 30] [--versions 10]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from evolvekit.schema.registry import SchemaRegistry


def build(root: Path, subjects: int, versions: int) -> None:
    defs = root / "_defs"
    defs.mkdir(parents=True)
    (defs / "c.json").write_text(json.dumps({"$defs": {"s": {"type": "string"}}}))
    for subject in range(subjects):
        folder = root / f"subj{subject}"
        folder.mkdir()
        for minor in range(versions):
            props = {"a": {"$ref": "../_defs/c.json#/$defs/s"}, "n": {"type": "integer"}}
            (folder / f"1.{minor}.0.json").write_text(json.dumps({"properties": props}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=30)
    parser.add_argument("--versions", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        build(root, args.subjects, args.versions)
        start = time.perf_counter()
        reg = SchemaRegistry(root)
        total = sum(len(reg.versions(s)) for s in reg.subjects())
        listed = time.perf_counter() - start
        for subject in reg.subjects():
            for version in reg.versions(subject):
                reg.get(subject, version)
        loaded = time.perf_counter() - start
        start = time.perf_counter()
        for path in root.rglob("*.json"):
            json.loads(path.read_bytes())
        baseline = time.perf_counter() - start
    print(f"{total} versions: listed in {listed * 1000:.1f} ms, loaded+checked in "
          f"{loaded * 1000:.1f} ms; baseline json.loads of every file {baseline * 1000:.1f} ms; "
          f"ratio registry/baseline {loaded / baseline:.1f}x")


if __name__ == "__main__":
    main()
