"""Units of work: the only way the application talks to its database.

Every use case opens exactly one short unit, either

- `Database.read()`: a read-only transaction (SQLite: `PRAGMA query_only`, PostgreSQL:
  `BEGIN READ ONLY`), so a read unit that tries to write fails loudly instead of upgrading a
  deferred SQLite transaction (which fails at once with "database is locked" when another
  connection committed in between; the busy timeout does not help that upgrade), or
- `Database.write()`: a write transaction committed when the block ends. On SQLite, writers
  of this process queue on one asyncio lock (FIFO, no pooled connection held while waiting)
  and then start with `BEGIN IMMEDIATE`, so a writer waits its turn instead of failing; the
  wait is bounded (`WriteQueueTimeout`) and a long one is logged. Other processes on the
  same file are waited for by SQLite's busy timeout, also bounded and logged. PostgreSQL
  keeps its normal pool and concurrency.

A unit is closed, and its connection back in the pool, before the caller awaits anything on
the network (Telegram, X, Instagram, the model): open a unit, do the database work, leave
the block, then talk to the platform.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

log = logging.getLogger("storage")

# Execution option that tells the SQLite "begin" hook which kind of transaction to open.
UNIT_KIND = "curator_unit"
READ = "read"
WRITE = "write"

# A writer that waited longer than this for its turn is logged (and the time is counted).
SLOW_WAIT_SECONDS = 0.5


class WriteQueueTimeout(RuntimeError):
    """A writer waited longer than the bound for its turn (the database is overloaded)."""


class WriteQueueStats:
    """How the SQLite writer queue behaves: read by /workers, the bench and the tests."""

    def __init__(self) -> None:
        self.units = 0
        self.waited = 0
        self.slow_waits = 0
        self.longest_wait = 0.0
        self.timeouts = 0

    def record(self, wait: float) -> None:
        self.units += 1
        if wait > 0.001:
            self.waited += 1
        self.longest_wait = max(self.longest_wait, wait)
        if wait >= SLOW_WAIT_SECONDS:
            self.slow_waits += 1


class Database:
    """The engine plus the rules for using it: `read()` and `write()` units."""

    def __init__(self, engine: AsyncEngine, *, write_timeout: float = 30.0) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self.write_timeout = write_timeout
        self.stats = WriteQueueStats()
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._writer = asyncio.Lock() if self.is_sqlite else None
        if self.is_sqlite:
            install_sqlite_unit_hooks(engine)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncSession]:
        """A read-only unit; its connection goes back to the pool when the block ends."""
        async with self._sessions() as session:
            options: dict[str, Any] = (
                {UNIT_KIND: READ} if self.is_sqlite else {"postgresql_readonly": True}
            )
            await session.connection(execution_options=options)
            # Leaving the block closes the session: the transaction ends and the objects read
            # are detached with their loaded values (no expiry, so callers may keep them).
            yield session

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncSession]:
        """A write unit, committed when the block ends normally and rolled back otherwise."""
        if self._writer is None:
            async with self._sessions() as session, session.begin():
                yield session
            return
        started = time.monotonic()
        try:
            await asyncio.wait_for(self._writer.acquire(), self.write_timeout)
        except TimeoutError:
            self.stats.timeouts += 1
            log.error("a writer waited %.1f s for its turn and gave up", self.write_timeout)
            raise WriteQueueTimeout(
                f"no turn to write within {self.write_timeout:.0f} s"
            ) from None
        try:
            async with self._sessions() as session:
                # BEGIN IMMEDIATE takes SQLite's write lock now; only another process can make
                # it wait (busy_timeout), and that wait is measured with the queue's.
                await session.connection(execution_options={UNIT_KIND: WRITE})
                wait = time.monotonic() - started
                self.stats.record(wait)
                if wait >= SLOW_WAIT_SECONDS:
                    log.warning("a writer waited %.2f s for its turn", wait)
                try:
                    yield session
                except BaseException:
                    await session.rollback()
                    raise
                await session.commit()
        finally:
            self._writer.release()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A plain session for code that manages its own transactions (tests, migrations)."""
        async with self._sessions() as session:
            yield session

    async def dispose(self) -> None:
        await self.engine.dispose()


_HOOKED = "curator_unit_hooks"


def install_sqlite_unit_hooks(engine: AsyncEngine) -> None:
    """Open each transaction as its unit asks: read-only, immediate, or (for code outside the
    units, such as migrations and tests) a plain deferred BEGIN."""
    sync_engine = engine.sync_engine
    if sync_engine.dialect.name != "sqlite" or getattr(sync_engine, _HOOKED, False):
        return
    setattr(sync_engine, _HOOKED, True)

    @event.listens_for(sync_engine, "begin")
    def _begin(conn: Any) -> None:
        kind = conn.get_execution_options().get(UNIT_KIND)
        if kind == READ:
            conn.exec_driver_sql("PRAGMA query_only=1")
            conn.exec_driver_sql("BEGIN")
        elif kind == WRITE:
            conn.exec_driver_sql("PRAGMA query_only=0")
            started = time.monotonic()
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            waited = time.monotonic() - started
            if waited >= SLOW_WAIT_SECONDS:
                log.warning("SQLite was busy (another process writing) for %.2f s", waited)
        else:
            conn.exec_driver_sql("PRAGMA query_only=0")
            conn.exec_driver_sql("BEGIN")
