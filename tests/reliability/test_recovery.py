"""After a crash or downtime: expired leases become `unknown`, posts due long ago become
`missed` (both ask the owner), posts due within the grace window are published."""

from __future__ import annotations

from datetime import timedelta

from aiogram import Bot

from services.clock import ManualClock
from storage.db import SessionFactory
from storage.models import PostStatus
from storage.repositories import PostRepository
from storage.uow import Database
from tests.conftest import USER_ID
from tests.fakes.telegram import FakeTelegram
from tests.reliability.support import (
    decision_messages,
    delivered_texts,
    make_worker,
    seed_posts,
    statuses,
)


async def test_expired_leases_become_unknown_and_owners_are_asked(
    uow: Database,
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    bot: Bot,
    clock: ManualClock,
) -> None:
    seeded = await seed_posts(session_factory, 2, channels=1, due=clock.now(), fake_tg=fake_tg)
    # A process claimed both, then died.
    async with session_factory() as session, session.begin():
        repo = PostRepository(session)
        claimed = await repo.claim_due(clock.now(), "dead-host:1:abc", timedelta(seconds=120), 10)
        # Their requests were leaving (write-ahead mark) when the process died.
        await repo.mark_sending([c.id for c in claimed], "dead-host:1:abc", clock.now())
    assert len(claimed) == 2
    worker = make_worker(uow, bot, clock, lease=timedelta(seconds=120))

    clock.advance(119)
    early = await worker.run_once()
    assert early.expired == 0  # still someone else's
    assert set((await statuses(session_factory)).values()) == {PostStatus.PUBLISHING}
    # The next wake-up is when the lease runs out, not the next poll.
    assert await worker.next_due_at() == clock.now() + timedelta(seconds=1)

    clock.advance(2)
    report = await worker.run_once()
    assert report.expired == 2
    assert set((await statuses(session_factory)).values()) == {PostStatus.UNKNOWN}
    assert delivered_texts(fake_tg) == {}  # never resent by itself
    questions = decision_messages(fake_tg, USER_ID)
    assert sorted(m["text"].split("#", 1)[1].split(" ", 1)[0] for m in questions) == sorted(
        str(pid) for pid in seeded.post_ids
    )
    assert all("do not know whether it was published" in m["text"] for m in questions)


async def test_posts_due_while_down_are_missed_past_grace_and_published_within_it(
    uow: Database,
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    bot: Bot,
    clock: ManualClock,
) -> None:
    long_ago = await seed_posts(
        session_factory,
        1,
        channels=1,
        due=clock.now() - timedelta(minutes=16),
        fake_tg=fake_tg,
        prefix="old",
    )
    recent = await seed_posts(
        session_factory,
        1,
        channels=1,
        due=clock.now() - timedelta(minutes=14),
        fake_tg=fake_tg,
        prefix="recent",
        channel_offset=1,
    )
    worker = make_worker(uow, bot, clock, grace=timedelta(minutes=15))

    report = await worker.run_once()

    assert report.missed == 1
    assert report.published == 1
    final = await statuses(session_factory)
    assert final[long_ago.post_ids[0]] == PostStatus.MISSED
    assert final[recent.post_ids[0]] == PostStatus.PUBLISHED
    assert delivered_texts(fake_tg) == {"recent-0": 1}
    (question,) = decision_messages(fake_tg, USER_ID)
    assert f"#{long_ago.post_ids[0]}" in question["text"]
    assert "was due while I was not running" in question["text"]


async def test_retried_and_deferred_posts_are_never_marked_missed(
    uow: Database,
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    bot: Bot,
    clock: ManualClock,
) -> None:
    """Only posts nobody tried count as missed: a post waiting for its retry or for a rate
    limit keeps its place even when its original time is long past."""
    seeded = await seed_posts(session_factory, 1, channels=1, due=clock.now(), fake_tg=fake_tg)
    async with session_factory() as session, session.begin():
        repo = PostRepository(session)
        await repo.claim_due(clock.now(), "w", timedelta(seconds=60), 10)
        await repo.defer_claimed(seeded.post_ids, "w", clock.now() + timedelta(hours=1))
    clock.advance(3601)
    report = await make_worker(uow, bot, clock).run_once()
    assert report.missed == 0
    assert report.published == 1
