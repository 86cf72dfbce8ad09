"""Both workers' run_once() against a real database and the fake Bot API."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiogram import Bot
from sqlalchemy import func, select

from platforms.base import PublisherRegistry
from platforms.telegram import TelegramPublisher
from services.clock import ManualClock
from storage.db import SessionFactory
from storage.models import AutoPostingRule, PostStatus, PublishAttempt, ScheduledPost, Target
from storage.uow import Database
from tests.conftest import CHANNEL_ID, USER_ID
from tests.fakes.telegram import FakeTelegram
from tests.foundation.helpers import get_post, make_channel, make_posts, make_rule
from workers.auto_posting import AutoPostingWorker
from workers.scheduled_posts import RateLimits, ScheduledPostsWorker


class RecordingNotifier:
    def __init__(self) -> None:
        self.events: list[tuple[str, tuple]] = []

    def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
        async def record(*args: object) -> None:
            self.events.append((name, args))

        return record


def posts_worker(
    db: Database, bot: Bot, clock: ManualClock, notifier: object = None
) -> ScheduledPostsWorker:
    registry = PublisherRegistry()
    registry.register(TelegramPublisher(bot))
    return ScheduledPostsWorker(
        db,
        registry,
        clock=clock,
        notifier=notifier,  # type: ignore[arg-type]
        limits=RateLimits(enabled=False),
    )


async def test_due_post_is_published_and_its_message_id_saved(
    uow: Database,
    session_factory: SessionFactory,
    bot: Bot,
    channel: Target,
    clock: ManualClock,
    fake_tg: FakeTelegram,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    (post,) = await make_posts(
        session_factory, USER_ID, channel, clock.now() + timedelta(minutes=1)
    )
    worker = posts_worker(uow, bot, clock)

    assert (await worker.run_once()).claimed == 0  # not due yet
    assert fake_tg.sent_to(CHANNEL_ID) == []

    clock.advance(minutes=1)
    report = await worker.run_once()

    assert report.published == 1
    (message,) = fake_tg.sent_to(CHANNEL_ID)
    assert message["text"] == "Hello"
    saved = await get_post(session_factory, post.id)
    assert saved.status == PostStatus.PUBLISHED
    assert saved.external_id == str(message["message_id"])
    assert saved.external_url == f"https://t.me/c/{str(CHANNEL_ID)[4:]}/{message['message_id']}"
    assert "Найдено 1 постов для публикации" in caplog.text
    assert f"Пост {post.id} успешно опубликован" in caplog.text
    assert await worker.run_once() == type(report)()  # nothing published twice


async def test_bot_kicked_from_channel_fails_post_with_reason_and_worker_goes_on(
    uow: Database,
    session_factory: SessionFactory,
    bot: Bot,
    channel: Target,
    clock: ManualClock,
    fake_tg: FakeTelegram,
) -> None:
    fake_tg.channels[CHANNEL_ID].members[7000000001] = {"status": "kicked"}
    (post,) = await make_posts(session_factory, USER_ID, channel, clock.now())
    notifier = RecordingNotifier()
    worker = posts_worker(uow, bot, clock, notifier)

    report = await worker.run_once()

    assert report.failed == 1
    saved = await get_post(session_factory, post.id)
    assert saved.status == PostStatus.FAILED
    assert "no longer an administrator" in (saved.last_error or "")
    assert ("post_failed", (USER_ID, post.id, saved.last_error)) in notifier.events
    assert any(name == "target_broken" for name, _ in notifier.events)
    async with session_factory() as session:
        attempts = (await session.scalars(select(PublishAttempt))).all()
        target = await session.get(Target, channel.id)
    assert [(a.outcome, a.post_id) for a in attempts] == [("permanent", post.id)]
    assert target is not None and target.status == "broken"

    # The worker keeps running: a later post to a healthy channel goes out.
    fake_tg.add_channel(-1009, "Other", owner=USER_ID)
    other = await make_channel(session_factory, USER_ID, -1009, "Other")
    (second,) = await make_posts(session_factory, USER_ID, other, clock.now())
    assert (await worker.run_once()).published == 1
    assert (await get_post(session_factory, second.id)).status == PostStatus.PUBLISHED


async def test_403_from_send_fails_post_at_once(
    uow: Database,
    session_factory: SessionFactory,
    bot: Bot,
    channel: Target,
    clock: ManualClock,
    fake_tg: FakeTelegram,
) -> None:
    from tests.fakes.telegram import Fault

    fake_tg.fail_next(
        "sendMessage", Fault(status=403, description="Forbidden: bot was kicked from the channel")
    )
    (post,) = await make_posts(session_factory, USER_ID, channel, clock.now())
    worker = posts_worker(uow, bot, clock)
    assert (await worker.run_once()).failed == 1
    saved = await get_post(session_factory, post.id)
    assert saved.status == PostStatus.FAILED
    assert "bot was kicked" in (saved.last_error or "")
    assert saved.attempts == 1


async def test_a_failing_run_does_not_stop_the_next(
    session_factory: SessionFactory, bot: Bot, channel: Target, clock: ManualClock
) -> None:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from workers.runner import WorkerRunner

    class Flaky:
        name = "ScheduledPostsWorker"
        calls = 0

        async def run_once(self) -> None:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("database unavailable")

        async def next_due_at(self) -> None:
            return None

    flaky = Flaky()
    runner = WorkerRunner(flaky, 60, AsyncIOScheduler())
    runner.stats.is_running = True
    await runner.run()
    await runner.run()
    assert flaky.calls == 2
    assert runner.stats.failed_runs == 1
    assert runner.stats.consecutive_failures == 0
    assert runner.stats.last_success is not None


async def test_seed_rule_creates_post_moves_next_run_and_counts(
    uow: Database,
    session_factory: SessionFactory,
    bot: Bot,
    channel: Target,
    fake_tg: FakeTelegram,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    moscow = ZoneInfo("Europe/Moscow")
    fire = datetime(2026, 12, 1, 12, 5, tzinfo=moscow).astimezone(UTC)
    clock = ManualClock(fire - timedelta(minutes=3))
    rule = await make_rule(session_factory, USER_ID, [channel], fire)
    worker = AutoPostingWorker(uow, clock=clock)

    assert (await worker.run_once()).due == 0
    clock.set(fire)
    report = await worker.run_once()

    assert report.succeeded == 1
    async with session_factory() as session:
        saved = await session.get(AutoPostingRule, rule.id)
        posts = (await session.scalars(select(ScheduledPost))).all()
    assert saved is not None
    assert saved.next_execution_at == datetime(2026, 12, 2, 12, 5, tzinfo=moscow)
    assert (saved.executions_count, saved.success_count, saved.failure_count) == (1, 1, 0)
    assert saved.last_executed_at == fire
    assert [(p.status, p.target_id, p.rule_id) for p in posts] == [
        (PostStatus.SCHEDULED, channel.id, rule.id)
    ]
    for line in (
        "Найдено 1 правил для выполнения",
        f"Выполнение правила {rule.id} 'Тестовое правило'",
        f"для правила {rule.id}",
        f"Правило {rule.id} успешно выполнено",
    ):
        assert line in caplog.text

    # The post it planned is published by the other worker.
    assert (await posts_worker(uow, bot, clock).run_once()).published == 1
    (message,) = fake_tg.sent_to(CHANNEL_ID)
    assert message["text"] == "<b>Ежедневный пост</b>\n\nПост о технологиях"
    # A second run at the same moment does nothing more.
    assert (await worker.run_once()).due == 0


async def test_rule_without_ai_brief_records_failure_and_keeps_schedule(
    uow: Database, session_factory: SessionFactory, channel: Target
) -> None:
    fire = datetime(2026, 12, 1, 9, 5, tzinfo=UTC)
    clock = ManualClock(fire)
    rule = await make_rule(
        session_factory,
        USER_ID,
        [channel],
        fire,
        content_config={"description": "Создай пост о технологиях"},
    )
    notifier = RecordingNotifier()
    report = await AutoPostingWorker(uow, clock=clock, notifier=notifier).run_once()
    assert report.failed == 1
    async with session_factory() as session:
        saved = await session.get(AutoPostingRule, rule.id)
        count = await session.scalar(select(func.count()).select_from(ScheduledPost))
    assert saved is not None and saved.failure_count == 1
    assert "AI is not configured" in (saved.last_error or "")
    assert saved.next_execution_at is not None and saved.next_execution_at > fire
    assert count == 0
    assert notifier.events[0][0] == "rule_failed"


async def test_rescheduling_a_draft_awaiting_approval_keeps_it_waiting(
    session_factory: SessionFactory, channel: Target, clock: ManualClock
) -> None:
    from storage.repositories import PostRepository

    (post,) = await make_posts(session_factory, USER_ID, channel, clock.now())
    async with session_factory() as session, session.begin():
        saved = await session.get(ScheduledPost, post.id)
        assert saved is not None
        saved.status = PostStatus.AWAITING_APPROVAL
    later = clock.now() + timedelta(hours=2)
    async with session_factory() as session, session.begin():
        assert await PostRepository(session).reschedule_for_owner(USER_ID, post.id, later)
    moved = await get_post(session_factory, post.id)
    assert (moved.status, moved.scheduled_time) == (PostStatus.AWAITING_APPROVAL, later)


async def test_posts_of_a_broken_target_wait_for_it_to_be_linked_again(
    uow: Database,
    session_factory: SessionFactory,
    bot: Bot,
    channel: Target,
    clock: ManualClock,
    fake_tg: FakeTelegram,
) -> None:
    from storage.repositories import PostRepository, TargetRepository

    (post,) = await make_posts(session_factory, USER_ID, channel, clock.now())
    async with session_factory() as session, session.begin():
        assert await TargetRepository(session).mark_broken(channel.id, "bot removed")
    worker = posts_worker(uow, bot, clock)

    assert (await worker.run_once()).claimed == 0
    async with session_factory() as session:
        # Nothing due for the wake-up either: it must not spin on a paused post.
        assert await PostRepository(session).next_due_at() is None
    assert (await get_post(session_factory, post.id)).status == PostStatus.SCHEDULED

    await make_channel(session_factory, USER_ID, CHANNEL_ID, "Tech")  # linked again
    assert (await worker.run_once()).published == 1
    assert len(fake_tg.sent_to(CHANNEL_ID)) == 1
