"""One writer per data directory, and one instance id however many processes race for it."""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from evolvekit.cli.main import main
from evolvekit.pipeline.datadir import DataDirBusy, DataDirLock, instance_id
from evolvekit.pipeline.ingest_log import IngestLog

from ..support.servers import serve_command
from .test_crash import start_serve

RACERS = 40


def _race_for_id(data_dir: str, barrier: Any, out: Any) -> None:
    barrier.wait(timeout=60)
    out.put(instance_id(data_dir))


def test_racing_processes_on_a_fresh_directory_get_one_id(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(RACERS)
    results = context.Queue()
    fresh = tmp_path / "fresh"
    processes = [
        context.Process(target=_race_for_id, args=(str(fresh), barrier, results))
        for _ in range(RACERS)
    ]
    for process in processes:
        process.start()
    ids = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    assert len(set(ids)) == 1, ids
    assert (fresh / "instance-id").read_text() == ids[0]
    assert [p.name for p in fresh.iterdir()] == ["instance-id"]  # no temporary left behind


def test_the_lock_names_its_holder_and_dies_with_it(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from evolvekit.pipeline.datadir import DataDirLock\n"
            f"lock = DataDirLock({str(tmp_path)!r}, 'holder test').acquire()\n"
            "print('locked', flush=True); sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(DataDirBusy, match=rf"in use by pid {holder.pid} \(holder test\)"):
            DataDirLock(tmp_path).acquire()
    finally:
        holder.kill()  # like kill -9: the kernel drops the flock
        holder.wait()
    with DataDirLock(tmp_path) as lock:
        assert lock.held
        assert (tmp_path / "lock").read_text().split()[0] == str(os.getpid())
    assert not lock.held


def test_two_locks_in_one_process_exclude_each_other(tmp_path: Path) -> None:
    with (
        DataDirLock(tmp_path, "first"),
        pytest.raises(DataDirBusy, match=rf"pid {os.getpid()} \(first\)"),
    ):
        DataDirLock(tmp_path).acquire()
    DataDirLock(tmp_path).acquire().release()


def test_a_second_serve_on_the_same_directory_exits_2_naming_the_holder(
    tmp_path: Path, simulator_process: str
) -> None:
    data = tmp_path / "data"
    first, _ = start_serve(data, simulator_process, tmp_path / "first.log")
    try:
        second = subprocess.run(
            serve_command(data, simulator=simulator_process),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 2, second.stderr
        [line] = second.stderr.strip().splitlines()
        assert f"in use by pid {first.pid} (evolvekit serve)" in line
        assert "ready" not in second.stdout
        # Writing dead-letter commands are refused too; reading ones still work.
        for action in (["replay"], ["purge", "--all"]):
            replay = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "evolvekit",
                    "deadletters",
                    *action,
                    "--data-dir",
                    str(data),
                ],
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert replay.returncode == 2 and f"pid {first.pid}" in replay.stderr
        listing = subprocess.run(
            [sys.executable, "-m", "evolvekit", "deadletters", "list", "--data-dir", str(data)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert listing.returncode == 0, listing.stderr
    finally:
        first.terminate()
        first.wait(timeout=60)


def test_replay_takes_the_lock(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with IngestLog(tmp_path) as store:
        store.dead_letter("migrate", "no rule", {"eventType": "x"}, "x", "1.0.0")
    with DataDirLock(tmp_path, "evolvekit serve"):
        assert main(["deadletters", "purge", "--all", "--data-dir", str(tmp_path)]) == 2
        assert "in use by pid" in capsys.readouterr().err
        assert main(["deadletters", "replay", "--dry-run", "--data-dir", str(tmp_path)]) == 1
    assert main(["deadletters", "purge", "--all", "--data-dir", str(tmp_path)]) == 0
