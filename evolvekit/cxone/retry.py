"""Retry arithmetic for talking to CXone: Retry-After, backoff with full jitter, pacing.

Pure: no I/O. Clocks and sleeps are injectable so tests need no real time.

- ``parse_retry_after`` reads the header in both forms HTTP allows (delta-seconds or an
  HTTP date); anything else is ``None`` so the caller falls back to backoff.
- ``backoff_delay`` is exponential backoff with *full* jitter (a uniform draw between zero
  and the exponential ceiling), which spreads retrying clients apart instead of syncing them.
- ``cap_delay`` bounds a server-requested wait and says whether it did, so callers can
  report "Retry-After of 3600 s capped to 60 s" instead of silently hanging for an hour.
- ``AdaptiveRateLimiter`` paces requests client-side: additive increase while answers are
  good, multiplicative decrease on 429 (AIMD), and it adopts a rate the server advertises.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def parse_retry_after(value: str | None, now: datetime | float | None = None) -> float | None:
    """Seconds to wait according to a ``Retry-After`` value, or ``None`` if unusable.

    ``now`` (a datetime or a POSIX timestamp; default: the current time) is the reference for
    the HTTP-date form. A date in the past means "retry now" (0.0).
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if math.isnan(seconds) or math.isinf(seconds):
            return None
        return max(0.0, seconds)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if now is None:
        reference = datetime.now(UTC)
    elif isinstance(now, datetime):
        reference = now if now.tzinfo else now.replace(tzinfo=UTC)
    else:
        reference = datetime.fromtimestamp(now, UTC)
    return max(0.0, (when - reference).total_seconds())


def backoff_delay(attempt: int, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Full-jitter exponential backoff: uniform in ``[0, min(cap, base * 2**(attempt-1))]``.

    ``attempt`` counts from 1 (the wait after the first failure).
    """
    if attempt < 1:
        raise ValueError("attempt counts from 1")
    exponent = min(attempt - 1, 62)  # keeps 2**exponent finite for absurd attempt numbers
    ceiling = min(cap, base * (2.0**exponent))
    draw = (rng or random).random()
    return max(0.0, ceiling * draw)


@dataclass(frozen=True)
class CappedDelay:
    """A wait after capping: ``seconds`` to sleep, what was ``requested``, whether ``capped``."""

    seconds: float
    requested: float
    capped: bool


def cap_delay(requested: float, cap: float) -> CappedDelay:
    """Bound ``requested`` by ``cap``, remembering whether the cap applied."""
    if requested > cap:
        return CappedDelay(cap, requested, True)
    return CappedDelay(max(0.0, requested), requested, False)


Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class AdaptiveRateLimiter:
    """Client-side pacing (AIMD) shared by concurrent senders on one event loop.

    ``acquire()`` hands out evenly spaced send slots at the current ``rate`` (requests per
    second). ``on_success()`` doubles the rate every second until the first 429 (slow start),
    then climbs back quickly to the rate a 429 interrupted (closing ``recovery`` of the gap
    per second: half of it in 0.35 s at the default 2.0) and from there probes upwards by
    ``probe_share`` of the rate per second, at most ``increase`` per second.
    ``on_throttle()`` cuts it (see there) at most once per ``cooldown`` seconds, because one
    overload shows up as a burst of 429s from all the requests already in flight. The cut
    drains the server's bucket; the quick climb back keeps the drain short, where a plain
    additive climb from half the limit would spend tens of seconds well under it.
    ``advertise(limit)`` adopts a limit the server states (``X-RateLimit-Limit``) as a
    ceiling, and jumps straight to it the first time, so a server that states its limit is
    never probed by overshooting.
    """

    def __init__(
        self,
        rate: float = 50.0,
        *,
        min_rate: float = 1.0,
        max_rate: float = 10_000.0,
        increase: float = 10.0,
        decrease: float = 0.5,
        recovery: float = 2.0,
        probe_share: float = 0.02,
        cooldown: float = 0.25,
        headroom: float = 0.98,
        catch_up: float = 0.2,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not 0 < min_rate <= max_rate:
            raise ValueError("need 0 < min_rate <= max_rate")
        if not 0 < decrease < 1:
            raise ValueError("decrease must be between 0 and 1")
        self.min_rate = min_rate
        self.max_rate = max_rate
        self.increase = increase
        self.decrease = decrease
        self.recovery = recovery
        self.probe_share = probe_share
        self.cooldown = cooldown
        self.headroom = headroom
        self.catch_up = catch_up
        self._rate = min(max(rate, min_rate), max_rate)
        self._clock = clock
        self._sleep = sleep
        self._next_slot = clock()
        self._last_decrease = -math.inf
        self.throttle_events = 0
        self.advertised: float | None = None
        self.recover_to: float | None = None  # the rate the last cut interrupted
        self._accepted: deque[float] = deque()  # success times within the last cooldown

    @property
    def rate(self) -> float:
        return self._rate

    async def acquire(self) -> float:
        """Wait for the next send slot; returns the seconds waited."""
        now = self._clock()
        # Slots missed while the senders were busy may be caught up, but only ``catch_up``
        # seconds' worth: the average stays at ``rate`` and the bursts stay small.
        slot = max(self._next_slot, now - self.catch_up)
        self._next_slot = slot + 1.0 / self._rate
        wait = slot - now
        if wait <= 0:
            return 0.0
        await self._sleep(wait)
        return wait

    def on_success(self) -> None:
        now = self._clock()
        self._accepted.append(now)
        self._forget_before(now - self.cooldown)
        if self.throttle_events == 0:
            # Slow start (as TCP): +1 per success doubles the rate every second until the
            # first 429 shows where the server's limit is.
            self._rate = min(self.max_rate, self._rate + 1.0)
        else:
            # Per success 1/rate of a second passes, so dividing per-second amounts by the
            # rate adds, per second, the probe and ``recovery`` of the gap to ``recover_to``
            # (never past it). ``recover_to`` is set by the 429 that ended slow start.
            gap = max(0.0, (self.recover_to or 0.0) - self._rate)
            probe = min(self.increase, self.probe_share * self._rate)
            step = probe / self._rate + min(gap, self.recovery * gap / self._rate)
            self._rate = min(self.max_rate, self._rate + step)

    def on_throttle(self) -> bool:
        """Slow down after a 429; returns True when the rate was actually lowered.

        While a server throttles, what it still accepts *is* its limit, so the new rate is
        the lower of ``rate * decrease`` and (slightly under) the rate accepted over the last
        ``cooldown`` seconds. The second term undoes a slow-start overshoot within a
        ``cooldown`` or two, where halving alone would take several rounds of 429s.
        ``recover_to``, where ``on_success`` climbs back to, is the lower of the rate before
        the cut and that accepted rate.
        """
        self.throttle_events += 1
        now = self._clock()
        if now - self._last_decrease < self.cooldown:
            return False
        self._last_decrease = now
        self._forget_before(now - self.cooldown)
        before = self._rate
        lowered = before * self.decrease
        if self._accepted:
            accepted = self.headroom * len(self._accepted) / self.cooldown
            before, lowered = min(before, accepted), min(lowered, accepted)
        self.recover_to = before
        self._rate = max(self.min_rate, lowered)
        return True

    def _forget_before(self, cutoff: float) -> None:
        accepted = self._accepted
        while accepted and accepted[0] < cutoff:
            accepted.popleft()

    def advertise(self, limit: float) -> None:
        """The server says it allows ``limit`` requests per second."""
        if limit <= 0 or math.isnan(limit) or math.isinf(limit):
            return
        ceiling = max(self.min_rate, limit * self.headroom)
        if self.advertised is None:
            self._rate = ceiling  # first word from the server: start at its limit
        self.advertised = limit
        self.max_rate = ceiling
        self._rate = min(self._rate, self.max_rate)
