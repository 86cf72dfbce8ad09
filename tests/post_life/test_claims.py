"""Timed actions are claimed like posts (issue 12): one conditional statement with a lease,
so that of several workers (processes) exactly one runs each action; a crashed worker's
actions come back when its lease runs out. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from services.clock import ManualClock
from storage.db import SessionFactory
from storage.post_life import DELETE, PostLifeRepository
from storage.uow import Database
from tests.conftest import CHANNEL_ID, USER_ID
from tests.foundation.helpers import make_channel, make_posts, make_user


async def test_each_due_action_is_claimed_once_by_concurrent_workers(
    session_factory: SessionFactory, uow: Database, clock: ManualClock
) -> None:
    await make_user(session_factory, USER_ID)
    target = await make_channel(session_factory, USER_ID, CHANNEL_ID)
    posts = await make_posts(session_factory, USER_ID, target, clock.now(), count=30)
    async with uow.write() as session:
        repo = PostLifeRepository(session)
        for post in posts:
            await repo.schedule_action(post.id, USER_ID, DELETE, clock.now())
        # One not due yet.
        await repo.schedule_action(posts[0].id, USER_ID, "unpin", clock.now() + timedelta(hours=1))

    async def claim(worker: str) -> list[int]:
        claimed: list[int] = []
        while True:
            async with uow.write() as session:
                batch = await PostLifeRepository(session).claim_due(
                    clock.now(), worker, timedelta(minutes=2), 4
                )
            if not batch:
                return claimed
            claimed += [a.id for a in batch]

    results = await asyncio.gather(*(claim(f"w{i}") for i in range(4)))
    everything = [i for ids in results for i in ids]
    assert len(everything) == len(set(everything)) == 30
    async with uow.read() as session:
        assert await PostLifeRepository(session).next_due_at() is not None


async def test_a_crashed_workers_actions_come_back_after_the_lease(
    session_factory: SessionFactory, uow: Database, clock: ManualClock
) -> None:
    await make_user(session_factory, USER_ID)
    target = await make_channel(session_factory, USER_ID, CHANNEL_ID)
    (post,) = await make_posts(session_factory, USER_ID, target, clock.now())
    async with uow.write() as session:
        action = await PostLifeRepository(session).schedule_action(
            post.id, USER_ID, DELETE, clock.now()
        )
    async with uow.write() as session:
        (claimed,) = await PostLifeRepository(session).claim_due(
            clock.now(), "dead", timedelta(minutes=2), 10
        )
    assert claimed.id == action.id
    async with uow.write() as session:
        repo = PostLifeRepository(session)
        assert await repo.claim_due(clock.now(), "alive", timedelta(minutes=2), 10) == []
        assert await repo.expire_leases(clock.now()) == 0
    async with uow.read() as session:
        assert await PostLifeRepository(session).next_due_at() == clock.now() + timedelta(
            minutes=2
        )
    clock.advance(minutes=3)
    async with uow.write() as session:
        repo = PostLifeRepository(session)
        assert await repo.expire_leases(clock.now()) == 1
        (again,) = await repo.claim_due(clock.now(), "alive", timedelta(minutes=2), 10)
    assert (again.id, again.attempts) == (action.id, 2)
    async with uow.write() as session:
        # The dead worker's late answer cannot settle what is no longer its own.
        repo = PostLifeRepository(session)
        assert not await repo.finish(action.id, "dead", status="done", now=clock.now())
        assert await repo.finish(action.id, "alive", status="done", now=clock.now())
