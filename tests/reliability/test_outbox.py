"""Notifications that arrive, once (issue 14): the workers enqueue, a drainer sends through
the shared limiter, a refusal is retried (429, network) or recorded (blocked), a burst for one
owner is one message, and two drainers never send one row twice.

Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL (the `db` fixture)."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from sqlalchemy import func, select

from bot.notifier import TelegramNotifier
from handlers.i18n import create_i18n
from handlers.posts.callbacks import PostListCb
from platforms.base import PublisherRegistry
from platforms.telegram import TelegramPublisher
from services.clock import ManualClock, SystemClock
from services.notify import OutboxNotifier
from services.ratelimit import MemoryLimiter
from storage.db import SessionFactory
from storage.models import OutboxNotification, PostStatus, ScheduledPost, User
from storage.outbox import OutboxRepository
from storage.uow import Database
from tests.conftest import TEST_TOKEN, USER_ID
from tests.fakes.telegram import FakeTelegram, Fault, reader_text
from tests.reliability.support import channel_id, seed_posts
from workers.notifications import LimiterSlots, NotificationsWorker
from workers.policy import RetryPolicy
from workers.scheduled_posts import RateLimits, ScheduledPostsWorker

ADMIN = 999


def virtual_slots(clock: ManualClock, **kwargs: Any) -> LimiterSlots:
    """The shared limiter's windows in the test's time: waiting moves the clock."""

    async def sleep(seconds: float) -> None:
        clock.advance(seconds)

    limiter = MemoryLimiter(clock=lambda: clock.now().timestamp(), sleep=sleep)
    return LimiterSlots(limiter, sleep=sleep, **kwargs)


def drainer(
    db: Database, bot: Bot, clock: Any, *, slots: Any = None, **kwargs: Any
) -> NotificationsWorker:
    sender = TelegramNotifier(bot, db, create_i18n("en"), [ADMIN], clock=clock)
    return NotificationsWorker(db, sender, clock=clock, slots=slots, **kwargs)


async def outbox_counts(db: Database) -> dict[str, int]:
    async with db.read() as session:
        return await OutboxRepository(session).count_by_status()


async def add_user(session_factory: SessionFactory, user_id: int, language: str = "en") -> None:
    async with session_factory() as session, session.begin():
        if await session.get(User, user_id) is None:
            session.add(User(id=user_id, first_name=f"U{user_id}", language=language))


@pytest.fixture
async def tg_bot(fake_tg: FakeTelegram) -> AsyncIterator[Bot]:
    fake_tg.add_user(ADMIN, "Admin")
    # As the application's bot (bot.factory.create_bot): HTML by default.
    bot = Bot(
        TEST_TOKEN,
        session=AiohttpSession(api=TelegramAPIServer.from_base(fake_tg.base_url), timeout=5.0),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    try:
        yield bot
    finally:
        await bot.session.close()


def numbers(text: str) -> dict[str, int]:
    found = {}
    for label, key in (
        ("Not published", "failed"),
        ("result unknown", "unknown"),
        ("Missed while", "missed"),
    ):
        match = re.search(re.escape(label) + r"[^:]*: (\d+)", text)
        if match:
            found[key] = int(match.group(1))
    return found


async def test_a_burst_of_200_failures_is_one_grouped_message_matching_the_database(
    uow: Database,
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    tg_bot: Bot,
    clock: ManualClock,
) -> None:
    await seed_posts(session_factory, 200, channels=1, due=clock.now(), fake_tg=fake_tg)
    # Telegram refuses every post for good (not a broken channel: each post fails alone).
    fake_tg.fail_next(
        "sendMessage",
        *[
            Fault(status=400, description="Bad Request: message is too long", chat_id=str(c))
            for c in [channel_id(0)] * 200
        ],
    )
    outbox = OutboxNotifier(uow, [ADMIN], clock=clock)
    registry = PublisherRegistry()
    registry.register(TelegramPublisher(tg_bot))
    worker = ScheduledPostsWorker(
        uow,
        registry,
        clock=clock,
        notifier=outbox,
        retry=RetryPolicy(max_attempts=1),
        limits=RateLimits(enabled=False),
    )
    report = await worker.run_once()
    assert report.failed == 200
    # The workers only wrote: nothing reached the owner yet.
    assert fake_tg.sent_to(USER_ID) == []
    assert await outbox_counts(uow) == {"pending": 200}

    drain = await drainer(uow, tg_bot, clock, slots=virtual_slots(clock)).run_once()

    told = fake_tg.sent_to(USER_ID)
    assert len(told) == 1, [reader_text(m) for m in told]
    text = reader_text(told[0])
    async with session_factory() as session:
        failed = await session.scalar(
            select(func.count())
            .select_from(ScheduledPost)
            .where(ScheduledPost.status == PostStatus.FAILED)
        )
    assert numbers(text) == {"failed": failed} == {"failed": 200}
    # The button opens the list of posts that need a decision, each with its own actions.
    button = told[0]["reply_markup"]["inline_keyboard"][0][0]
    assert button["callback_data"] == PostListCb(status="failed", page=0).pack()
    assert (drain.messages, drain.sent, drain.grouped) == (1, 200, 200)
    assert await outbox_counts(uow) == {"sent": 200}


async def test_failures_unknowns_and_misses_are_counted_apart(
    uow: Database,
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    tg_bot: Bot,
    clock: ManualClock,
) -> None:
    seeded = await seed_posts(session_factory, 6, channels=1, due=clock.now())
    outbox = OutboxNotifier(uow, clock=clock)
    for post_id in seeded.post_ids[:3]:
        await outbox.post_failed(USER_ID, post_id, "x")
    await outbox.post_needs_decision(USER_ID, seeded.post_ids[3], "unknown")
    await outbox.post_needs_decision(USER_ID, seeded.post_ids[4], "missed")
    await outbox.post_needs_decision(USER_ID, seeded.post_ids[5], "missed")
    # The same event again (a retried write, another process) is not a second message.
    await outbox.post_failed(USER_ID, seeded.post_ids[0], "x")
    assert await outbox_counts(uow) == {"pending": 6}

    await drainer(uow, tg_bot, clock, slots=virtual_slots(clock)).run_once()
    (message,) = fake_tg.sent_to(USER_ID)
    assert numbers(reader_text(message)) == {"failed": 3, "unknown": 1, "missed": 2}


async def test_a_single_event_keeps_its_own_message_and_buttons(
    uow: Database,
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    tg_bot: Bot,
    clock: ManualClock,
) -> None:
    seeded = await seed_posts(session_factory, 1, channels=1, due=clock.now())
    outbox = OutboxNotifier(uow, clock=clock)
    await outbox.post_needs_decision(USER_ID, seeded.post_ids[0], "unknown")
    await drainer(uow, tg_bot, clock, slots=virtual_slots(clock)).run_once()
    (message,) = fake_tg.sent_to(USER_ID)
    assert "got no answer" in reader_text(message)
    buttons = [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]
    assert any("Retry" in b for b in buttons) and any("Mark published" in b for b in buttons)


async def test_admin_alerts_go_through_the_outbox(
    uow: Database, fake_tg: FakeTelegram, tg_bot: Bot, clock: ManualClock
) -> None:
    outbox = OutboxNotifier(uow, [ADMIN], clock=clock)
    await outbox.admin_alert("Worker <late> & slow")
    assert fake_tg.sent_to(ADMIN) == []
    await drainer(uow, tg_bot, clock, slots=virtual_slots(clock)).run_once()
    (message,) = fake_tg.sent_to(ADMIN)
    assert reader_text(message) == "Worker <late> & slow"


@pytest.mark.parametrize(
    "fault",
    [
        Fault(status=429, description="Too Many Requests: retry after 3", retry_after=3),
        Fault(drop=True),
        Fault(reset=True),
        Fault(status=502, description="Bad Gateway"),
    ],
    ids=["429", "dropped", "reset", "502"],
)
async def test_a_refused_notification_is_delivered_later_exactly_once(
    uow: Database,
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    tg_bot: Bot,
    clock: ManualClock,
    fault: Fault,
) -> None:
    seeded = await seed_posts(session_factory, 1, channels=1, due=clock.now())
    outbox = OutboxNotifier(uow, clock=clock)
    await outbox.post_failed(USER_ID, seeded.post_ids[0], "x")
    fault.chat_id = str(USER_ID)
    fake_tg.fail_next("sendMessage", fault)
    worker = drainer(uow, tg_bot, clock, slots=virtual_slots(clock))

    first = await worker.run_once()
    assert fake_tg.sent_to(USER_ID) == []
    assert first.sent == 0 and first.dead == 0
    assert await outbox_counts(uow) == {"pending": 1}
    async with uow.read() as session:
        row = (await session.scalars(select(OutboxNotification))).one()
    if fault.status == 429 and not fault.drop and not fault.reset:
        assert row.attempts == 0  # a 429 is no attempt
        assert row.next_attempt_at >= clock.now() + timedelta(seconds=3)
    else:
        assert row.attempts == 1 and row.last_error
    # Not before its time.
    await worker.run_once()
    assert fake_tg.sent_to(USER_ID) == []

    clock.advance(60)
    await worker.run_once()
    clock.advance(3600)
    await worker.run_once()
    (message,) = fake_tg.sent_to(USER_ID)
    assert "was not published" in reader_text(message)
    assert await outbox_counts(uow) == {"sent": 1}


async def test_a_blocked_bot_is_recorded_dead_and_not_retried(
    uow: Database,
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    tg_bot: Bot,
    clock: ManualClock,
) -> None:
    seeded = await seed_posts(session_factory, 1, channels=1, due=clock.now())
    await OutboxNotifier(uow, clock=clock).post_failed(USER_ID, seeded.post_ids[0], "x")
    fake_tg.fail_next(
        "sendMessage",
        Fault(status=403, description="Forbidden: bot was blocked by the user"),
    )
    worker = drainer(uow, tg_bot, clock, slots=virtual_slots(clock))
    report = await worker.run_once()
    assert report.dead == 1
    calls = len(fake_tg.calls_to("sendMessage"))
    clock.advance(hours=24)
    await worker.run_once()
    assert len(fake_tg.calls_to("sendMessage")) == calls
    async with uow.read() as session:
        row = (await session.scalars(select(OutboxNotification))).one()
    assert row.status == "dead"
    assert "blocked" in (row.last_error or "")


async def test_two_drainers_never_send_one_notification_twice(
    uow: Database,
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    tg_bot: Bot,
    clock: ManualClock,
) -> None:
    owners = [5000 + i for i in range(40)]
    for owner in owners:
        fake_tg.add_user(owner, f"Owner {owner}")
        await add_user(session_factory, owner)
    seeded = await seed_posts(session_factory, 40, channels=1, due=clock.now())
    outbox = OutboxNotifier(uow, clock=clock)
    for owner, post_id in zip(owners, seeded.post_ids, strict=True):
        await outbox.post_needs_decision(owner, post_id, "missed")
    slots = virtual_slots(clock)  # one shared limiter, as two processes share Redis or the DB
    first = drainer(uow, tg_bot, clock, slots=slots, worker_id="a", batch_size=7)
    second = drainer(uow, tg_bot, clock, slots=slots, worker_id="b", batch_size=7)
    for _ in range(20):
        await asyncio.gather(first.run_once(), second.run_once())
        if await outbox_counts(uow) == {"sent": 40}:
            break
        clock.advance(5)
    assert await outbox_counts(uow) == {"sent": 40}
    per_chat = Counter(int(c.params["chat_id"]) for c in fake_tg.calls_to("sendMessage"))
    assert per_chat == Counter(dict.fromkeys(owners, 1))


@pytest.mark.parametrize("db", ["sqlite"], indirect=True)
async def test_the_fake_sees_at_most_one_per_second_per_chat_and_30_per_second(
    uow: Database,
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    tg_bot: Bot,
) -> None:
    """Real time (the limiter paces real sends): the limiter is set a little below the
    limits, the assertions check Telegram's own limits on what the fake received."""
    admins = [7000 + i for i in range(40)]
    for admin in admins:
        fake_tg.add_user(admin, f"Admin {admin}")
    clock = SystemClock()
    outbox = OutboxNotifier(uow, admins, clock=clock)
    for round_ in range(3):
        await outbox.admin_alert(f"alert {round_}")
    slots = LimiterSlots(MemoryLimiter(), global_rate=25.0, per_chat_per_second=0.8)
    worker = drainer(uow, tg_bot, clock, slots=slots)
    for _ in range(100):
        await worker.run_once()
        if await outbox_counts(uow) == {"sent": 120}:
            break
        await asyncio.sleep(0.2)
    assert await outbox_counts(uow) == {"sent": 120}
    sends = sorted((c.at, int(c.params["chat_id"])) for c in fake_tg.calls_to("sendMessage"))
    assert len(sends) == 120
    by_chat: dict[int, list[float]] = {}
    for at, chat in sends:
        by_chat.setdefault(chat, []).append(at)
    closest = min(b - a for times in by_chat.values() for a, b in itertools.pairwise(times))
    assert closest >= 1.0
    busiest = max(sum(1 for t, _c in sends if start <= t < start + 1.0) for start, _ in sends)
    assert busiest <= 30


async def test_a_burst_still_growing_waits_for_a_quiet_moment_then_goes_as_one(
    uow: Database,
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    tg_bot: Bot,
    clock: ManualClock,
) -> None:
    seeded = await seed_posts(session_factory, 8, channels=1, due=clock.now())
    outbox = OutboxNotifier(uow, clock=clock)
    worker = drainer(uow, tg_bot, clock, slots=virtual_slots(clock), group_quiet=2.0)
    # One failure alone goes out at once, as its own message.
    await outbox.post_failed(USER_ID, seeded.post_ids[0], "x")
    await worker.run_once()
    assert len(fake_tg.sent_to(USER_ID)) == 1
    # Then a burst: held while it keeps growing...
    for post_id in seeded.post_ids[1:4]:
        await outbox.post_failed(USER_ID, post_id, "x")
    await worker.run_once()
    clock.advance(1)
    for post_id in seeded.post_ids[4:]:
        await outbox.post_needs_decision(USER_ID, post_id, "unknown")
    await worker.run_once()
    assert len(fake_tg.sent_to(USER_ID)) == 1
    # ...and sent as one message once nothing new came for the quiet time.
    clock.advance(2.5)
    await worker.run_once()
    told = fake_tg.sent_to(USER_ID)
    assert len(told) == 2
    assert numbers(reader_text(told[1])) == {"failed": 3, "unknown": 4}
    assert await outbox_counts(uow) == {"sent": 8}


async def test_a_notice_a_crash_lost_is_sent_by_the_sweep_and_never_doubled(
    uow: Database,
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    tg_bot: Bot,
    clock: ManualClock,
) -> None:
    """A worker committed `unknown` and died before enqueueing the owner's question: the
    drainer's sweep finds the post and asks; a notice the enqueuer did write is not doubled."""
    seeded = await seed_posts(session_factory, 2, channels=1, due=clock.now())
    lost, enqueued = seeded.post_ids
    async with session_factory() as session, session.begin():
        for post_id in (lost, enqueued):
            post = await session.get(ScheduledPost, post_id)
            assert post is not None
            post.status = PostStatus.UNKNOWN
            post.attempts = 1
            post.updated_at = clock.now()
    await OutboxNotifier(uow, clock=clock).post_needs_decision(USER_ID, enqueued, "unknown")

    worker = drainer(uow, tg_bot, clock, slots=virtual_slots(clock))
    report = await worker.run_once()
    assert report.swept == 1
    (message,) = fake_tg.sent_to(USER_ID)
    assert numbers(reader_text(message)) == {"unknown": 2}
    # Later passes find both notices delivered and add nothing.
    clock.advance(120)
    assert (await worker.run_once()).swept == 0
    assert len(fake_tg.sent_to(USER_ID)) == 1


async def test_published_posts_are_told_with_their_life_buttons_unless_muted(
    uow: Database,
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    tg_bot: Bot,
    clock: ManualClock,
) -> None:
    """One post out: "✅ Published" with Edit / Delete / Pin / Auto-delete and a mute button.
    Three at once: one message. Muted: nothing."""
    seeded = await seed_posts(session_factory, 5, channels=5, due=clock.now(), fake_tg=fake_tg)
    await add_user(session_factory, USER_ID)
    outbox = OutboxNotifier(uow, [ADMIN], clock=clock)
    registry = PublisherRegistry()
    registry.register(TelegramPublisher(tg_bot))
    worker = ScheduledPostsWorker(
        uow, registry, clock=clock, notifier=outbox, limits=RateLimits(enabled=False)
    )
    first, *others, last = seeded.post_ids
    async with session_factory() as session, session.begin():
        for post_id, hours in [*((post_id, 1) for post_id in others), (last, 2)]:
            post = await session.get(ScheduledPost, post_id)
            assert post is not None
            post.due_at = post.scheduled_time = clock.now() + timedelta(hours=hours)
    assert (await worker.run_once()).published == 1
    drain = drainer(uow, tg_bot, clock, slots=virtual_slots(clock))
    # Enqueued in the unit that marked the post published, due a few seconds later (a
    # burst gathers meanwhile).
    await drain.run_once()
    assert fake_tg.sent_to(USER_ID) == []
    clock.advance(6)
    await drain.run_once()
    (notice,) = fake_tg.sent_to(USER_ID)
    assert reader_text(notice).startswith(f"✅ Published: #{first} →")
    buttons = [b["text"] for row in notice["reply_markup"]["inline_keyboard"] for b in row]
    for label in ("✏️ Edit", "🗑 Delete", "📌 Pin", "⏳ Auto-delete", "🔕 Stop these notices"):
        assert label in buttons

    clock.advance(3600)
    assert (await worker.run_once()).published == 3
    clock.advance(6)
    await drain.run_once()
    burst = fake_tg.sent_to(USER_ID)[1:]
    assert len(burst) == 1
    assert reader_text(burst[0]).startswith("✅ Posts published: 3")

    async with session_factory() as session, session.begin():
        user = await session.get(User, USER_ID)
        assert user is not None
        user.notify_published = False
    clock.advance(3600)
    assert (await worker.run_once()).published == 1
    clock.advance(6)
    await drain.run_once()
    assert len(fake_tg.sent_to(USER_ID)) == 2
    assert await outbox_counts(uow) == {"sent": 4}
