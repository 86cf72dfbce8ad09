"""Posts and rules run on their second, not on the next poll: beside the interval job
(60 s / 300 s here), WorkerRunner arms a one-off APScheduler job at the next due time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiogram import Bot
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.factory import LateWaker
from services.clock import SystemClock
from storage.db import SessionFactory
from storage.models import PostStatus, ScheduledPost, Target
from storage.repositories import RuleRepository
from storage.uow import Database
from tests.conftest import USER_ID
from tests.fakes.telegram import FakeTelegram
from tests.reliability.support import (
    channel_id,
    delivered_texts,
    make_worker,
    seed_posts,
    utcnow,
    wait_until_settled,
)
from workers import metrics
from workers.auto_posting import AutoPostingWorker
from workers.runner import WorkerGroup, WorkerRunner


@pytest.fixture
async def group(uow: Database, bot: Bot) -> AsyncIterator[tuple[WorkerGroup, LateWaker]]:
    clock = SystemClock()
    waker = LateWaker()
    scheduler = AsyncIOScheduler(timezone="UTC")
    posts = make_worker(uow, bot, clock)
    rules = AutoPostingWorker(uow, clock=clock, waker=waker)
    group = WorkerGroup(
        scheduler,
        [
            WorkerRunner(posts, 60, scheduler, clock=clock),
            WorkerRunner(rules, 300, scheduler, clock=clock),
        ],
    )
    group.start()
    waker.target = group
    try:
        # The first interval runs happen at start; after them the next polls are far away.
        for _ in range(100):
            if all(s.runs for s in group.stats()):
                break
            await asyncio.sleep(0.05)
        yield group, waker
    finally:
        group.shutdown()


def lateness_observations() -> float:
    return metrics.LATENESS.labels("telegram")._sum.get()  # type: ignore[attr-defined,no-any-return]


async def test_post_due_in_two_seconds_goes_out_on_time_not_at_the_next_poll(
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    group: tuple[WorkerGroup, LateWaker],
) -> None:
    workers, waker = group
    runner = workers.by_name("ScheduledPostsWorker")
    assert runner is not None
    poll = workers.scheduler.get_job("ScheduledPostsWorker").next_run_time
    before = lateness_observations()

    due = utcnow() + timedelta(seconds=2)
    seeded = await seed_posts(session_factory, 3, channels=1, due=due, fake_tg=fake_tg)
    waker.wake_posts()  # what the chat side does after saving a post

    # The wake-up is armed for the posts' own second, long before the next poll.
    wake = await fake_tg.wait_for(
        lambda: workers.scheduler.get_job(runner.wake_job_id), timeout=5, what="a wake-up job"
    )
    assert wake.next_run_time < poll
    assert abs((wake.next_run_time - due).total_seconds()) < 0.5
    await fake_tg.wait_for(lambda: runner.stats.processed == 3, timeout=10)
    assert delivered_texts(fake_tg) == {"post-0": 1, "post-1": 1, "post-2": 1}
    async with session_factory() as session:
        posts = [await session.get(ScheduledPost, pid) for pid in seeded.post_ids]
    assert all(p is not None and p.status == PostStatus.PUBLISHED for p in posts)
    for post in posts:
        assert post is not None and post.published_at is not None
        assert post.published_at >= post.scheduled_time  # never early
        assert post.published_at < poll  # by the wake-up, not the 60 s poll
    assert lateness_observations() > before  # recorded in the lateness histogram


async def test_rule_due_in_two_seconds_runs_and_its_post_goes_out_at_once(
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    group: tuple[WorkerGroup, LateWaker],
) -> None:
    workers, waker = group
    await seed_posts(session_factory, 0, channels=1, due=utcnow(), fake_tg=fake_tg)
    rule_poll = workers.scheduler.get_job("AutoPostingWorker").next_run_time
    due = utcnow() + timedelta(seconds=2)
    async with session_factory() as session, session.begin():
        target = await session.get(Target, 1)
        assert target is not None
        await RuleRepository(session).create(
            USER_ID,
            name="Daily",
            schedule_type="daily",
            schedule_config={"times": ["12:05"], "days_of_week": [1, 2, 3, 4, 5, 6, 7]},
            content_config={"text": "Rule post"},
            timezone="UTC",
            targets=[target],
            next_execution_at=due,
        )
    waker.wake_rules()

    await fake_tg.wait_for(lambda: fake_tg.sent_to(channel_id(0)), timeout=10)
    assert delivered_texts(fake_tg) == {"Rule post": 1}
    async with session_factory() as session:
        rule = await RuleRepository(session).get(1)
    assert rule is not None and rule.executions_count == 1
    assert rule.last_executed_at is not None
    assert due <= rule.last_executed_at < rule_poll


async def test_runner_arms_the_wake_up_for_the_next_due_post_after_each_run(
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    group: tuple[WorkerGroup, LateWaker],
) -> None:
    workers, _waker = group
    runner = workers.by_name("ScheduledPostsWorker")
    assert runner is not None
    due = utcnow() + timedelta(seconds=30)
    await seed_posts(session_factory, 1, channels=1, due=due, fake_tg=fake_tg)
    await runner.run()  # any run ends by arming the next wake-up
    job = workers.scheduler.get_job("ScheduledPostsWorker:wake")
    assert job is not None
    assert abs((job.next_run_time - due).total_seconds()) < 1
    # A later post never pushes an earlier wake-up back.
    await seed_posts(
        session_factory,
        1,
        channels=1,
        due=due + timedelta(seconds=20),
        fake_tg=fake_tg,
        channel_offset=1,
        prefix="later",
    )
    await runner.arm_wake()
    assert (
        abs(
            (
                workers.scheduler.get_job("ScheduledPostsWorker:wake").next_run_time - due
            ).total_seconds()
        )
        < 1
    )


async def test_posts_due_in_quick_succession_each_go_out_on_time(
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    group: tuple[WorkerGroup, LateWaker],
) -> None:
    """Each run re-arms the wake-up job from inside that job; a wake-up due at once must not
    be dropped as a second instance of a still-running job."""
    workers, waker = group
    poll = workers.scheduler.get_job("ScheduledPostsWorker").next_run_time
    seeded = await seed_posts(
        session_factory,
        20,
        channels=10,
        due=utcnow() + timedelta(seconds=1),
        spread=timedelta(seconds=1),
        fake_tg=fake_tg,
    )
    waker.wake_posts()

    await fake_tg.wait_for(lambda: len(delivered_texts(fake_tg)) == 20, timeout=15)
    await wait_until_settled(session_factory, 20, within=10)
    async with session_factory() as session:
        posts = [await session.get(ScheduledPost, pid) for pid in seeded.post_ids]
    for post in posts:
        assert post is not None and post.published_at is not None
        assert post.scheduled_time <= post.published_at < poll


async def test_wake_up_armed_from_inside_a_running_wake_up_is_not_dropped(
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    group: tuple[WorkerGroup, LateWaker],
) -> None:
    """A run re-arms the wake-up job under its own job id before that run has returned. A
    wake-up due at once must still fire (APScheduler skips a job whose previous instance is
    still running, unless it allows more than one)."""
    workers, _waker = group
    runner = workers.by_name("ScheduledPostsWorker")
    assert runner is not None
    poll = workers.scheduler.get_job("ScheduledPostsWorker").next_run_time
    seeded = await seed_posts(session_factory, 1, channels=1, due=utcnow(), fake_tg=fake_tg)

    async def wake_that_is_still_running() -> None:
        await runner.arm_wake()  # the post is due now: the new wake-up fires at once
        await asyncio.sleep(0.5)  # ...while this instance of the same job id still runs

    workers.scheduler.add_job(
        wake_that_is_still_running, id=runner.wake_job_id, replace_existing=True
    )
    await wait_until_settled(session_factory, 1, within=10)
    async with session_factory() as session:
        post = await session.get(ScheduledPost, seeded.post_ids[0])
    assert post is not None and post.published_at is not None and post.published_at < poll
