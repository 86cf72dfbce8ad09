from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from services.clock import ManualClock
from tests.conftest import make_settings
from tests.fakes.telegram import FakeTelegram
from tests.ux.harness import Harness, ScriptedGenerator, running_bot


@pytest.fixture
def generator() -> ScriptedGenerator:
    return ScriptedGenerator()


@pytest.fixture
async def harness(
    fake_tg: FakeTelegram,
    db: tuple[str, AsyncEngine],
    clock: ManualClock,
    generator: ScriptedGenerator,
) -> AsyncIterator[Harness]:
    """The bot on SQLite (and PostgreSQL when TEST_DATABASE_URL is set)."""
    settings = make_settings(database_url=db[0], telegram_api_base=fake_tg.base_url)
    async with running_bot(settings, fake_tg, clock, generator=generator) as value:
        yield value


@pytest.fixture
async def sqlite_harness(
    fake_tg: FakeTelegram,
    sqlite_db: tuple[str, AsyncEngine],
    clock: ManualClock,
    generator: ScriptedGenerator,
) -> AsyncIterator[Harness]:
    settings = make_settings(database_url=sqlite_db[0], telegram_api_base=fake_tg.base_url)
    async with running_bot(settings, fake_tg, clock, generator=generator) as value:
        yield value


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n---\n".join(m.get("text") or m.get("caption") or "" for m in messages)
