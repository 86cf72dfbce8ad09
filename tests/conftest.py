from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import Settings
from services.clock import ManualClock
from storage.db import create_engine, create_session_factory, upgrade_database
from storage.uow import Database
from tests.fakes.telegram import FakeTelegram
from tests.txguard import TransactionGuard, transaction_guard

TEST_TOKEN = "123456789:AAHfakeTokenForTestsOnly_abcdefghijkl"
USER_ID = 111
OTHER_USER_ID = 222
CHANNEL_ID = -1001234567890

PG_URL = os.environ.get("TEST_DATABASE_URL")


def pytest_report_header(config: pytest.Config) -> str:
    if PG_URL:
        return f"PostgreSQL tests: on ({PG_URL.rsplit('@', 1)[-1]})"
    return "PostgreSQL tests: skipped (set TEST_DATABASE_URL to run them)"


@pytest.fixture(autouse=True)
def _no_env_file(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read a developer's .env, nor inherit their BOT_TOKEN."""
    monkeypatch.setitem(Settings.model_config, "env_file", None)
    for name in list(os.environ):
        if name in {f.upper() for f in Settings.model_fields}:
            monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def no_transaction_across_network(request: pytest.FixtureRequest) -> Iterator[TransactionGuard]:
    """Fails any test during which a database connection was held while the same task awaited
    Telegram, a publisher or the model (DESIGN.md, "Transactions")."""
    with transaction_guard() as guard:
        yield guard
    if guard.violations and "allow_transaction_across_network" not in request.keywords:
        details = "\n\n".join(str(v) for v in guard.violations[:3])
        pytest.fail(
            f"{len(guard.violations)} network call(s) awaited inside a unit of work:\n{details}",
            pytrace=False,
        )


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": TEST_TOKEN,
        "health_port": 0,
        "log_file": None,
        "admin_ids": [999],
        # Tests press faster than any person: the throttle has tests of its own.
        "throttle_rate": 0,
    }
    values.update(overrides)
    return Settings(**values)


async def _pg_schema_url(base: str) -> tuple[str, str]:
    import asyncpg

    schema = f"t_{uuid.uuid4().hex[:12]}"
    dsn = base.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
    return schema, dsn


async def _drop_pg_schema(dsn: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


def pg_url_with_schema(base: str, schema: str) -> str:
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}schema={schema}"


@contextlib.asynccontextmanager
async def database(kind: str, tmp_path: Path) -> AsyncIterator[tuple[str, AsyncEngine]]:
    """A migrated, empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if kind == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        await upgrade_database(url)
        engine = create_engine(url)
        try:
            yield url, engine
        finally:
            await engine.dispose()
        return
    if not PG_URL:
        pytest.skip("PostgreSQL: TEST_DATABASE_URL is not set")
    schema, dsn = await _pg_schema_url(PG_URL)
    url = pg_url_with_schema(PG_URL, schema)
    await upgrade_database(url)
    engine = create_engine(url)
    try:
        yield url, engine
    finally:
        await engine.dispose()
        await _drop_pg_schema(dsn, schema)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[str, AsyncEngine]]:
    async with database(request.param, tmp_path) as value:
        yield value


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[tuple[str, AsyncEngine]]:
    async with database("sqlite", tmp_path) as value:
        yield value


@pytest.fixture
def session_factory(db: tuple[str, AsyncEngine]) -> Any:
    return create_session_factory(db[1])


@pytest.fixture
def uow(db: tuple[str, AsyncEngine]) -> Database:
    """The units of work (storage/uow.py) over the test database, as the workers take them:
    one per test, so that its workers' writers queue as they would in one process."""
    return Database(db[1])


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 12, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
async def fake_tg() -> AsyncIterator[FakeTelegram]:
    server = FakeTelegram(TEST_TOKEN)
    await server.start()
    server.add_user(USER_ID, "Anna", "en", "anna")
    server.add_user(OTHER_USER_ID, "Boris", "ru", "boris")
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def caplog_info(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.INFO)
    yield caplog


@contextlib.asynccontextmanager
async def polling(app: Any) -> AsyncIterator[None]:
    """Real aiogram long polling against the fake server, in the test's event loop."""
    task = asyncio.create_task(
        app.dispatcher.start_polling(
            app.bot, handle_signals=False, close_bot_session=False, polling_timeout=1
        )
    )
    try:
        for _ in range(200):
            if app.dispatcher._running_lock.locked():
                break
            await asyncio.sleep(0.02)
        yield
    finally:
        with contextlib.suppress(RuntimeError):
            await app.dispatcher.stop_polling()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await asyncio.wait_for(task, 10)
        await app.bot.session.close()
