"""One writer per data directory, and the directory's instance id.

``DataDirLock`` holds an exclusive ``flock`` on ``<data dir>/lock`` for as long as the
process writes there (``evolvekit serve``, ``deadletters replay`` and ``purge``). A second
writer gets a ``DataDirBusy`` error naming the pid and command holding it, instead of both
running and every record being processed (and dead-lettered) twice. The kernel drops the
lock when the process exits, however it exits (``kill -9`` included), so a stale lock file
never blocks a restart: only a live holder counts.

``instance_id`` reads or creates ``<data dir>/instance-id``. Creation is atomic: the id is
written to a private temporary file (``O_EXCL``), flushed to disk (``fsync``), then linked
to the final name, which fails if another process got there first. ``link`` is the rename
that never overwrites: every racer ends up reading the same, complete id.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from pathlib import Path
from types import TracebackType

from evolvekit.errors import ConfigError

LOCK_FILE = "lock"
INSTANCE_FILE = "instance-id"


class DataDirBusy(ConfigError):
    """Another live process holds the data directory's lock."""


class DataDirLock:
    """An exclusive lock on a data directory, held until ``release()`` (or process exit)."""

    def __init__(self, data_dir: str | Path, purpose: str = "evolvekit") -> None:
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / LOCK_FILE
        self.purpose = purpose
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> DataDirLock:
        """Take the lock or raise DataDirBusy naming the holder (never waits)."""
        if self._fd is not None:
            return self
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise ConfigError(
                f"cannot lock the data directory: {exc.strerror}", file=str(self.path)
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise DataDirBusy(
                f"data directory {self.data_dir} is in use by {holder}; "
                "stop it first or use another --data-dir"
            ) from None
        # Ours now: say who holds it, for the next one who asks.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {self.purpose}\n".encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
            os.close(fd)  # closing the descriptor drops the flock

    def __enter__(self) -> DataDirLock:
        return self.acquire()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _read_holder(fd: int) -> str:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", errors="replace").strip()
    except OSError:
        text = ""
    pid, _, purpose = text.partition(" ")
    if not pid.isdigit():
        return "another process"
    return f"pid {pid} ({purpose or 'evolvekit'})"


def instance_id(data_dir: str | Path) -> str:
    """The data directory's random id, created once (atomically) on first use: idempotency
    keys of two services with different data directories never collide, and one service
    keeps its keys across restarts."""
    directory = Path(data_dir)
    path = directory / INSTANCE_FILE
    existing = _read_id(path)
    if existing:
        return existing
    directory.mkdir(parents=True, exist_ok=True)
    fresh = uuid.uuid4().hex[:12]
    temporary = directory / f".{INSTANCE_FILE}.{os.getpid()}.{uuid.uuid4().hex[:8]}"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, fresh.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(temporary, path)  # atomic, and never replaces a winner's id
        except FileExistsError:
            pass
        else:
            _fsync_dir(directory)
    except OSError as exc:
        raise ConfigError(
            f"cannot create the instance id: {exc.strerror}", file=str(path)
        ) from None
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink()
    winner = _read_id(path)
    if not winner:
        raise ConfigError("the instance id file is empty", file=str(path))
    return winner


def _read_id(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return ""
    except OSError as exc:
        raise ConfigError(f"cannot read the instance id: {exc.strerror}", file=str(path)) from None


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
