"""A blocking view of a cluster's dead letters, with the methods the ``deadletters`` commands
call on the single node's store, so every command (list, show, replay, purge) and its output
is the same with ``--redis URL``."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from datetime import timedelta
from types import TracebackType
from typing import Any

from evolvekit.cluster.connection import connect
from evolvekit.cluster.deadletters import RedisDeadLetters
from evolvekit.cluster.keys import Keys


class ClusterDeadLetterStore:
    """``with ClusterDeadLetterStore(url, name) as store: store.dead_letters()``."""

    def __init__(self, url: str, name: str = "evolvekit") -> None:
        self._runner = asyncio.Runner()
        self._client = connect(url)
        self._letters = RedisDeadLetters(self._client, Keys(name))

    def __enter__(self) -> ClusterDeadLetterStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._runner.run(self._client.aclose())
        self._runner.close()

    def dead_letters(
        self, limit: int | None = None, stage: str | None = None
    ) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._runner.run(self._letters.dead_letters(limit, stage))
        return result

    def get_dead_letter(self, letter_id: int) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self._runner.run(self._letters.get_dead_letter(letter_id))
        return result

    def dead_letter_count(self) -> int:
        return int(self._runner.run(self._letters.count()))

    def requeue_dead_letter(self, letter_id: int, event: Any, subject: str | None) -> int | None:
        result: int | None = self._runner.run(
            self._letters.requeue_dead_letter(letter_id, event, subject)
        )
        return result

    def purge(
        self, older_than: timedelta, kinds: Iterable[str] = ("dead_letters",)
    ) -> dict[str, int]:
        """Dead letters older than ``older_than``. The ingest stream has no finished records
        to purge (workers trim acknowledged entries), so ``ingest_log`` is always 0."""
        wanted = list(kinds)
        removed: dict[str, int] = {}
        if "dead_letters" in wanted:
            removed["dead_letters"] = int(self._runner.run(self._letters.purge(older_than)))
        if "ingest_log" in wanted:
            removed["ingest_log"] = 0
        return removed
