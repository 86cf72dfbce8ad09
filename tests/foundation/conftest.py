"""Fixtures the worker tests share: a Bot talking to the fake Bot API, and one linked
channel owned by USER_ID (also created at the fake server)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot

from bot.factory import create_bot
from storage.db import SessionFactory
from storage.models import Target
from tests.conftest import CHANNEL_ID, USER_ID, make_settings
from tests.fakes.telegram import FakeTelegram
from tests.foundation.helpers import make_channel, make_user


@pytest.fixture
async def bot(fake_tg: FakeTelegram) -> AsyncIterator[Bot]:
    bot = create_bot(make_settings(telegram_api_base=fake_tg.base_url))
    try:
        yield bot
    finally:
        await bot.session.close()


@pytest.fixture
async def channel(session_factory: SessionFactory, fake_tg: FakeTelegram) -> Target:
    fake_tg.add_channel(CHANNEL_ID, "Tech", "tech", owner=USER_ID)
    await make_user(session_factory, USER_ID)
    return await make_channel(session_factory, USER_ID, CHANNEL_ID, "Tech")
