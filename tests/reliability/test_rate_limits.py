"""Rate limits are enforced before sending: Telegram's 20 per minute per channel and about
30 per second per bot, the per-target hourly caps; a post over a limit waits, never fails.

Time is a ManualClock shared by the worker, its global pacing and the fake Bot API's flood
control, so minutes pass in milliseconds and the fake server judges in the same time."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest
from aiogram import Bot
from sqlalchemy import select

from platforms.base import PublishError
from services.clock import ManualClock
from services.ratelimit import (
    TELEGRAM_GLOBAL,
    Limit,
    MemoryLimiter,
    telegram_chat_key,
    telegram_limits,
)
from storage.db import SessionFactory
from storage.models import PostStatus, ScheduledPost
from storage.uow import Database
from tests.fakes.telegram import FakeTelegram, Fault
from tests.reliability.support import (
    attempts,
    channel_id,
    delivered_texts,
    make_worker,
    seed_posts,
    status_counts,
)
from workers.policy import Pacer, RetryPolicy
from workers.scheduled_posts import RateLimits, ScheduledPostsWorker, is_rate_limited


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
    # One publication at a time: on the manual clock, the others' pacing sleeps would pass
    # while one writes its sending mark (see below).
    worker = make_worker(
        uow, bot, clock, limits=RateLimits(), monotonic=monotonic, sleep=sleep, concurrency=1
    )

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


async def test_the_pacer_spaces_sends_evenly() -> None:
    now = [0.0]
    moments: list[float] = []

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    def clock() -> float:
        return now[0]

    pacer = Pacer(MemoryLimiter(clock=clock, sleep=sleep), monotonic=clock, sleep=sleep)
    limits = telegram_limits(-1, channel=True, per_channel_per_minute=1000)
    for _ in range(90):
        assert (await pacer.slot(limits)).wait == 0.0
        moments.append(now[0])
    assert max_in_window(moments, 1.0) <= 30
    assert moments[-1] - moments[0] < 3.1  # 30 per 1.02 s


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
    # One publication at a time, as above: on the manual clock the other publications'
    # pacing sleeps would pass while one writes its sending mark.
    worker = make_worker(
        uow, bot, clock, limits=RateLimits(), monotonic=monotonic, sleep=sleep, concurrency=1
    )

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


async def test_a_429_pauses_the_channel_and_defers_without_using_an_attempt(
    uow: Database,
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    bot: Bot,
    clock: ManualClock,
) -> None:
    monotonic, sleep = paced_by(clock)
    fake_tg.clock = monotonic
    seeded = await seed_posts(session_factory, 4, channels=1, due=clock.now(), fake_tg=fake_tg)
    # With one attempt allowed, any 429 that counted as an attempt would fail a post.
    for _ in range(3):
        fake_tg.fail_next(
            "sendMessage",
            Fault(status=429, description="Too Many Requests: retry after 7", retry_after=7),
        )
    worker = make_worker(
        uow,
        bot,
        clock,
        limits=RateLimits(),
        retry=RetryPolicy(max_attempts=1, jitter=0.0),
        monotonic=monotonic,
        sleep=sleep,
        concurrency=1,
    )

    first = await worker.run_once()
    assert first.failed == 0 and first.rate_limited == 1
    # The channel is paused in the shared limiter for every process: its other posts wait.
    chat = [Limit(telegram_chat_key(channel_id(0)), 0, 60.0)]
    assert await worker.limiter.reserve(chat) == pytest.approx(7.0, abs=0.1)
    # A wait of several seconds is the channel's: the token's pace is not paused.
    assert await worker.limiter.reserve([Limit(TELEGRAM_GLOBAL, 0, 1.0)]) == 0.0
    assert (await status_counts(session_factory)) == {PostStatus.SCHEDULED: 4}

    await drive(worker, clock, session_factory, 4)
    assert set(delivered_texts(fake_tg).values()) == {1}
    async with session_factory() as session:
        rows = (await session.scalars(select(ScheduledPost.attempts))).all()
    assert set(rows) == {1}  # one real attempt each; the 429s were refunded
    history = [
        (a.attempt, a.outcome)
        for post_id in seeded.post_ids
        for a in await attempts(session_factory, post_id)
    ]
    # Each 429 is in the history, numbered as the attempt that then went through.
    assert sorted(history) == [(1, "published")] * 4 + [(1, "rate_limited")] * 3


async def test_a_short_429_pauses_the_whole_token(
    uow: Database,
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    bot: Bot,
    clock: ManualClock,
) -> None:
    monotonic, sleep = paced_by(clock)
    fake_tg.clock = monotonic
    await seed_posts(session_factory, 1, channels=1, due=clock.now(), fake_tg=fake_tg)
    fake_tg.fail_next(
        "sendMessage",
        Fault(status=429, description="Too Many Requests: retry after 1", retry_after=1),
    )
    worker = make_worker(
        uow, bot, clock, limits=RateLimits(), monotonic=monotonic, sleep=sleep, concurrency=1
    )
    report = await worker.run_once()
    assert (report.rate_limited, report.failed, report.retried) == (1, 0, 0)
    assert await worker.limiter.reserve([Limit(TELEGRAM_GLOBAL, 0, 1.0)]) == pytest.approx(
        1.0, abs=0.1
    )
    await drive(worker, clock, session_factory, 1)


def classify_x_error_429() -> PublishError:
    import aiohttp

    from platforms.x import classify_x_error

    exc = aiohttp.ClientResponseError(None, (), status=429)  # type: ignore[arg-type]
    return classify_x_error(exc, sent=True, now=0.0)


def classify_instagram_429() -> PublishError:
    from instagrapi import exceptions as ig

    from platforms.instagram import classify_instagram_error

    return classify_instagram_error(ig.ClientThrottledError("429 Too Many Requests"))


def classify_telegram_429() -> PublishError:
    from aiogram.exceptions import TelegramRetryAfter
    from aiogram.methods import SendMessage

    from platforms.telegram import classify_telegram_error

    method = SendMessage(chat_id=1, text="x")
    return classify_telegram_error(TelegramRetryAfter(method, "Flood control", 3))


@pytest.mark.parametrize(
    ("platform", "error"),
    [
        ("x", classify_x_error_429),
        ("instagram", classify_instagram_429),
        ("telegram", classify_telegram_429),
    ],
)
def test_every_platform_429_is_rate_limited_not_a_failure(
    platform: str, error: Callable[[], PublishError]
) -> None:
    mapped = error()
    assert is_rate_limited(mapped), (platform, mapped)
    assert mapped.retry_after is not None and mapped.retry_after > 0
