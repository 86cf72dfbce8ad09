"""Rate limits are enforced before sending: Telegram's 20 per minute per channel and about
30 per second per bot, the per-target hourly caps; a post over a limit waits, never fails.

Time is a ManualClock shared by the worker, its global pacing and the fake Bot API's flood
control, so minutes pass in milliseconds and the fake server judges in the same time."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiogram import Bot

from services.clock import ManualClock
from storage.db import SessionFactory
from storage.models import PostStatus
from storage.uow import Database
from tests.fakes.telegram import FakeTelegram
from tests.reliability.support import (
    attempts,
    channel_id,
    delivered_texts,
    make_worker,
    seed_posts,
    status_counts,
)
from workers.policy import TokenBucket
from workers.scheduled_posts import RateLimits, ScheduledPostsWorker


def paced_by(clock: ManualClock) -> tuple[Callable[[], float], Callable[[float], Awaitable[None]]]:
    origin = clock.now()

    def monotonic() -> float:
        # Small exact numbers: a timestamp near 1.8e9 has only 0.2 µs of float resolution.
        return (clock.now() - origin).total_seconds()

    async def sleep(seconds: float) -> None:
        # The clock counts whole microseconds: never wake up before the time asked for.
        clock.advance(microseconds=math.ceil(seconds * 1_000_000))
        await asyncio.sleep(0)

    return monotonic, sleep


def max_in_window(times: list[float], seconds: float) -> int:
    times = sorted(times)
    best = 0
    start = 0
    for end, moment in enumerate(times):
        # A send exactly `seconds` before another has left its window (1 µs of float noise).
        while times[start] <= moment - seconds + 1e-6:
            start += 1
        best = max(best, end - start + 1)
    return best


async def drive(
    worker: ScheduledPostsWorker,
    clock: ManualClock,
    session_factory: SessionFactory,
    total: int,
) -> int:
    """Run the worker, jumping the clock to each next due time, until all are published."""
    for runs in range(1, 500):
        await worker.run_once()
        counts = await status_counts(session_factory)
        if counts.get(PostStatus.PUBLISHED, 0) == total:
            return runs
        assert set(counts) <= {PostStatus.PUBLISHED, PostStatus.SCHEDULED}, counts
        due = await worker.next_due_at()
        assert due is not None
        clock.set(max(due, clock.now()))
    raise AssertionError("the burst never finished")


async def test_burst_of_200_to_one_channel_never_exceeds_20_per_minute(
    uow: Database,
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    bot: Bot,
    clock: ManualClock,
) -> None:
    monotonic, sleep = paced_by(clock)
    fake_tg.clock = monotonic
    fake_tg.flood_limit_per_minute = 20
    fake_tg.global_limit_per_second = 30
    start = clock.now()
    # hourly_cap=0 on the target: only Telegram's own limits apply to this channel.
    seeded = await seed_posts(
        session_factory, 200, channels=1, due=start, fake_tg=fake_tg, hourly_cap=0
    )
    worker = make_worker(uow, bot, clock, limits=RateLimits(), monotonic=monotonic, sleep=sleep)

    await drive(worker, clock, session_factory, 200)

    sends = [t for t, chat in fake_tg.channel_log if chat == channel_id(0)]
    assert len(sends) == 200
    assert max_in_window(sends, 60.0) == 20
    assert fake_tg.too_many_requests == 0
    assert set(delivered_texts(fake_tg).values()) == {1}
    # Ten windows of twenty: the last one opens nine minutes after the first.
    assert clock.now() - start >= timedelta(minutes=9)
    # Deferred, never failed, and a deferral is no attempt.
    for post_id in seeded.post_ids[::20]:
        assert [(a.attempt, a.outcome) for a in await attempts(session_factory, post_id)] == [
            (1, "published")
        ]


async def test_global_pace_stays_under_30_per_second_across_channels(
    uow: Database,
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    bot: Bot,
    clock: ManualClock,
) -> None:
    monotonic, sleep = paced_by(clock)
    fake_tg.clock = monotonic
    fake_tg.global_limit_per_second = 30
    await seed_posts(session_factory, 150, channels=50, due=clock.now(), fake_tg=fake_tg)
    # One publication at a time: on the manual clock, a concurrent publication's rights
    # check would let others' pacing sleeps pass between its token and its send (network
    # jitter, magnified); bench/ measures the concurrent pace against the same fake server.
    worker = make_worker(
        uow,
        bot,
        clock,
        limits=RateLimits(),
        monotonic=monotonic,
        sleep=sleep,
        concurrency=1,
    )

    await drive(worker, clock, session_factory, 150)

    times = [t for t, _chat in fake_tg.channel_log]
    assert len(times) == 150
    assert max_in_window(times, 1.0) <= 30
    assert fake_tg.too_many_requests == 0
    # Paced, not stalled: 150 sends take about five seconds.
    assert times[-1] - times[0] < 6.0


async def test_token_bucket_spaces_sends_evenly() -> None:
    now = [0.0]
    moments: list[float] = []

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    bucket = TokenBucket(30, capacity=1, clock=lambda: now[0], sleep=sleep)
    for _ in range(90):
        await bucket.acquire()
        moments.append(now[0])
    assert max_in_window(moments, 1.0) <= 30
    assert moments[-1] - moments[0] < 3.0


async def test_hourly_caps_per_target_defer_and_later_publish(
    uow: Database,
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    bot: Bot,
    clock: ManualClock,
) -> None:
    monotonic, sleep = paced_by(clock)
    fake_tg.clock = monotonic
    start = clock.now()
    # Channel 0 has its own cap of 5 an hour; channel 1 the Telegram default of 30 an hour.
    await seed_posts(
        session_factory, 10, channels=1, due=start, fake_tg=fake_tg, hourly_cap=5, prefix="a"
    )
    await seed_posts(
        session_factory, 40, channels=1, due=start, fake_tg=fake_tg, prefix="b", channel_offset=1
    )
    worker = make_worker(uow, bot, clock, limits=RateLimits(), monotonic=monotonic, sleep=sleep)

    first = await worker.run_once()
    assert first.published == 5 + 20
    assert first.deferred == 5 + 20
    assert first.failed == 0
    counts = await status_counts(session_factory)
    assert counts == {PostStatus.PUBLISHED: 25, PostStatus.SCHEDULED: 25}

    await drive(worker, clock, session_factory, 50)
    capped = [t for t, chat in fake_tg.channel_log if chat == channel_id(0)]
    default = [t for t, chat in fake_tg.channel_log if chat == channel_id(1)]
    assert max_in_window(capped, 3600.0) == 5
    assert max_in_window(default, 3600.0) == 30
    assert max_in_window(default, 60.0) == 20
    assert capped[5] - capped[0] >= 3600.0


def test_default_caps_are_the_seeds_and_zero_turns_a_cap_off() -> None:
    limits = RateLimits()
    assert limits.hourly_caps == {"telegram": 30, "instagram": 25, "x": 300}
    assert [(w.seconds, w.limit) for w in limits.windows("telegram", None)] == [
        (60.0, 20),
        (3600.0, 30),
    ]
    assert [(w.seconds, w.limit) for w in limits.windows("telegram", 0)] == [(60.0, 20)]
    assert [(w.seconds, w.limit) for w in limits.windows("x", 50)] == [(3600.0, 50)]
    assert RateLimits(enabled=False).windows("telegram", None) == []
