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
    decision_messages,
    delivered_texts,
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
    in_flight = {pid for pid, status in before.items() if status == PostStatus.PUBLISHING}
    assert in_flight, "the kill should have caught posts in publishing"
    delivered_before_restart = delivered_texts(fake_tg)

    fake_tg.latency = 0.0
    async with worker_processes(url, fake_tg, tmp_path / "restart", 1, **env):
        await wait_until_settled(session_factory, 300, within=60)
        after = await statuses(session_factory)
        unknown = {pid for pid, status in after.items() if status == PostStatus.UNKNOWN}
        # Every ambiguous post's owner is asked, with the three buttons.
        await fake_tg.wait_for(
            lambda: len(decision_messages(fake_tg)) >= len(unknown),
            timeout=30,
            what="owner questions",
        )

    delivered = delivered_texts(fake_tg)
    assert set(delivered.values()) == {1}, "a post was published twice"
    # Nothing lost: each post is published or waits for its owner's decision.
    assert set(after.values()) <= {PostStatus.PUBLISHED, PostStatus.UNKNOWN}
    assert unknown == in_flight  # exactly the ones caught mid-publication
    for post_id, status in after.items():
        text = seeded.texts[post_id]
        if status == PostStatus.PUBLISHED:
            assert delivered[text] == 1
        else:
            # Sent before the kill or never sent: either way not sent again by itself.
            assert delivered[text] == delivered_before_restart[text]
    questions = decision_messages(fake_tg, USER_ID)
    asked = {message["text"].split("#", 1)[1].split(" ", 1)[0] for message in questions}
    assert {str(pid) for pid in unknown} <= asked
