"""Retry and rate-limit policy for publishing: backoff for real errors, and the worker's
side of the shared limiter (its windows live in services/ratelimit.py)."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from services.ratelimit import Limit, SharedLimiter


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    base_delay: float = 30.0
    max_delay: float = 3600.0
    jitter: float = 0.2
    rng: random.Random = field(default_factory=random.Random, compare=False)

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds before attempt `attempt + 1`: exponential with jitter, never sooner than
        the platform asked for."""
        backoff = min(self.max_delay, self.base_delay * (2 ** max(0, attempt - 1)))
        backoff *= 1 + self.rng.uniform(0, self.jitter)
        if retry_after is not None:
            return max(backoff if retry_after <= 0 else 0.0, retry_after + self.rng.uniform(0, 1))
        return backoff

    def rate_limited_delay(self, retry_after: float | None) -> float:
        """A 429: the platform's wait plus jitter (so that the posts it stopped do not all
        come back at the same instant); no backoff, since no attempt was used."""
        wait = DEFAULT_RATE_LIMIT_WAIT if retry_after is None else max(0.0, retry_after)
        return wait + self.rng.uniform(0, max(0.5, wait * self.jitter))


@dataclass(frozen=True)
class Window:
    seconds: float
    limit: int


log = logging.getLogger("ScheduledPostsWorker")

DEFAULT_RATE_LIMIT_WAIT = 5.0  # a 429 that did not say how long
# A send leaving this much after its booked moment moves its stamps (Pacer.leaving): well
# within the global window's margin (2 % of a second: 20 ms) and a chat's slack (0.1 s).
LATE_TOLERANCE = 0.005
# Telegram does not say which limit a 429 is for. Its bot-wide flood control asks for about
# a second; a chat's flood control for several. A short wait pauses the token and the chat,
# a longer one the chat only (a wrong guess costs one second of the token's sends, or a few
# more 429s, each of them deferred and paused in turn, never a failure).
TELEGRAM_GLOBAL_429_MAX_WAIT = 2.0


@dataclass(frozen=True)
class Slot:
    """`wait` 0.0: booked, and its moment has come (send now). Otherwise nothing was booked
    and the windows have no room for `wait` seconds."""

    wait: float
    at: float = 0.0  # the booked stamp, on the limiter's clock
    due: float = 0.0  # the booked moment, on this process's monotonic clock


class Pacer:
    """One worker process's door to the shared limiter (services/ratelimit.py).

    `slot` books the earliest send slot in every window of a post within `horizon` seconds
    and sleeps until it. Bookings go through one lock per process, so the process's posts
    queue for the token's pace in order (one round trip each, no polling), while the
    processes interleave through the shared state. Windows seen full are remembered until
    they may have room again, so a full channel costs no more round trips in this batch;
    that memory is bounded (entries expire with their wait)."""

    def __init__(
        self,
        limiter: SharedLimiter,
        *,
        horizon: float = 2.0,
        pace_wait: float = 0.25,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limiter = limiter
        self.horizon = horizon
        # The longest wait slept while holding the lock: a few of the token's paces (other
        # processes book one slot ahead each), never a channel's minute.
        self.pace_wait = min(pace_wait, horizon)
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = asyncio.Lock()
        self._blocked: dict[Limit, float] = {}
        self._shifts: set[asyncio.Task[None]] = set()

    def known_wait(self, limits: Sequence[Limit]) -> float:
        """How long this process already knows one of these windows stays full."""
        now = self._monotonic()
        until = max((self._blocked.get(limit, 0.0) for limit in limits), default=0.0)
        return max(0.0, until - now)

    async def peek(self, limits: Sequence[Limit]) -> float:
        """How long until every window has room; records nothing."""
        if not limits:
            return 0.0
        known = self.known_wait(limits)
        if known > self.horizon:
            return known
        started = self._monotonic()
        decision = await self.limiter.take(limits, max_wait=-1.0)
        self._remember(limits, decision.waits, started)
        return decision.wait

    async def slot(
        self, limits: Sequence[Limit], booked: Callable[[], object] | None = None
    ) -> Slot:
        if not limits:
            return Slot(0.0, due=self._monotonic())
        known = self.known_wait(limits)
        if known > self.horizon:
            return Slot(known)
        async with self._lock:
            started = self._monotonic()
            decision = await self.limiter.take(limits, max_wait=self.horizon)
            if not decision.booked:
                self._remember(limits, decision.waits, started)
                return Slot(max(decision.wait, 1e-3))
            if booked is not None:
                booked()
            due = started + decision.wait
            remaining = due - self._monotonic()
            if remaining > 0:
                await self._sleep(remaining)
        return Slot(0.0, at=decision.at, due=due)

    def leaving(self, limits: Sequence[Limit], slot: Slot) -> None:
        """Right before the request leaves. If that is more than LATE_TOLERANCE after the
        moment booked for it (its write-ahead mark committed late, a busy event loop), its
        stamps move to now in every window (in the background, so the send is not delayed
        further): the platform counts it from when it arrives, and the windows then admit
        the next sends from that moment, not from the booking. No slot is wasted, and
        posts delayed together cannot reach the platform as one bunch over the limit."""
        late = self._monotonic() - slot.due
        windows = [limit for limit in limits if limit.limit > 0]
        if late <= LATE_TOLERANCE or not windows or not slot.at:
            return
        task = asyncio.create_task(self._shift(windows, slot.at, late))
        self._shifts.add(task)
        task.add_done_callback(self._shifts.discard)

    async def _shift(self, windows: list[Limit], at: float, late: float) -> None:
        try:
            await self.limiter.shift(windows, at, late)
        except Exception as exc:
            log.warning("could not move a rate-limit stamp: %r", exc)

    def _remember(self, limits: Sequence[Limit], waits: Sequence[float], started: float) -> None:
        for limit, wait in zip(limits, waits, strict=False):
            if wait > self.horizon:
                self._blocked[limit] = started + wait
        if len(self._blocked) > 256:
            now = self._monotonic()
            for limit in [k for k, until in self._blocked.items() if until <= now]:
                del self._blocked[limit]
