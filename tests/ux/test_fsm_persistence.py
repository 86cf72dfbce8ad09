"""A dialog survives a restart: a new app on the same database (or Redis) continues it."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

import pytest

from handlers.compose.states import NewPost
from services.clock import ManualClock
from storage.db import upgrade_database
from tests.conftest import USER_ID, make_settings
from tests.fakes.telegram import FakeTelegram
from tests.ux.conftest import texts
from tests.ux.harness import running_bot

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def redis_reachable() -> bool:
    try:
        with socket.create_connection((REDIS_HOST, REDIS_PORT), timeout=0.5):
            return True
    except OSError:
        return False


async def test_dialog_survives_restart_on_the_database(
    fake_tg: FakeTelegram, tmp_path: Path, clock: ManualClock
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade_database(url)
    settings = make_settings(database_url=url, telegram_api_base=fake_tg.base_url)
    async with running_bot(settings, fake_tg, clock) as first:
        chat = first.chat(USER_ID)
        await chat.send("/new")
        await chat.tap("Add a title")
        await chat.send("Survivor")
        assert await chat.state() == NewPost.content.state

    async with running_bot(settings, fake_tg, clock) as second:
        from storage.fsm import DatabaseFsmStorage

        assert isinstance(second.app.dispatcher.storage, DatabaseFsmStorage)
        chat = second.chat(USER_ID)
        reply = await chat.send("After the restart")
        assert "<b>Survivor</b>\n\nAfter the restart" in texts(reply)
        assert await chat.state() == NewPost.preview.state


@pytest.mark.skipif(not redis_reachable(), reason="no Redis at 127.0.0.1:6379")
async def test_dialog_survives_restart_on_redis(
    fake_tg: FakeTelegram, tmp_path: Path, clock: ManualClock
) -> None:
    from aiogram.fsm.storage.redis import RedisStorage

    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await upgrade_database(url)
    # A user id of its own so that parallel runs on one Redis do not meet.
    user_id = 10_000_000 + uuid.uuid4().int % 1_000_000
    fake_tg.add_user(user_id, "Redis", "en")
    settings = make_settings(
        database_url=url,
        telegram_api_base=fake_tg.base_url,
        redis_url=f"redis://{REDIS_HOST}:{REDIS_PORT}/0",
    )
    async with running_bot(settings, fake_tg, clock) as first:
        assert isinstance(first.app.dispatcher.storage, RedisStorage)
        chat = first.chat(user_id)
        await chat.send("/new")
        await chat.tap("Add a title")
        await chat.send("In Redis")

    async with running_bot(settings, fake_tg, clock) as second:
        chat = second.chat(user_id)
        try:
            reply = await chat.send("Still here")
            assert "<b>In Redis</b>\n\nStill here" in texts(reply)
        finally:
            await second.set_state(user_id, None, {})
        assert await chat.state() is None
