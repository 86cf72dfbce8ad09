"""Send limits shared by every process of one bot (issue 14).

A `Limit` is one sliding window: at most `limit` events per `period` seconds under `key`.
Everything that talks to a platform asks a `SharedLimiter` first, with all the windows that
apply at once (Telegram: the token's global pace, the channel's 20 per minute, the target's
hourly cap), and the limiter answers for all of them atomically: either a slot was recorded
in every window, or nothing was recorded and the caller learns how long to wait.

Three backends, chosen by the composition root (`bot.factory.create_limiter`):
- `MemoryLimiter`: one process (SQLite). Exact sliding windows in memory, bounded: a window
  keeps at most `limit` stamps and a key unused for a whole period is dropped.
- `DatabaseLimiter`: several processes on PostgreSQL without Redis. One row per key holding
  the window's last stamps and its pause, updated under a row lock in one short transaction.
- `RedisLimiter`: with REDIS_URL. One Lua script checks and records every window and pause at
  once (see its docstring for why not the `limits` library).

Keys are logical ("tg:global", "tg:chat:-100123", "target:7:hour"); a backend prefixes them
with a hash of the bot token (never the token), so two bots sharing a Redis never mix.

Time: the memory and database backends use the injected `clock` (wall time by default: the
processes of one bot must run on hosts with synchronised clocks); Redis uses the server's
clock unless one is injected.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from bisect import bisect_left, insort
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    from storage.uow import Database

# Key of the bot-wide Telegram pace and of its pause (a 429 for the whole token).
TELEGRAM_GLOBAL = "tg:global"


@dataclass(frozen=True)
class Limit:
    """One window: at most `limit` events per `period` seconds under `key`.

    `limit <= 0` is no window at all: the limit only carries the key's pause (a platform
    whose 429 must stop one account even when no cap is configured for it)."""

    key: str
    limit: int
    period: float
    # The longest `take` may book ahead for this window (None: take's own max_wait). The
    # worker waits for the token's pace but never for a channel's minute: a post whose
    # channel is full is deferred in the database instead of holding the pace.
    max_wait: float | None = None


@dataclass(frozen=True)
class Decision:
    """The answer to `take`.

    booked: a slot was recorded in every window at `now + wait` (the caller sends then).
    Not booked: nothing was recorded; `wait` is when every window would have room, and
    `waits[i]` is how long `limits[i]` alone (with its pause) would make the caller wait."""

    booked: bool
    wait: float
    waits: tuple[float, ...]
    # The booked stamp on the limiter's own clock (for `shift`); 0.0 when not booked.
    at: float = 0.0


@runtime_checkable
class SharedLimiter(Protocol):
    async def reserve(self, limits: Sequence[Limit]) -> float:
        """0.0: a slot in every window was recorded for the caller now. >0: nothing recorded;
        ask again after that many seconds (includes any active pause)."""
        ...

    async def take(self, limits: Sequence[Limit], *, max_wait: float) -> Decision:
        """Book the earliest moment, at most `max_wait` seconds away, when every window has
        room (recorded at that future moment, so waiters in several processes queue instead
        of polling); or, past `max_wait`, record nothing and say how long each window waits."""
        ...

    async def pause(self, key: str, seconds: float) -> None:
        """A 429: every process backs off this key for `seconds`."""
        ...

    async def acquire(self, limits: Sequence[Limit], *, max_wait: float) -> bool:
        """reserve + sleep; False (nothing recorded) if it would wait longer than max_wait."""
        ...

    async def shift(self, limits: Sequence[Limit], at: float, by: float) -> None:
        """Move the stamp booked at `at` (Decision.at) `by` seconds later in every window:
        the send left later than booked (its write-ahead mark, a slow network), and the
        platform counts it from when it arrived."""
        ...

    async def close(self) -> None: ...


def token_prefix(token: str, namespace: str = "cc") -> str:
    """A key prefix for one bot: a short hash of its token, never the token itself."""
    digest = hashlib.sha256(token.encode()).hexdigest()[:16]
    return f"{namespace}:{digest}:"


def telegram_limits(
    chat_id: int | str,
    *,
    channel: bool,
    global_rate: float = 30.0,
    per_channel_per_minute: int = 20,
    per_chat_per_second: float = 1.0,
    margin: float = 0.02,
    slack: float = 0.1,
) -> list[Limit]:
    """The windows of one Telegram send: the token's global rate (about 30 messages per
    second), and 20 per minute to a channel or about one per second to a private chat.

    The global rate is two windows under one key (one pause): a pace (one send every
    1/rate s, so the sends reach Telegram spread out, not 30 at once then a pause) and at
    most `rate` sends in any 1 + `margin` seconds (2 %: 20 ms of slack per second). A send
    that leaves later than its slot moves its stamp (SharedLimiter.shift), and the window
    then counts it from when it really left. `slack` widens a chat's minute the same way
    (0.1 s). The global windows come first in the list."""
    limits = [
        Limit(TELEGRAM_GLOBAL, 1, 1.0 / global_rate),
        Limit(TELEGRAM_GLOBAL, max(1, int(global_rate)), 1.0 + margin),
    ]
    if channel:
        limits.append(Limit(telegram_chat_key(chat_id), per_channel_per_minute, 60.0 + slack))
    else:
        limits.append(Limit(telegram_chat_key(chat_id), 1, (1.0 + margin) / per_chat_per_second))
    return limits


def telegram_chat_key(chat_id: int | str) -> str:
    return f"tg:chat:{chat_id}"


class _Base:
    """`reserve` and `acquire` on top of a backend's `take`."""

    sleep: Callable[[float], Awaitable[None]]

    async def take(self, limits: Sequence[Limit], *, max_wait: float) -> Decision:
        raise NotImplementedError

    async def reserve(self, limits: Sequence[Limit]) -> float:
        decision = await self.take(limits, max_wait=0.0)
        return 0.0 if decision.booked else max(decision.wait, 1e-6)

    async def acquire(self, limits: Sequence[Limit], *, max_wait: float) -> bool:
        decision = await self.take(limits, max_wait=max_wait)
        if not decision.booked:
            return False
        if decision.wait > 0:
            await self.sleep(decision.wait)
        return True

    async def close(self) -> None:
        return None


# ---------- one process ----------


@dataclass
class _Window:
    stamps: list[float]
    expires: float  # no stamp of this key counts after this moment


def _move_stamp(stamps: list[float], at: float, by: float) -> bool:
    """Move the stamp at `at` (within 0.1 ms: stamps travel as text) to `at + by`."""
    index = bisect_left(stamps, at - 1e-4)
    if index < len(stamps) and stamps[index] <= at + 1e-4:
        del stamps[index]
        insort(stamps, at + by)
        return True
    return False


def _within(
    limits: Sequence[Limit], moments: Sequence[float], now: float, max_wait: float
) -> bool:
    """May the caller be booked at max(moments)? Within `max_wait`, and within each window's
    own `max_wait` for that window."""
    if max(moments, default=now) - now > max_wait + 1e-9:
        return False
    return all(
        limit.max_wait is None or moment - now <= limit.max_wait + 1e-9
        for limit, moment in zip(limits, moments, strict=True)
    )


def _window_wait(stamps: list[float], limit: int, period: float, at: float) -> float:
    """The earliest moment >= `at` when a window holding `stamps` (sorted) has room."""
    if limit <= 0 or len(stamps) < limit:
        return at
    # The limit-th most recent stamp must have left the window.
    return max(at, stamps[len(stamps) - limit] + period)


class MemoryLimiter(_Base):
    """Exact sliding windows in this process's memory (SQLite: one process per bot).

    Memory stays bounded: a window keeps only its last `limit` stamps, and the keys whose
    windows and pauses have all run out are dropped by a sweep every `sweep_every` seconds."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        sweep_every: float = 60.0,
    ) -> None:
        self.clock = clock
        self.sleep = sleep
        self._windows: dict[tuple[str, int, float], _Window] = {}
        self._pauses: dict[str, float] = {}
        self._sweep_every = sweep_every
        self._next_sweep = clock() + sweep_every

    def __len__(self) -> int:
        return len(self._windows) + len(self._pauses)

    def seed(self, limit: Limit, stamps: Sequence[float]) -> None:
        """Earlier sends this process learned from the database (a restart must not forget
        the last hour). Only the memory backend needs it: a shared one already knows."""
        window = self._window(limit)
        for stamp in stamps:
            insort(window.stamps, stamp)
        self._trim(window, limit)

    def _window(self, limit: Limit) -> _Window:
        ident = (limit.key, limit.limit, limit.period)
        window = self._windows.get(ident)
        if window is None:
            window = self._windows[ident] = _Window([], 0.0)
        return window

    @staticmethod
    def _trim(window: _Window, limit: Limit) -> None:
        if len(window.stamps) > limit.limit:
            del window.stamps[: len(window.stamps) - limit.limit]
        if window.stamps:
            window.expires = window.stamps[-1] + limit.period

    async def take(self, limits: Sequence[Limit], *, max_wait: float) -> Decision:
        # Synchronous from here on: nothing else in this process can take the slot between
        # the check and the record.
        now = self.clock()
        self._maybe_sweep(now)
        moments = []
        for limit in limits:
            at = max(now, self._pauses.get(limit.key, now))
            if limit.limit > 0:
                window = self._windows.get((limit.key, limit.limit, limit.period))
                if window is not None:
                    at = _window_wait(window.stamps, limit.limit, limit.period, at)
            moments.append(at)
        start = max(moments, default=now)
        wait = start - now
        if not _within(limits, moments, now, max_wait):
            return Decision(False, wait, tuple(m - now for m in moments))
        for limit in limits:
            if limit.limit > 0:
                window = self._window(limit)
                insort(window.stamps, start)
                self._trim(window, limit)
        return Decision(True, wait, tuple(0.0 for _ in limits), at=start)

    async def shift(self, limits: Sequence[Limit], at: float, by: float) -> None:
        for limit in limits:
            window = self._windows.get((limit.key, limit.limit, limit.period))
            if window is not None and _move_stamp(window.stamps, at, by):
                self._trim(window, limit)

    async def pause(self, key: str, seconds: float) -> None:
        until = self.clock() + max(0.0, seconds)
        if until > self._pauses.get(key, 0.0):
            self._pauses[key] = until

    def _maybe_sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + self._sweep_every
        for ident in [i for i, w in self._windows.items() if w.expires <= now]:
            del self._windows[ident]
        for key in [k for k, until in self._pauses.items() if until <= now]:
            del self._pauses[key]


# ---------- PostgreSQL without Redis ----------


def _encode(stamps: Sequence[float]) -> str:
    return ",".join(f"{s:.6f}" for s in stamps)


def _decode(text: str | None) -> list[float]:
    return [float(part) for part in text.split(",") if part] if text else []


class DatabaseLimiter(_Base):
    """The windows in the database: several workers-only processes on one PostgreSQL.

    One row per window key (`rate_limits`): its last `limit` stamps and its pause. `take`
    is one short write unit: rows locked in key order (`SELECT ... FOR UPDATE`, so two
    processes never deadlock and never both see the same free slot), decided, written back.
    No network call happens inside the unit. On SQLite (one writer at a time) the same code
    is simply serialized.

    Rows expire: each carries `expires_at` (its last stamp or pause plus the period), and
    every `sweep_every` seconds one process deletes the rows past it."""

    def __init__(
        self,
        db: Database,
        *,
        prefix: str = "",
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        sweep_every: float = 300.0,
    ) -> None:
        self.db = db
        self.prefix = prefix
        self.clock = clock
        self.sleep = sleep
        self._sweep_every = sweep_every
        self._next_sweep = clock() + sweep_every
        self._known: set[str] = set()

    def _window(self, limit: Limit) -> str:
        return f"{self.prefix}w:{limit.key}:{limit.limit}:{limit.period:g}"

    def _pause(self, key: str) -> str:
        return f"{self.prefix}p:{key}"

    async def take(self, limits: Sequence[Limit], *, max_wait: float) -> Decision:
        from sqlalchemy import bindparam, select, update

        from storage.models import RateLimitState

        table: Any = RateLimitState.__table__
        windows = sorted({self._window(limit) for limit in limits if limit.limit > 0})
        keys = sorted({*windows, *(self._pause(limit.key) for limit in limits)})
        query: Any = (
            select(table.c.key, table.c.stamps, table.c.paused_until)
            .where(table.c.key.in_(keys))
            .order_by(table.c.key)
        )
        if max_wait < 0:
            # A peek records nothing: a plain read, no lock, no write unit.
            async with self.db.read() as session:
                rows = (await session.execute(query)).all()
            return self._decide(limits, {r.key: r for r in rows}, self.clock(), max_wait)[0]
        query = query.with_for_update()
        async with self.db.write() as session:
            # Rows this process has seen exist already (one statement fewer); a row swept
            # meanwhile is simply inserted again.
            if not self._known.issuperset(windows):
                await _ensure_rows(session, windows)
            rows = (await session.execute(query)).all()
            if not {r.key for r in rows}.issuperset(windows):
                await _ensure_rows(session, windows)
                rows = (await session.execute(query)).all()
            if len(self._known) > 10_000:  # bounded
                self._known.clear()
            self._known.update(windows)
            # Taken after the locks: a process that waited for them must not decide with
            # an older time than the one that held them.
            now = self.clock()
            decision, changes = self._decide(limits, {r.key: r for r in rows}, now, max_wait)
            if changes:
                # One statement for every window (executemany), then the commit.
                await session.execute(
                    update(table)
                    .where(table.c.key == bindparam("k"))
                    .values(stamps=bindparam("s"), expires_at=bindparam("e")),
                    changes,
                )
        await self._maybe_sweep(now)
        return decision

    def _decide(
        self, limits: Sequence[Limit], state: dict[str, Any], now: float, max_wait: float
    ) -> tuple[Decision, list[dict[str, Any]]]:
        """The decision over rows read (and locked); the rows' new values if booked."""
        moments = []
        windows: dict[str, list[float]] = {}
        for limit in limits:
            paused = state.get(self._pause(limit.key))
            at = max(now, paused.paused_until or now) if paused is not None else now
            if limit.limit > 0:
                ident = self._window(limit)
                row = state.get(ident)
                stamps = windows.setdefault(ident, _decode(row.stamps if row else ""))
                at = _window_wait(stamps, limit.limit, limit.period, at)
            moments.append(at)
        start = max(moments, default=now)
        wait = start - now
        if not _within(limits, moments, now, max_wait):
            return Decision(False, wait, tuple(m - now for m in moments)), []
        changes = []
        for limit in limits:
            if limit.limit <= 0:
                continue
            ident = self._window(limit)
            stamps = windows[ident]
            insort(stamps, start)
            del stamps[: max(0, len(stamps) - limit.limit)]
            # The row lives as long as its newest stamp counts (a pause keeps its own).
            changes.append({"k": ident, "s": _encode(stamps), "e": start + limit.period})
        return Decision(True, wait, tuple(0.0 for _ in limits), at=start), changes

    async def shift(self, limits: Sequence[Limit], at: float, by: float) -> None:
        from sqlalchemy import select

        from storage.models import RateLimitState

        windows = {self._window(limit): limit for limit in limits if limit.limit > 0}
        if not windows:
            return
        async with self.db.write() as session:
            rows = (
                await session.scalars(
                    select(RateLimitState)
                    .where(RateLimitState.key.in_(sorted(windows)))
                    .order_by(RateLimitState.key)
                    .with_for_update()
                )
            ).all()
            for row in rows:
                stamps = _decode(row.stamps)
                if _move_stamp(stamps, at, by):
                    row.stamps = _encode(stamps)
                    limit = windows[row.key]
                    row.expires_at = max(row.expires_at or 0.0, at + by + limit.period)

    async def pause(self, key: str, seconds: float) -> None:
        from sqlalchemy import select

        from storage.models import RateLimitState

        ident = self._pause(key)
        async with self.db.write() as session:
            await _ensure_rows(session, [ident])
            row = await session.scalar(
                select(RateLimitState).where(RateLimitState.key == ident).with_for_update()
            )
            assert row is not None
            until = self.clock() + max(0.0, seconds)
            if until > (row.paused_until or 0.0):
                row.paused_until = until
                row.expires_at = max(row.expires_at or 0.0, until)

    async def _maybe_sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._next_sweep = now + self._sweep_every
        from sqlalchemy import delete

        from storage.models import RateLimitState

        async with self.db.write() as session:
            await session.execute(
                delete(RateLimitState).where(
                    RateLimitState.key.startswith(self.prefix, autoescape=True),
                    RateLimitState.expires_at < now,
                    RateLimitState.paused_until < now,
                )
            )


async def _ensure_rows(session: Any, keys: Sequence[str]) -> None:
    """Insert the missing rows without conflicting with a process inserting them too."""
    from storage.models import RateLimitState

    dialect = session.bind.dialect.name if session.bind is not None else ""
    values = [{"key": key, "stamps": "", "paused_until": 0.0, "expires_at": 0.0} for key in keys]
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement: Any = pg_insert(RateLimitState).on_conflict_do_nothing()
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(RateLimitState).on_conflict_do_nothing()
    await session.execute(statement, values)


# ---------- Redis ----------

# KEYS: window key and pause key of each limit, in pairs. ARGV: now (negative: the server's
# clock), max_wait, then limit, period, a unique member and the window's own max wait
# (negative: none) for each limit.
# Returns {booked, wait, wait of each limit} as strings (Lua numbers would be truncated).
_TAKE = """
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local max_wait = tonumber(ARGV[2])
local n = #KEYS / 2
local start = now
local moments = {}
local too_far = false
for i = 1, n do
  local key, pause = KEYS[2 * i - 1], KEYS[2 * i]
  local limit = tonumber(ARGV[4 * i - 1])
  local period = tonumber(ARGV[4 * i])
  local own = tonumber(ARGV[4 * i + 2])
  local at = now
  local paused = redis.call('GET', pause)
  if paused and tonumber(paused) > at then at = tonumber(paused) end
  if limit > 0 then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. tostring(now - period))
    if redis.call('ZCARD', key) >= limit then
      local e = redis.call('ZREVRANGE', key, limit - 1, limit - 1, 'WITHSCORES')
      local room = tonumber(e[2]) + period
      if room > at then at = room end
    end
  end
  moments[i] = at
  if at > start then start = at end
  if own >= 0 and at - now > own + 1e-9 then too_far = true end
end
local result = {}
if too_far or start - now > max_wait + 1e-9 then
  result[1] = '0'
  result[2] = tostring(start - now)
  for i = 1, n do result[i + 2] = tostring(moments[i] - now) end
  return result
end
for i = 1, n do
  local key = KEYS[2 * i - 1]
  local limit = tonumber(ARGV[4 * i - 1])
  local period = tonumber(ARGV[4 * i])
  if limit > 0 then
    redis.call('ZADD', key, start, ARGV[4 * i + 1])
    redis.call('ZREMRANGEBYRANK', key, 0, -(limit + 1))
    redis.call('PEXPIRE', key, math.ceil((start - now + period) * 1000) + 1000)
  end
end
result[1] = '1'
result[2] = tostring(start - now)
for i = 1, n do result[i + 2] = '0' end
result[n + 3] = string.format('%.6f', start)
return result
"""

# KEYS: window keys. ARGV: the booked stamp, the shift, then each window's period.
_SHIFT = """
local at = tonumber(ARGV[1])
local moved = at + tonumber(ARGV[2])
for i = 1, #KEYS do
  local found = redis.call('ZRANGEBYSCORE', KEYS[i], at - 0.0001, at + 0.0001, 'LIMIT', 0, 1)
  if found[1] then
    redis.call('ZADD', KEYS[i], 'XX', moved, found[1])
    local ttl = redis.call('PTTL', KEYS[i])
    local wanted = math.ceil((tonumber(ARGV[2]) + tonumber(ARGV[i + 2])) * 1000) + 1000
    if ttl >= 0 and ttl < wanted then redis.call('PEXPIRE', KEYS[i], wanted) end
  end
end
return 1
"""

# KEYS: the pause key. ARGV: now (negative: the server's clock), seconds.
_PAUSE = """
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local seconds = tonumber(ARGV[2])
local untl = now + seconds
local current = redis.call('GET', KEYS[1])
if (not current) or tonumber(current) < untl then
  redis.call('SET', KEYS[1], string.format('%.6f', untl), 'PX', math.ceil(seconds * 1000) + 1000)
end
return 1
"""


class RedisLimiter(_Base):
    """The windows in Redis (REDIS_URL): any number of processes and machines.

    One small Lua script per decision rather than the `limits` library: `limits` answers
    "may I, now?" one window at a time, so a send under three windows would be three round
    trips that can each succeed while the next fails (recording a slot nobody uses), and it
    has no notion of a shared pause. The worker needs, atomically and in one round trip, the
    check and the record over every window of a send *plus* the key's pause set by a 429,
    and, when it may not go, how long each window makes it wait (the per-channel wait
    defers the post in the database; the global one is only slept). Each window is a sorted
    set of at most `limit` stamps with an expiry of its period, so memory stays bounded in
    Redis too; a pause is a key with a TTL. The server's clock is the one every process
    agrees on."""

    def __init__(
        self,
        url_or_client: Any,
        *,
        prefix: str = "",
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if isinstance(url_or_client, str):
            from redis.asyncio import Redis

            self.redis = Redis.from_url(url_or_client)
            self._owned = True
        else:
            self.redis = url_or_client
            self._owned = False
        self.prefix = prefix
        self.clock = clock
        self.sleep = sleep
        self._take = self.redis.register_script(_TAKE)
        self._pause = self.redis.register_script(_PAUSE)
        self._shift = self.redis.register_script(_SHIFT)
        self._members = 0
        self._nonce = hashlib.sha256(f"{time.time_ns()}:{id(self)}".encode()).hexdigest()[:8]

    def _now(self) -> float:
        return self.clock() if self.clock is not None else -1.0

    def _window_key(self, limit: Limit) -> str:
        return f"{self.prefix}w:{limit.key}:{limit.limit}:{limit.period:g}"

    def _pause_key(self, key: str) -> str:
        return f"{self.prefix}p:{key}"

    async def take(self, limits: Sequence[Limit], *, max_wait: float) -> Decision:
        keys: list[str] = []
        args: list[Any] = [repr(self._now()), repr(max_wait)]
        for limit in limits:
            keys += [self._window_key(limit), self._pause_key(limit.key)]
            self._members += 1
            own = -1.0 if limit.max_wait is None else limit.max_wait
            args += [
                limit.limit,
                repr(float(limit.period)),
                f"{self._nonce}:{self._members}",
                repr(float(own)),
            ]
        reply = await self._take(keys=keys, args=args)
        values = [float(v) for v in reply]
        booked = values[0] == 1.0
        waits = values[2 : 2 + len(limits)]
        at = values[2 + len(limits)] if booked else 0.0
        return Decision(booked, max(0.0, values[1]), tuple(max(0.0, v) for v in waits), at=at)

    async def shift(self, limits: Sequence[Limit], at: float, by: float) -> None:
        windows = [limit for limit in limits if limit.limit > 0]
        if windows:
            await self._shift(
                keys=[self._window_key(limit) for limit in windows],
                args=[f"{at:.6f}", repr(by), *(repr(float(w.period)) for w in windows)],
            )

    async def pause(self, key: str, seconds: float) -> None:
        await self._pause(keys=[self._pause_key(key)], args=[repr(self._now()), repr(seconds)])

    async def close(self) -> None:
        if self._owned:
            await self.redis.aclose()


def ceil_ms(seconds: float) -> float:
    """Seconds rounded up to the millisecond (a deferral a microsecond early only defers
    again)."""
    return math.ceil(seconds * 1000) / 1000
