"""The claim: one conditional statement, never past its limit, never the same row twice."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from services.clock import ManualClock
from storage.db import SessionFactory
from storage.models import PostStatus
from storage.repositories import PostRepository
from tests.reliability.support import seed_posts, statuses


async def test_claim_takes_at_most_its_limit_in_due_order(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    seeded = await seed_posts(
        session_factory,
        50,
        channels=2,
        due=clock.now() - timedelta(seconds=50),
        spread=timedelta(seconds=100),
    )
    async with session_factory() as session, session.begin():
        claimed = await PostRepository(session).claim_due(
            clock.now(), "w1", timedelta(seconds=60), 10
        )
    # PostgreSQL once claimed 1,000 rows for LIMIT 200 through `id IN (subquery)`.
    assert [c.id for c in claimed] == seeded.post_ids[:10]
    assert all(c.attempts == 1 for c in claimed)
    final = await statuses(session_factory)
    assert sum(1 for s in final.values() if s == PostStatus.PUBLISHING) == 10


async def test_concurrent_claims_never_share_a_row(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    await seed_posts(session_factory, 300, channels=3, due=clock.now())

    async def claimer(name: str) -> list[int]:
        taken: list[int] = []
        while True:
            async with session_factory() as session, session.begin():
                batch = await PostRepository(session).claim_due(
                    clock.now(), name, timedelta(seconds=60), 7
                )
            if not batch:
                return taken
            taken.extend(c.id for c in batch)

    results = await asyncio.gather(*(claimer(f"w{i}") for i in range(4)))
    everything = [pid for taken in results for pid in taken]
    assert len(everything) == 300
    assert len(set(everything)) == 300


async def test_finishing_needs_the_lease(
    session_factory: SessionFactory, clock: ManualClock
) -> None:
    seeded = await seed_posts(session_factory, 1, channels=1, due=clock.now())
    async with session_factory() as session, session.begin():
        repo = PostRepository(session)
        await repo.claim_due(clock.now(), "owner", timedelta(seconds=60), 1)
        assert not await repo.defer_claimed(seeded.post_ids, "someone-else", clock.now())
        assert await repo.mark_sending(seeded.post_ids, "someone-else", clock.now()) == set()
        assert await repo.mark_sending(seeded.post_ids, "owner", clock.now()) == {
            seeded.post_ids[0]
        }
        assert await repo.expire_leases(clock.now() + timedelta(seconds=61)) == seeded.post_ids
        assert not await repo.defer_claimed(seeded.post_ids, "owner", clock.now())
