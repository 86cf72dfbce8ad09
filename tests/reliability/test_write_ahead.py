"""Write-ahead "sending" (DESIGN.md, issue 14): after a crash, claimed posts never marked as
being sent go back to `scheduled` and are published once; only those marked become `unknown`."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from aiogram import Bot
from sqlalchemy import select

from services.clock import ManualClock
from storage.db import SessionFactory
from storage.models import PostStatus, ScheduledPost
from storage.repositories import PostRepository
from storage.uow import Database
from tests.conftest import USER_ID
from tests.fakes.telegram import FakeTelegram
from tests.reliability.support import (
    attempts,
    decision_messages,
    delivered_texts,
    make_worker,
    seed_posts,
    statuses,
)
from workers.write_ahead import SendingMarks

DEAD = "dead-host:1:abc"


async def test_a_crash_leaves_unknown_exactly_the_posts_marked_as_sending(
    uow: Database,
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    bot: Bot,
    clock: ManualClock,
) -> None:
    seeded = await seed_posts(session_factory, 6, channels=2, due=clock.now(), fake_tg=fake_tg)
    # A process claimed all six, marked three as leaving, then died (SIGKILL: no finish).
    async with session_factory() as session, session.begin():
        repo = PostRepository(session)
        claimed = await repo.claim_due(clock.now(), DEAD, timedelta(seconds=120), 10)
        marked = {c.id for c in claimed[:3]}
        assert await repo.mark_sending(sorted(marked), DEAD, clock.now()) == marked
    assert len(claimed) == 6
    worker = make_worker(uow, bot, clock, lease=timedelta(seconds=120))

    clock.advance(119)
    early = await worker.run_once()
    assert (early.expired, early.requeued, early.published) == (0, 0, 0)  # still its lease

    clock.advance(2)
    report = await worker.run_once()
    assert (report.expired, report.requeued, report.published) == (3, 3, 3)
    final = await statuses(session_factory)
    assert {pid for pid, s in final.items() if s == PostStatus.UNKNOWN} == marked
    unsent = set(seeded.post_ids) - marked
    assert {pid for pid, s in final.items() if s == PostStatus.PUBLISHED} == unsent
    # The unsent ones were published once each; the marked ones never resent by themselves.
    assert delivered_texts(fake_tg) == {seeded.texts[pid]: 1 for pid in unsent}
    # Going back to `scheduled` used no attempt: the republished ones show one, their own.
    for pid in unsent:
        (attempt,) = await attempts(session_factory, pid)
        assert attempt.attempt == 1 and attempt.outcome == "published"
    # The owner is asked about the marked ones only.
    asked = {
        int(m["text"].split("#", 1)[1].split(" ", 1)[0])
        for m in decision_messages(fake_tg, USER_ID)
    }
    assert asked == marked


async def test_a_worker_whose_lease_ran_out_before_sending_does_not_send(
    uow: Database,
    session_factory: SessionFactory,
    fake_tg: FakeTelegram,
    bot: Bot,
    clock: ManualClock,
) -> None:
    """A slow process (say, paused) whose lease expired and whose posts went back to
    `scheduled`: its mark fails, so it never sends what another process now owns."""
    seeded = await seed_posts(session_factory, 2, channels=1, due=clock.now(), fake_tg=fake_tg)
    async with session_factory() as session, session.begin():
        await PostRepository(session).claim_due(clock.now(), "slow", timedelta(seconds=60), 10)
    clock.advance(61)
    async with session_factory() as session, session.begin():
        assert sorted(await PostRepository(session).requeue_unsent(clock.now())) == (
            seeded.post_ids
        )
    marks = SendingMarks(uow, "slow", clock)
    for pid in seeded.post_ids:
        try:
            await marks.mark(pid)
        except Exception as exc:
            assert type(exc).__name__ == "LostLease"
        else:
            raise AssertionError("the mark must fail once the lease is gone")
    assert set((await statuses(session_factory)).values()) == {PostStatus.SCHEDULED}
    report = await make_worker(uow, bot, clock).run_once()
    assert report.published == 2
    assert set(delivered_texts(fake_tg).values()) == {1}


async def test_concurrent_marks_share_commits(
    uow: Database, session_factory: SessionFactory, clock: ManualClock
) -> None:
    seeded = await seed_posts(session_factory, 40, channels=4, due=clock.now())
    async with session_factory() as session, session.begin():
        await PostRepository(session).claim_due(clock.now(), "w", timedelta(seconds=60), 100)
    marks = SendingMarks(uow, "w", clock)
    await asyncio.gather(*(marks.mark(pid) for pid in seeded.post_ids))
    assert sum(marks.batch_sizes) == 40
    assert len(marks.batch_sizes) < 40  # many marks per commit
    async with session_factory() as session:
        sent = (await session.scalars(select(ScheduledPost.sending_at))).all()
    assert all(sent)


async def test_a_retried_post_is_claimed_unmarked_again(
    uow: Database, session_factory: SessionFactory, clock: ManualClock
) -> None:
    """A mark belongs to one claim: a post retried after a transient error and claimed
    again, then crashed before sending, goes back to `scheduled`, not `unknown`."""
    seeded = await seed_posts(session_factory, 1, channels=1, due=clock.now())
    async with session_factory() as session, session.begin():
        repo = PostRepository(session)
        await repo.claim_due(clock.now(), "w", timedelta(seconds=60), 1)
        await repo.mark_sending(seeded.post_ids, "w", clock.now())
        await repo.finish_retry(
            seeded.post_ids[0], "w", due_at=clock.now(), error="refused", attempt=None
        )
        await repo.claim_due(clock.now(), "w2", timedelta(seconds=60), 1)
    clock.advance(61)
    async with session_factory() as session, session.begin():
        repo = PostRepository(session)
        assert await repo.expire_leases(clock.now()) == []
        assert await repo.requeue_unsent(clock.now()) == seeded.post_ids
    async with session_factory() as session:
        post = await session.get(ScheduledPost, seeded.post_ids[0])
        assert post is not None
        assert (post.status, post.attempts) == (PostStatus.SCHEDULED, 1)
