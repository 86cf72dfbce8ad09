from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiogram import Bot

from tests.conftest import USER_ID
from tests.fakes.telegram import FakeTelegram
from tests.reliability.support import make_bot


@pytest.fixture
async def bot(fake_tg: FakeTelegram) -> AsyncIterator[Bot]:
    fake_tg.add_user(999, "Admin")
    assert USER_ID in fake_tg.users
    bot = make_bot(fake_tg.base_url)
    try:
        yield bot
    finally:
        await bot.session.close()
