from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evolvekit.cxone.retry import (
    AdaptiveRateLimiter,
    CappedDelay,
    backoff_delay,
    cap_delay,
    parse_retry_after,
)

NOW = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("5", 5.0),
        (" 0 ", 0.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        ("", None),
        (None, None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_parse_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, NOW) == expected


def test_parse_retry_after_http_date() -> None:
    later = format_datetime(NOW + timedelta(seconds=90), usegmt=True)
    assert parse_retry_after(later, NOW) == pytest.approx(90.0)
    assert parse_retry_after(later, NOW.timestamp()) == pytest.approx(90.0)
    earlier = format_datetime(NOW - timedelta(hours=1), usegmt=True)
    assert parse_retry_after(earlier, NOW) == 0.0


@settings(max_examples=60)
@given(
    attempt=st.integers(1, 80),
    base=st.floats(0, 10),
    cap=st.floats(0, 100),
    seed=st.integers(0, 2**32),
)
def test_backoff_is_full_jitter_within_the_exponential_ceiling(
    attempt: int, base: float, cap: float, seed: int
) -> None:
    delay = backoff_delay(attempt, base, cap, random.Random(seed))
    assert 0.0 <= delay <= min(cap, base * 2 ** min(attempt - 1, 62)) + 1e-9


def test_backoff_spreads_and_grows() -> None:
    rng = random.Random(7)
    first = [backoff_delay(1, 1.0, 100.0, rng) for _ in range(200)]
    fifth = [backoff_delay(5, 1.0, 100.0, rng) for _ in range(200)]
    assert max(first) <= 1.0 and max(fifth) > 8.0
    assert len({round(d, 6) for d in fifth}) > 150  # jittered, not synchronised
    with pytest.raises(ValueError):
        backoff_delay(0, 1.0, 1.0)


def test_cap_delay_reports_when_applied() -> None:
    capped = cap_delay(3600, 60)
    assert (capped.seconds, capped.requested, capped.capped) == (60, 3600, True)
    under = cap_delay(5, 60)
    assert (under.seconds, under.requested, under.capped) == (5, 5, False)
    at_cap = cap_delay(60, 60)  # exactly the cap: not reported as capped
    assert (at_cap.seconds, at_cap.requested, at_cap.capped) == (60, 60, False)


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


async def test_limiter_paces_evenly() -> None:
    t = FakeTime()
    limiter = AdaptiveRateLimiter(10.0, clock=t.clock, sleep=t.sleep)
    for _ in range(11):
        await limiter.acquire()
    assert t.now == pytest.approx(1.0)


async def test_limiter_catches_up_only_a_little_after_a_stall() -> None:
    t = FakeTime()
    limiter = AdaptiveRateLimiter(10.0, catch_up=0.2, clock=t.clock, sleep=t.sleep)
    await limiter.acquire()
    t.now = 10.0  # the senders were busy for ten seconds: 100 slots went unused
    waits = [await limiter.acquire() for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]  # 0.2 s worth of slots caught up at once ...
    assert waits[3] == pytest.approx(0.1) and waits[4] == pytest.approx(0.1)  # ... no more


async def test_limiter_aimd() -> None:
    t = FakeTime()
    limiter = AdaptiveRateLimiter(
        100.0, decrease=0.9, cooldown=1.0, increase=10.0, clock=t.clock, sleep=t.sleep
    )
    for _ in range(50):  # slow start: +1 per success
        limiter.on_success()
    assert limiter.rate == pytest.approx(150.0)
    t.now = 2.0  # nothing accepted within the last cooldown: plain multiplicative decrease
    assert limiter.on_throttle() is True
    assert limiter.rate == pytest.approx(135.0)
    # The other in-flight 429s of the same overload do not compound the decrease.
    assert limiter.on_throttle() is False
    assert limiter.rate == pytest.approx(135.0)
    assert limiter.recover_to == pytest.approx(150.0)  # the rate the 429 interrupted
    t.now = 3.0
    for _ in range(100):  # back towards 150 quickly: most of the gap in 0.7 s of successes
        limiter.on_success()
    assert 146.0 < limiter.rate < 149.0
    t.now = 3.5  # only 100 accepted in the last second: that is where the limit is
    assert limiter.on_throttle() is True
    assert limiter.rate == pytest.approx(0.98 * 100)
    assert limiter.recover_to == pytest.approx(0.98 * 100)  # not the 147 it was sending at


def test_limiter_probes_slowly_past_the_rate_a_429_interrupted() -> None:
    t = FakeTime()
    limiter = AdaptiveRateLimiter(
        400.0, increase=10.0, probe_share=0.02, clock=t.clock, sleep=t.sleep
    )
    limiter.on_throttle()  # nothing accepted yet: halve, and remember 400
    assert (limiter.rate, limiter.recover_to) == (200.0, 400.0)
    for _ in range(1000):  # about 3 s: the gap closed (and 2% a second of probing on top)
        limiter.on_success()
    assert 400.0 < limiter.rate < 410.0
    start = limiter.rate
    for _ in range(400):  # about a second's worth: + min(increase, 2% of the rate)
        limiter.on_success()
    assert limiter.rate - start == pytest.approx(8.0, abs=0.1)
    slow = AdaptiveRateLimiter(50.0, increase=10.0, probe_share=0.02)
    slow.on_throttle()
    for _ in range(1000):
        slow.on_success()
    before = slow.rate
    for _ in range(50):  # a low limit is probed at 2% of it a second, not +10 (20%)
        slow.on_success()
    assert slow.rate - before == pytest.approx(1.0, abs=0.05)


def test_limiter_adopts_an_advertised_limit() -> None:
    limiter = AdaptiveRateLimiter(50.0, headroom=0.98)
    limiter.advertise(500.0)
    assert limiter.rate == pytest.approx(490.0)
    for _ in range(100):
        limiter.on_success()
    assert limiter.rate == pytest.approx(490.0)  # never probes above what the server allows
    limiter.advertise(float("nan"))
    assert limiter.rate == pytest.approx(490.0)
    with pytest.raises(ValueError):
        AdaptiveRateLimiter(decrease=1.5)


def test_parse_retry_after_dates_without_a_zone_are_utc() -> None:
    # "-0000" is RFC 5322's "no zone information": parsed naive, read as UTC
    later = format_datetime((NOW + timedelta(seconds=90)).replace(tzinfo=None))
    assert later.endswith("-0000")
    assert parse_retry_after(later, NOW) == pytest.approx(90.0)
    # a naive reference time is UTC too
    gmt = format_datetime(NOW + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(gmt, NOW.replace(tzinfo=None)) == pytest.approx(30.0)
    assert parse_retry_after(later, NOW.replace(tzinfo=None)) == pytest.approx(90.0)
    # an aware reference in another zone is the same instant, not re-labelled as UTC
    paris = NOW.astimezone(timezone(timedelta(hours=2)))
    assert parse_retry_after(gmt, paris) == pytest.approx(30.0)


class FixedDraw(random.Random):
    def random(self) -> float:
        return 0.5


def test_backoff_uses_the_given_generator_and_bounds_the_exponent() -> None:
    assert backoff_delay(3, 1.0, 100.0, FixedDraw()) == 2.0  # half of 1 * 2**2
    # the exponent stops at 62, whatever the attempt number
    assert backoff_delay(10_000, 1.0, math.inf, FixedDraw()) == 2.0**61
    with pytest.raises(ValueError, match=r"^attempt counts from 1$"):
        backoff_delay(0, 1.0, 1.0)


def test_cap_delay_bounds() -> None:
    assert cap_delay(0.5, 60) == CappedDelay(0.5, 0.5, False)
    assert cap_delay(-3, 60) == CappedDelay(0.0, -3, False)  # never a negative sleep
    assert cap_delay(60.5, 60) == CappedDelay(60, 60.5, True)


def test_limiter_defaults_and_argument_checks() -> None:
    limiter = AdaptiveRateLimiter()
    assert (limiter.rate, limiter.min_rate, limiter.max_rate) == (50.0, 1.0, 10_000.0)
    assert (limiter.increase, limiter.decrease, limiter.cooldown) == (10.0, 0.5, 0.25)
    assert (limiter.recovery, limiter.probe_share, limiter.recover_to) == (2.0, 0.02, None)
    assert (limiter.headroom, limiter.catch_up) == (0.98, 0.2)
    assert (limiter.throttle_events, limiter.advertised) == (0, None)
    assert AdaptiveRateLimiter(5.0, min_rate=5.0, max_rate=5.0).rate == 5.0  # equal bounds: ok
    for bad in ({"min_rate": 0.0}, {"min_rate": 3.0, "max_rate": 2.0}):
        with pytest.raises(ValueError, match=r"^need 0 < min_rate <= max_rate$"):
            AdaptiveRateLimiter(**bad)
    for decrease in (0.0, 1.0):
        with pytest.raises(ValueError, match=r"^decrease must be between 0 and 1$"):
            AdaptiveRateLimiter(decrease=decrease)


async def test_limiter_does_not_sleep_when_the_slot_is_now() -> None:
    t = FakeTime()
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await t.sleep(seconds)

    limiter = AdaptiveRateLimiter(10.0, clock=t.clock, sleep=sleep)
    assert await limiter.acquire() == 0.0
    assert slept == []
    assert await limiter.acquire() == pytest.approx(0.1)
    assert slept == [pytest.approx(0.1)]


def test_limiter_cooldown_bound_and_min_rate_floor() -> None:
    t = FakeTime()
    limiter = AdaptiveRateLimiter(100.0, min_rate=20.0, decrease=0.5, cooldown=1.0,
                                  clock=t.clock, sleep=t.sleep)  # fmt: skip
    for _ in range(10):  # accepted at t=0: exactly one cooldown before the throttle below
        limiter.on_success()
    t.now = 1.0
    assert limiter.on_throttle() is True
    # 0.98 * 10 accepted / 1 s = 9.8 (the success at the cutoff still counts), floored at 20
    assert limiter.rate == 20.0
    assert limiter.throttle_events == 1
    t.now = 1.5
    assert limiter.on_throttle() is False  # within the cooldown: counted, not applied
    assert limiter.throttle_events == 2
    t.now = 2.0
    assert limiter.on_throttle() is True  # exactly one cooldown later: applied again
    assert limiter.throttle_events == 3


def test_limiter_counts_successes_at_the_window_edge() -> None:
    t = FakeTime()
    limiter = AdaptiveRateLimiter(100.0, min_rate=1.0, decrease=0.5, cooldown=1.0,
                                  clock=t.clock, sleep=t.sleep)  # fmt: skip
    for _ in range(10):
        limiter.on_success()
    t.now = 1.0
    limiter.on_throttle()
    assert limiter.rate == pytest.approx(9.8)


def test_limiter_ignores_a_non_positive_limit_and_records_a_small_one() -> None:
    limiter = AdaptiveRateLimiter(50.0, min_rate=1.0)
    limiter.advertise(0.0)
    assert (limiter.rate, limiter.advertised) == (50.0, None)
    limiter.advertise(0.5)  # below min_rate: recorded, the rate floors at min_rate
    assert (limiter.rate, limiter.advertised, limiter.max_rate) == (1.0, 0.5, 1.0)
    limiter.advertise(500.0)
    assert limiter.advertised == 500.0


def test_parse_retry_after_defaults_to_the_current_time() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    wait = parse_retry_after(later)  # the reference is "now": about an hour, never negative
    assert wait is not None and 3000.0 < wait <= 3600.0
