from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.clock import ManualClock
from storage.db import upgrade_database_sync
from tests.conftest import database, make_settings
from tests.fakes.telegram import FakeTelegram
from tests.ux.harness import Harness, ScriptedGenerator, running_bot


@pytest.fixture
def generator() -> ScriptedGenerator:
    return ScriptedGenerator()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Migrated once; each test gets a copy (the dialogs' tests are many and short)."""
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade_database_sync(f"sqlite+aiosqlite:///{path}")
    return path


def sqlite_copy(template: Path, tmp_path: Path) -> str:
    target = tmp_path / "bot.db"
    shutil.copyfile(template, target)
    return f"sqlite+aiosqlite:///{target}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def harness(
    request: pytest.FixtureRequest,
    fake_tg: FakeTelegram,
    migrated_sqlite: Path,
    tmp_path: Path,
    clock: ManualClock,
    generator: ScriptedGenerator,
) -> AsyncIterator[Harness]:
    """The bot on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set."""
    if request.param == "sqlite":
        url = sqlite_copy(migrated_sqlite, tmp_path)
        settings = make_settings(database_url=url, telegram_api_base=fake_tg.base_url)
        async with running_bot(settings, fake_tg, clock, generator=generator) as value:
            yield value
        return
    async with database("postgres", tmp_path) as (url, _engine):
        settings = make_settings(database_url=url, telegram_api_base=fake_tg.base_url)
        async with running_bot(settings, fake_tg, clock, generator=generator) as value:
            yield value


@pytest.fixture
async def sqlite_harness(
    fake_tg: FakeTelegram,
    migrated_sqlite: Path,
    tmp_path: Path,
    clock: ManualClock,
    generator: ScriptedGenerator,
) -> AsyncIterator[Harness]:
    settings = make_settings(
        database_url=sqlite_copy(migrated_sqlite, tmp_path), telegram_api_base=fake_tg.base_url
    )
    async with running_bot(settings, fake_tg, clock, generator=generator) as value:
        yield value


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n---\n".join(m.get("text") or m.get("caption") or "" for m in messages)
