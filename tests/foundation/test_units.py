"""Units of work (storage/uow.py): read units cannot write, writers queue instead of failing,
waits are bounded, and the transaction guard catches a network call inside a unit."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from storage.models import KeyValue
from storage.uow import Database, WriteQueueTimeout
from tests.conftest import TEST_TOKEN
from tests.txguard import TransactionGuard


async def test_a_read_unit_refuses_to_write(uow: Database) -> None:
    with pytest.raises(DBAPIError):
        async with uow.read() as session:
            session.add(KeyValue(key="k", value={}))
            await session.flush()
    async with uow.read() as session:
        assert await session.scalar(select(func.count()).select_from(KeyValue)) == 0


async def test_many_writers_that_read_first_all_succeed(
    uow: Database, caplog: pytest.LogCaptureFixture
) -> None:
    """The SQLite failure the issue saw: deferred transactions that read, then write, while
    others commit. As units they queue; none fails and nothing is lost."""
    caplog.set_level(logging.INFO)

    async def writer(n: int) -> None:
        async with uow.write() as session:
            await session.scalar(select(func.count()).select_from(KeyValue))
            await asyncio.sleep(0)  # let the others in between the read and the write
            session.add(KeyValue(key=f"k{n}", value={"n": n}))

    await asyncio.gather(*(writer(n) for n in range(60)))
    async with uow.read() as session:
        assert await session.scalar(select(func.count()).select_from(KeyValue)) == 60
    assert "database is locked" not in caplog.text


async def test_a_failed_write_unit_leaves_nothing(uow: Database) -> None:
    with pytest.raises(RuntimeError):
        async with uow.write() as session:
            session.add(KeyValue(key="gone", value={}))
            await session.flush()
            raise RuntimeError("boom")
    async with uow.read() as session:
        assert await session.get(KeyValue, "gone") is None


async def test_the_wait_for_a_turn_is_bounded_and_logged(
    sqlite_db: tuple[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    db = Database(sqlite_db[1], write_timeout=0.3)
    holding = asyncio.Event()
    release = asyncio.Event()

    async def slow_writer() -> None:
        async with db.write() as session:
            session.add(KeyValue(key="slow", value={}))
            holding.set()
            await release.wait()

    task = asyncio.create_task(slow_writer())
    await holding.wait()
    with pytest.raises(WriteQueueTimeout):
        async with db.write():
            pass
    release.set()
    await task
    assert db.stats.timeouts == 1
    assert "waited 0.3 s for its turn and gave up" in caplog.text
    async with db.write() as session:  # the queue works again
        session.add(KeyValue(key="after", value={}))


async def test_another_process_writing_is_waited_for(sqlite_db: tuple[str, Any]) -> None:
    """A second process on the same SQLite file (a plain connection holding the write lock):
    BEGIN IMMEDIATE waits for it (busy timeout) instead of failing."""
    url, engine = sqlite_db
    path = url.split("///", 1)[1]
    db = Database(engine)
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute(
        "INSERT INTO key_values (key, value, updated_at) VALUES ('other', '{}', '2026-01-01 00:00:00')"
    )

    async def release_later() -> None:
        await asyncio.sleep(0.3)
        other.execute("COMMIT")

    releaser = asyncio.create_task(release_later())
    async with db.write() as session:
        session.add(KeyValue(key="mine", value={}))
    await releaser
    other.close()
    async with db.read() as session:
        keys = set((await session.scalars(select(KeyValue.key))).all())
    assert {"other", "mine"} <= keys


@pytest.mark.allow_transaction_across_network
async def test_the_guard_catches_a_network_call_inside_a_unit(
    uow: Database, no_transaction_across_network: TransactionGuard, fake_tg: Any
) -> None:
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    bot = Bot(
        TEST_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(fake_tg.base_url))
    )
    try:
        await bot.get_me()  # outside any unit: fine
        assert no_transaction_across_network.violations == []
        async with uow.read() as session:
            await session.execute(text("SELECT 1"))
            await bot.get_me()  # inside a unit: caught
    finally:
        await bot.session.close()
    (violation,) = no_transaction_across_network.violations
    assert violation.call == "Bot API GetMe"
