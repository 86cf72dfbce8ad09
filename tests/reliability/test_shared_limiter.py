"""The shared rate limiter's backends (services/ratelimit.py): the same behaviour in memory,
in the database (SQLite and PostgreSQL) and in Redis; time is injected, so nothing here is
timed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.factory import create_limiter
from bot.settings import RateLimitBackend
from services.ratelimit import (
    TELEGRAM_GLOBAL,
    DatabaseLimiter,
    Limit,
    MemoryLimiter,
    RedisLimiter,
    SharedLimiter,
    telegram_limits,
    token_prefix,
)
from storage.models import RateLimitState
from storage.uow import Database
from tests.conftest import (
    PG_URL,
    TEST_TOKEN,
    _drop_pg_schema,
    _pg_schema_url,
    make_settings,
    pg_url_with_schema,
)

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


class Clock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.value = start

    def __call__(self) -> float:
        return self.value

    def advance(self, seconds: float) -> None:
        self.value += seconds


async def _redis_or_skip() -> object:
    from redis.asyncio import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except Exception:
        await client.aclose()
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    return client


@contextlib.asynccontextmanager
async def limiter_table(kind: str, tmp_path: Path) -> AsyncIterator[Database]:
    """Only the limiter's table (the full migrations are tested elsewhere), in a SQLite file
    or a fresh PostgreSQL schema of its own."""
    from storage.db import create_engine

    if kind == "sqlite":
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'limits.db'}")
        schema = dsn = None
    else:
        if not PG_URL:
            pytest.skip("PostgreSQL: TEST_DATABASE_URL is not set")
        schema, dsn = await _pg_schema_url(PG_URL)
        engine = create_engine(pg_url_with_schema(PG_URL, schema))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(RateLimitState.metadata.tables["rate_limits"].create)
        yield Database(engine)
    finally:
        await engine.dispose()
        if schema is not None and dsn is not None:
            await _drop_pg_schema(dsn, schema)


@pytest.fixture(
    params=[
        "memory",
        "database-sqlite",
        pytest.param("database-postgres", marks=pytest.mark.postgres),
        "redis",
    ]
)
async def backend(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[SharedLimiter, Clock]]:
    clock = Clock()
    kind = request.param
    if kind == "memory":
        yield MemoryLimiter(clock=clock), clock
    elif kind.startswith("database"):
        async with limiter_table(kind.split("-")[1], tmp_path) as db:
            yield DatabaseLimiter(db, prefix="t:", clock=clock), clock
    else:
        client = await _redis_or_skip()
        prefix = f"test:{uuid.uuid4().hex}:"
        limiter = RedisLimiter(client, prefix=prefix, clock=clock)
        try:
            yield limiter, clock
        finally:
            keys = [k async for k in client.scan_iter(match=f"{prefix}*")]  # type: ignore[attr-defined]
            if keys:
                await client.delete(*keys)  # type: ignore[attr-defined]
            await client.aclose()  # type: ignore[attr-defined]


async def test_a_window_admits_its_limit_then_says_when_room_appears(
    backend: tuple[SharedLimiter, Clock],
) -> None:
    limiter, clock = backend
    window = [Limit("chat:1", 3, 60.0)]
    for _ in range(3):
        assert await limiter.reserve(window) == 0.0
        clock.advance(1.0)
    # Sends at 0, 1 and 2 s: the next fits when the first leaves the window, at 60 s.
    assert await limiter.reserve(window) == pytest.approx(57.0)
    clock.advance(56.9)
    assert await limiter.reserve(window) == pytest.approx(0.1)
    clock.advance(0.1)
    assert await limiter.reserve(window) == 0.0
    # Another key is another window.
    assert await limiter.reserve([Limit("chat:2", 3, 60.0)]) == 0.0


async def test_all_windows_or_none_are_recorded(backend: tuple[SharedLimiter, Clock]) -> None:
    limiter, _clock = backend
    full = Limit("chat:full", 1, 60.0)
    free = Limit("chat:free", 1, 60.0)
    assert await limiter.reserve([full]) == 0.0
    assert await limiter.reserve([free, full]) == pytest.approx(60.0)
    # Nothing was recorded in `free` by the refused call.
    assert await limiter.reserve([free]) == 0.0


async def test_take_reports_each_window_and_books_a_future_slot(
    backend: tuple[SharedLimiter, Clock],
) -> None:
    limiter, _clock = backend
    pace = Limit("global", 1, 0.5)
    channel = Limit("chat:9", 2, 60.0)
    first = await limiter.take([pace, channel], max_wait=1.0)
    assert first.booked and first.wait == 0.0
    # The pace is taken: the next slot is booked 0.5 s ahead, not polled for.
    second = await limiter.take([pace, channel], max_wait=1.0)
    assert second.booked and second.wait == pytest.approx(0.5)
    third = await limiter.take([pace, channel], max_wait=1.0)
    assert not third.booked
    # The channel is full for a minute; the pace alone would wait one more second.
    assert third.waits[0] == pytest.approx(1.0)
    assert third.waits[1] == pytest.approx(60.0)
    assert third.wait == pytest.approx(60.0)


async def test_a_pause_holds_every_window_of_its_key(
    backend: tuple[SharedLimiter, Clock],
) -> None:
    limiter, clock = backend
    await limiter.pause(TELEGRAM_GLOBAL, 5.0)
    limits = telegram_limits(-100, channel=True)
    assert await limiter.reserve(limits) == pytest.approx(5.0)
    # A shorter pause never shortens a longer one.
    await limiter.pause(TELEGRAM_GLOBAL, 1.0)
    clock.advance(2.0)
    assert await limiter.reserve(limits) == pytest.approx(3.0)
    # A key with no window (limit 0) still carries its pause.
    await limiter.pause("target:3", 10.0)
    assert await limiter.reserve([Limit("target:3", 0, 3600.0)]) == pytest.approx(10.0)
    clock.advance(3.0)
    assert await limiter.reserve(limits) == 0.0


async def test_acquire_gives_up_past_max_wait_and_records_nothing(
    backend: tuple[SharedLimiter, Clock],
) -> None:
    limiter, clock = backend
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(seconds)

    limiter.sleep = sleep  # type: ignore[attr-defined]
    limits = [Limit("private:5", 1, 1.0)]
    assert await limiter.acquire(limits, max_wait=0.0)
    assert await limiter.acquire(limits, max_wait=2.0)
    assert slept == [pytest.approx(1.0)]
    # Booked at +1 s and slept there; the next would wait one more second.
    assert not await limiter.acquire(limits, max_wait=0.5)
    assert await limiter.reserve(limits) == pytest.approx(1.0)


async def test_concurrent_callers_never_share_a_slot(
    backend: tuple[SharedLimiter, Clock],
) -> None:
    limiter, _clock = backend
    window = [Limit("chat:busy", 5, 60.0)]
    waits = await asyncio.gather(*(limiter.reserve(window) for _ in range(20)))
    assert sum(1 for w in waits if w == 0.0) == 5


def test_telegram_limits_pace_the_token_and_cap_the_chat() -> None:
    pace, second, channel = telegram_limits(-1001, channel=True)
    assert {pace.key, second.key} == {TELEGRAM_GLOBAL}  # one pause for both
    assert (pace.limit, pace.period) == (1, pytest.approx(1 / 30))
    assert (second.limit, second.period) == (30, pytest.approx(1.02))
    assert (channel.limit, channel.period) == (20, pytest.approx(60.1))
    *_global, private = telegram_limits(42, channel=False, margin=0.0)
    assert (private.key, private.limit, private.period) == ("tg:chat:42", 1, 1.0)


def test_the_prefix_hashes_the_token() -> None:
    prefix = token_prefix(TEST_TOKEN)
    assert TEST_TOKEN not in prefix and TEST_TOKEN.split(":")[1] not in prefix
    assert prefix == token_prefix(TEST_TOKEN) != token_prefix(TEST_TOKEN + "x")


async def test_memory_stays_bounded() -> None:
    clock = Clock()
    limiter = MemoryLimiter(clock=clock, sweep_every=10.0)
    for chat in range(1000):
        assert await limiter.reserve([Limit(f"chat:{chat}", 20, 60.0)]) == 0.0
        await limiter.pause(f"chat:{chat}", 5.0)
    assert len(limiter) == 2000
    # A window holds no more than its limit, however many sends it saw.
    for _ in range(100):
        await limiter.reserve([Limit("hot", 3, 1.0)])
        clock.advance(0.5)
    assert max(len(w.stamps) for w in limiter._windows.values()) == 3
    clock.advance(61.0)
    await limiter.reserve([Limit("hot", 3, 1.0)])
    assert len(limiter) == 1  # only the key just used


async def test_database_rows_of_unused_keys_are_swept(tmp_path: Path) -> None:
    clock = Clock()
    async with limiter_table("sqlite", tmp_path) as db:
        limiter = DatabaseLimiter(db, prefix="a:", clock=clock, sweep_every=10.0)
        other = DatabaseLimiter(db, prefix="b:", clock=clock, sweep_every=10.0)
        for chat in range(50):
            await limiter.reserve([Limit(f"chat:{chat}", 20, 60.0)])
        await other.reserve([Limit("chat:0", 20, 3600.0)])
        clock.advance(61.0)
        await limiter.reserve([Limit("chat:new", 20, 60.0)])
        async with db.read() as session:
            keys = set((await session.scalars(select(RateLimitState.key))).all())
            count = await session.scalar(select(func.count()).select_from(RateLimitState))
        # Only this bot's expired rows went; the other prefix's hour is still running.
        assert keys == {"a:w:chat:new:20:60", "b:w:chat:0:20:3600"} and count == 2
        # A key whose row was swept works again (its row comes back).
        assert await limiter.reserve([Limit("chat:7", 20, 60.0)]) == 0.0


@pytest.mark.parametrize(
    ("url", "redis", "forced", "expected"),
    [
        ("sqlite+aiosqlite:///x.db", None, RateLimitBackend.AUTO, MemoryLimiter),
        ("postgresql+asyncpg://u@h/db", None, RateLimitBackend.AUTO, DatabaseLimiter),
        ("postgresql+asyncpg://u@h/db", REDIS_URL, RateLimitBackend.AUTO, RedisLimiter),
        ("postgresql+asyncpg://u@h/db", REDIS_URL, RateLimitBackend.DATABASE, DatabaseLimiter),
        ("sqlite+aiosqlite:///x.db", None, RateLimitBackend.DATABASE, DatabaseLimiter),
    ],
)
async def test_the_composition_root_picks_the_backend(
    url: str, redis: str | None, forced: RateLimitBackend, expected: type
) -> None:
    from storage.db import create_engine

    engine = create_engine(url)
    try:
        settings = make_settings(database_url=url, redis_url=redis, rate_limit_backend=forced)
        limiter = create_limiter(settings, Database(engine))
        assert isinstance(limiter, expected)
        prefix: Callable[[], str] = lambda: getattr(limiter, "prefix", "")  # noqa: E731
        assert TEST_TOKEN not in prefix()
        await limiter.close()
    finally:
        await engine.dispose()


async def test_a_late_send_moves_its_stamp(backend: tuple[SharedLimiter, Clock]) -> None:
    limiter, _clock = backend
    window = [Limit("chat:late", 1, 60.0)]
    booked = await limiter.take(window, max_wait=0.0)
    assert booked.booked
    # The send left 3 s after its slot: the window counts from then.
    await limiter.shift(window, booked.at, 3.0)
    assert await limiter.reserve(window) == pytest.approx(63.0, abs=0.01)
    # A stamp that is not there moves nothing.
    await limiter.shift(window, booked.at - 30.0, 100.0)
    assert await limiter.reserve(window) == pytest.approx(63.0, abs=0.01)


async def test_a_peek_never_records(backend: tuple[SharedLimiter, Clock]) -> None:
    limiter, _clock = backend
    window = [Limit("chat:peek", 1, 60.0)]
    for _ in range(3):
        peeked = await limiter.take(window, max_wait=-1.0)
        assert not peeked.booked and peeked.wait == 0.0
    assert await limiter.reserve(window) == 0.0


async def test_a_window_can_refuse_to_be_waited_for(backend: tuple[SharedLimiter, Clock]) -> None:
    limiter, _clock = backend
    chat = Limit("chat:own", 1, 60.0, max_wait=0.25)
    assert (await limiter.take([chat], max_wait=100.0)).booked
    # The caller would wait up to 100 s, the window itself no more than 0.25 s.
    refused = await limiter.take([chat], max_wait=100.0)
    assert not refused.booked and refused.wait == pytest.approx(60.0)
