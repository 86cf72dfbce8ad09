"""Several workers-only bot processes on one database publish every post exactly once,
and a process killed mid-burst loses nothing and repeats nothing."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from storage.db import create_session_factory
from storage.models import PostStatus, PublishAttempt, ScheduledPost
from tests.conftest import PG_URL, USER_ID, database
from tests.fakes.telegram import FakeTelegram
from tests.reliability.support import (
    channel_id,
    delivered_texts,
    enforced_limits_env,
    posts_in_questions,
    redis_url_or_skip,
    seed_posts,
    start_worker_process,
    statuses,
    stop_processes,
    utcnow,
    wait_healthy,
    wait_until_settled,
    worker_processes,
)

pytestmark = pytest.mark.slow


async def _exactly_once(
    db: tuple[str, AsyncEngine], fake_tg: FakeTelegram, tmp_path: Path, processes: int
) -> None:
    url, engine = db
    session_factory = create_session_factory(engine)
    # Every answer takes a little while, so that one process cannot finish the burst alone
    # before the others have polled.
    fake_tg.latency = 0.02
    async with worker_processes(url, fake_tg, tmp_path, processes):
        seeded = await seed_posts(
            session_factory, 1000, channels=10, due=utcnow(), fake_tg=fake_tg
        )
        counts = await wait_until_settled(session_factory, 1000, within=90)

    assert counts == {PostStatus.PUBLISHED: 1000}
    delivered = delivered_texts(fake_tg)
    assert sorted(delivered) == sorted(seeded.texts.values())
    assert set(delivered.values()) == {1}, "some post was published more than once"
    async with session_factory() as session:
        rows = (await session.execute(select(PublishAttempt.worker_id))).scalars().all()
        external_ids = (await session.execute(select(ScheduledPost.external_id))).scalars().all()
    assert len(rows) == 1000  # one attempt each: nobody published a post another had claimed
    assert all(external_ids)  # the platform's message id was stored for every post
    workers = {worker_id.split(":")[1] for worker_id in rows if worker_id}
    assert len(workers) >= 2, f"the processes did not share the work: {workers}"


@pytest.mark.postgres
async def test_three_processes_on_postgresql_publish_every_post_exactly_once(
    fake_tg: FakeTelegram, tmp_path: Path
) -> None:
    async with database("postgres", tmp_path) as db:
        await _exactly_once(db, fake_tg, tmp_path, processes=3)


async def test_two_processes_on_one_sqlite_file_publish_every_post_exactly_once(
    sqlite_db: tuple[str, AsyncEngine], fake_tg: FakeTelegram, tmp_path: Path
) -> None:
    await _exactly_once(sqlite_db, fake_tg, tmp_path, processes=2)


async def test_process_killed_mid_burst_loses_nothing_and_repeats_nothing(
    fake_tg: FakeTelegram, tmp_path: Path
) -> None:
    # Several processes share PostgreSQL in production; SQLite when it is not available.
    kind = "postgres" if PG_URL else "sqlite"
    async with database(kind, tmp_path) as (url, engine):
        await _kill_and_restart(url, engine, fake_tg, tmp_path)


async def _kill_and_restart(
    url: str, engine: AsyncEngine, fake_tg: FakeTelegram, tmp_path: Path
) -> None:
    session_factory = create_session_factory(engine)
    fake_tg.add_user(999, "Admin")
    # Slow answers: at any moment some posts are sent but not yet answered (ambiguous).
    fake_tg.latency = 0.2
    env = {"PUBLISH_LEASE_SECONDS": "3", "PUBLISH_CONCURRENCY": "8"}
    first = start_worker_process(url, fake_tg, tmp_path, "doomed", **env)
    try:
        await wait_healthy([first])
        seeded = await seed_posts(session_factory, 300, channels=5, due=utcnow(), fake_tg=fake_tg)
        await fake_tg.wait_for(
            lambda: sum(delivered_texts(fake_tg).values()) >= 40, timeout=30, what="a burst"
        )
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait()
    finally:
        await stop_processes([first])

    before = await statuses(session_factory)
    claimed = {pid for pid, status in before.items() if status == PostStatus.PUBLISHING}
    assert claimed, "the kill should have caught posts in publishing"
    # Write-ahead: only the claimed posts marked as being sent were in flight.
    async with session_factory() as session:
        in_flight = set(
            (
                await session.scalars(
                    select(ScheduledPost.id).where(
                        ScheduledPost.status == PostStatus.PUBLISHING,
                        ScheduledPost.sending_at.is_not(None),
                    )
                )
            ).all()
        )
    delivered_before_restart = delivered_texts(fake_tg)

    fake_tg.latency = 0.0
    async with worker_processes(url, fake_tg, tmp_path / "restart", 1, **env):
        await wait_until_settled(session_factory, 300, within=60)
        after = await statuses(session_factory)
        unknown = {pid for pid, status in after.items() if status == PostStatus.UNKNOWN}
        # Every ambiguous post's owner is asked, with the three buttons.
        # (A burst of them is one grouped notice from the outbox, naming each post.)
        await fake_tg.wait_for(
            lambda: unknown <= posts_in_questions(fake_tg),
            timeout=30,
            what="owner questions",
        )

    delivered = delivered_texts(fake_tg)
    assert set(delivered.values()) == {1}, "a post was published twice"
    # Nothing lost: each post is published or waits for its owner's decision.
    assert set(after.values()) <= {PostStatus.PUBLISHED, PostStatus.UNKNOWN}
    assert unknown == in_flight  # exactly the ones caught mid-publication
    for post_id in claimed - in_flight:
        # Claimed but never sent: back to `scheduled`, then published once.
        assert after[post_id] == PostStatus.PUBLISHED
    for post_id, status in after.items():
        text = seeded.texts[post_id]
        if status == PostStatus.PUBLISHED:
            assert delivered[text] == 1
        else:
            # Sent before the kill or never sent: either way not sent again by itself.
            assert delivered[text] == delivered_before_restart[text]
    assert unknown <= posts_in_questions(fake_tg, USER_ID)


# ---------- shared limits (issue 14) ----------


async def _shared_limits_burst(
    url: str, engine: AsyncEngine, fake_tg: FakeTelegram, tmp_path: Path, **env: str
) -> None:
    """Three workers-only processes against a Bot API that enforces Telegram's limits; one
    is SIGKILLed mid-burst and started again. Few posts per channel over many channels and
    a small per-channel limit keep it short while both limits are reached: 2 per minute per
    channel (the third post of each channel waits a minute) and 30 per second bot-wide."""
    session_factory = create_session_factory(engine)
    fake_tg.add_user(999, "Admin")
    fake_tg.latency = 0.05  # some requests are always in flight
    env = {
        **enforced_limits_env(fake_tg, per_second=30, per_channel_per_minute=2),
        "PUBLISH_LEASE_SECONDS": "3",
        "PUBLISH_MAX_ATTEMPTS": "1",  # a 429 that counted as an attempt would fail a post
        **env,
    }
    total, channels = 300, 100
    processes = [
        start_worker_process(url, fake_tg, tmp_path, f"worker{i}", **env) for i in range(3)
    ]
    try:
        await wait_healthy(processes)
        seeded = await seed_posts(
            session_factory, total, channels=channels, due=utcnow(), fake_tg=fake_tg
        )
        await fake_tg.wait_for(
            lambda: len(fake_tg.send_log) >= 60, timeout=60, what="the burst under way"
        )
        os.kill(processes[0].process.pid, signal.SIGKILL)
        processes[0].process.wait()
        processes[0] = start_worker_process(url, fake_tg, tmp_path, "restarted", **env)
        await wait_healthy(processes[:1])
        counts = await wait_until_settled(session_factory, total, within=150)
    finally:
        await stop_processes(processes)

    after = await statuses(session_factory)
    delivered = delivered_texts(fake_tg)
    # Exactly once; nothing failed (429s deferred, never an attempt); only a post caught in
    # flight by the kill may wait for its owner's decision, and it was sent at most once.
    assert set(delivered.values()) == {1}, "a post was published twice"
    assert counts.get(PostStatus.FAILED, 0) == 0, counts
    assert set(after.values()) <= {PostStatus.PUBLISHED, PostStatus.UNKNOWN}, counts
    for post_id, status in after.items():
        if status == PostStatus.PUBLISHED:
            assert delivered[seeded.texts[post_id]] == 1
    # At most what the killed process had in flight (PUBLISH_CONCURRENCY).
    assert counts.get(PostStatus.UNKNOWN, 0) <= 16, counts
    # What Telegram saw: never over its limits, and hardly ever asked anyone to slow down.
    sends = len(fake_tg.send_log)
    assert fake_tg.busiest(1.0) <= 30
    assert max(fake_tg.busiest(60.0, channel_id(i)) for i in range(channels)) <= 2
    assert fake_tg.too_many_requests <= max(3, sends // 50), (fake_tg.too_many_requests, sends)
    async with session_factory() as session:
        workers = (
            await session.scalars(
                select(PublishAttempt.worker_id).where(PublishAttempt.outcome == "published")
            )
        ).all()
    assert len({w.split(":")[1] for w in workers if w}) >= 3, "the processes did not share"


@pytest.mark.postgres
async def test_three_processes_share_telegram_limits_through_postgresql(
    fake_tg: FakeTelegram, tmp_path: Path
) -> None:
    async with database("postgres", tmp_path) as (url, engine):
        await _shared_limits_burst(url, engine, fake_tg, tmp_path, RATE_LIMIT_BACKEND="database")


@pytest.mark.postgres
async def test_three_processes_share_telegram_limits_through_redis(
    fake_tg: FakeTelegram, tmp_path: Path
) -> None:
    redis_url = await redis_url_or_skip()
    async with database("postgres", tmp_path) as (url, engine):
        await _shared_limits_burst(
            url, engine, fake_tg, tmp_path, REDIS_URL=redis_url, RATE_LIMIT_BACKEND="redis"
        )
