"""Unlinking keeps history (issue 11, "History kept") and the owner's own right to post is
re-checked before publishing (issue 11, "Rights"), against a real database and the fake
Bot API."""

from __future__ import annotations

from datetime import timedelta

from aiogram import Bot
from sqlalchemy import select

from bot.notifier import TelegramNotifier
from handlers.i18n import create_i18n
from platforms.base import PublisherRegistry
from platforms.errors import ErrorCode
from platforms.telegram import TelegramPublisher
from services.clock import ManualClock
from services.rule_posts import usable_targets
from services.targets import TargetService
from storage.db import SessionFactory
from storage.models import AutoPostingRule, PostStatus, ScheduledPost, Target, TargetStatus
from storage.repositories import (
    PostRepository,
    RuleRepository,
    TargetRepository,
    UserRepository,
)
from storage.uow import Database
from tests.conftest import CHANNEL_ID, USER_ID
from tests.fakes.telegram import FakeTelegram
from tests.foundation.helpers import get_post, make_posts, make_rule
from workers.auto_posting import AutoPostingWorker
from workers.scheduled_posts import RateLimits, ScheduledPostsWorker


def posts_worker(db: Database, bot: Bot, clock: ManualClock) -> ScheduledPostsWorker:
    registry = PublisherRegistry()
    registry.register(TelegramPublisher(bot))
    notifier = TelegramNotifier(bot, db, create_i18n("en"), clock=clock)
    return ScheduledPostsWorker(
        db, registry, clock=clock, notifier=notifier, limits=RateLimits(enabled=False)
    )


async def set_status(factory: SessionFactory, post: ScheduledPost, status: str) -> None:
    async with factory() as session, session.begin():
        row = await session.get(ScheduledPost, post.id)
        assert row is not None
        row.status = status


# ---------- history kept ----------


async def test_unlink_keeps_history_cancels_waiting_posts_and_relink_restores(
    uow: Database, session_factory: SessionFactory, channel: Target, clock: ManualClock
) -> None:
    when = clock.now() + timedelta(hours=1)
    statuses = [
        PostStatus.PUBLISHED,
        PostStatus.FAILED,
        PostStatus.UNKNOWN,
        PostStatus.SCHEDULED,
        PostStatus.AWAITING_APPROVAL,
    ]
    posts = await make_posts(session_factory, USER_ID, channel, when, count=len(statuses))
    for post, status in zip(posts, statuses, strict=True):
        await set_status(session_factory, post, status)
    rule = await make_rule(session_factory, USER_ID, [channel], when, name="Daily digest")
    targets = TargetService(uow, clock)

    unlinked = await targets.unlink(USER_ID, channel.id)

    assert unlinked is not None
    assert (unlinked.cancelled_posts, unlinked.rule_names) == (2, ["Daily digest"])
    kept = [(await get_post(session_factory, p.id)) for p in posts]
    assert [p.status for p in kept] == [
        PostStatus.PUBLISHED,
        PostStatus.FAILED,
        PostStatus.UNKNOWN,
        PostStatus.CANCELLED,
        PostStatus.CANCELLED,
    ]
    assert [p.error_code for p in kept[3:]] == [ErrorCode.TARGET_UNLINKED] * 2
    # Gone from everything the chat offers; the post history still names it.
    assert await targets.list(USER_ID) == []
    assert await targets.get(USER_ID, channel.id) is None
    assert await targets.get_many(USER_ID, [channel.id]) == []
    assert await targets.unlink(USER_ID, channel.id) is None
    async with session_factory() as session:
        history, total = await PostRepository(session).list_for_owner(USER_ID)
        rule_row = await RuleRepository(session).get_for_owner(USER_ID, rule.id)
    assert total == len(statuses)
    assert {target.title for _post, _content, target in history} == {"Tech"}
    assert rule_row is not None and rule_row.targets == []

    relinked = await targets.link(USER_ID, "telegram", str(CHANNEL_ID), "Tech again")

    assert relinked.id == channel.id and relinked.deleted_at is None
    assert [t.id for t in await targets.list(USER_ID)] == [channel.id]
    async with session_factory() as session:
        history, total = await PostRepository(session).list_for_owner(USER_ID)
    assert total == len(statuses)
    assert {post.target_id for post, _content, _target in history} == {channel.id}


async def test_an_unlinked_target_is_never_published_to_nor_retried(
    uow: Database,
    session_factory: SessionFactory,
    bot: Bot,
    channel: Target,
    clock: ManualClock,
    fake_tg: FakeTelegram,
) -> None:
    failed, waiting = await make_posts(session_factory, USER_ID, channel, clock.now(), count=2)
    await set_status(session_factory, failed, PostStatus.FAILED)
    await TargetService(uow, clock).unlink(USER_ID, channel.id)
    # Even a row that is somehow still scheduled (written in a race) stays unsent.
    await set_status(session_factory, waiting, PostStatus.SCHEDULED)
    assert not await posts_repository_retry(session_factory, failed.id, clock)
    report = await posts_worker(uow, bot, clock).run_once()

    assert report.claimed == 0
    assert fake_tg.sent_to(CHANNEL_ID) == []
    assert (await get_post(session_factory, failed.id)).status == PostStatus.FAILED


async def posts_repository_retry(
    factory: SessionFactory, post_id: int, clock: ManualClock
) -> bool:
    async with factory() as session, session.begin():
        return await PostRepository(session).reschedule_for_owner(USER_ID, post_id, clock.now())


# ---------- the owner's right, re-checked before publishing ----------


async def test_a_removed_owners_posts_are_not_sent_the_owner_is_told_once_and_relink_resumes(
    uow: Database,
    session_factory: SessionFactory,
    bot: Bot,
    channel: Target,
    clock: ManualClock,
    fake_tg: FakeTelegram,
) -> None:
    async with session_factory() as session, session.begin():
        await UserRepository(session).set_language(USER_ID, "ru")
    posts = await make_posts(session_factory, USER_ID, channel, clock.now(), count=2)
    rule = await make_rule(session_factory, USER_ID, [channel], clock.now())
    fake_tg.set_member(CHANNEL_ID, USER_ID, "left")  # the owner was removed from the channel
    worker = posts_worker(uow, bot, clock)

    await worker.run_once()
    await worker.run_once()

    assert fake_tg.sent_to(CHANNEL_ID) == []
    for post in posts:
        saved = await get_post(session_factory, post.id)
        assert (saved.status, saved.attempts) == (PostStatus.SCHEDULED, 0)  # waiting, unsent
    async with session_factory() as session:
        target = await session.get(Target, channel.id)
        rule_row = await session.get(AutoPostingRule, rule.id)
    assert target is not None and target.status == TargetStatus.BROKEN
    assert target.error_code == ErrorCode.OWNER_LOST_RIGHTS
    told = [m["text"] for m in fake_tg.sent_to(USER_ID)]
    assert len(told) == 1, told  # once, not once per post or per run
    assert "Tech" in told[0] and "больше не создатель" in told[0]
    # The rule pauses with its target: a broken target is no usable target.
    assert rule_row is not None and usable_targets(rule_row) == []

    # The owner gets the right back and links the channel again: the posts go out.
    fake_tg.set_member(CHANNEL_ID, USER_ID, "administrator", can_post_messages=True)
    await TargetService(uow, clock).link(USER_ID, "telegram", str(CHANNEL_ID), "Tech")
    report = await worker.run_once()

    assert report.published == 2
    assert len(fake_tg.sent_to(CHANNEL_ID)) == 2


async def test_an_owner_demoted_to_an_admin_who_may_not_post_is_held_too(
    uow: Database,
    session_factory: SessionFactory,
    bot: Bot,
    channel: Target,
    clock: ManualClock,
    fake_tg: FakeTelegram,
) -> None:
    (post,) = await make_posts(session_factory, USER_ID, channel, clock.now())
    fake_tg.set_member(CHANNEL_ID, USER_ID, "administrator", can_post_messages=False)

    await posts_worker(uow, bot, clock).run_once()

    assert fake_tg.sent_to(CHANNEL_ID) == []
    assert (await get_post(session_factory, post.id)).status == PostStatus.SCHEDULED
    async with session_factory() as session:
        code = await session.scalar(select(Target.error_code).where(Target.id == channel.id))
    assert code == ErrorCode.OWNER_LOST_RIGHTS


async def test_the_owners_right_is_cached_between_posts(
    uow: Database,
    session_factory: SessionFactory,
    bot: Bot,
    channel: Target,
    clock: ManualClock,
    fake_tg: FakeTelegram,
) -> None:
    worker = posts_worker(uow, bot, clock)
    for _ in range(3):
        await make_posts(session_factory, USER_ID, channel, clock.now())
        await worker.run_once()
        clock.advance(minutes=1)

    asked = [c for c in fake_tg.calls_to("getChatMember") if int(c.params["user_id"]) == USER_ID]
    assert len(fake_tg.sent_to(CHANNEL_ID)) == 3
    assert len(asked) == 1


async def test_a_rule_whose_target_is_broken_pauses_and_tells_once_then_resumes(
    uow: Database,
    session_factory: SessionFactory,
    channel: Target,
    clock: ManualClock,
) -> None:
    await make_rule(
        session_factory,
        USER_ID,
        [channel],
        clock.now(),
        schedule_type="interval",
        schedule_config={"minutes": 60},
        content_config={"title": "T", "text": "Fixed text"},
    )
    async with session_factory() as session, session.begin():
        await TargetRepository(session).mark_broken(
            channel.id, "owner removed", ErrorCode.OWNER_LOST_RIGHTS.value
        )
    told: list[tuple[str, tuple[object, ...]]] = []

    class Recording:
        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            async def record(*args: object) -> None:
                told.append((name, args))

            return record

    worker = AutoPostingWorker(uow, clock=clock, notifier=Recording())  # type: ignore[arg-type]
    for _ in range(3):
        await worker.run_once()
        clock.advance(minutes=61)

    async with session_factory() as session:
        posts = (await session.scalars(select(ScheduledPost))).all()
    assert posts == []  # nothing piles up for the broken channel
    assert [name for name, _args in told] == ["rule_failed"]  # told once, not every run

    await TargetService(uow, clock).link(USER_ID, "telegram", str(CHANNEL_ID), "Tech")
    report = await worker.run_once()
    assert report.succeeded == 1
