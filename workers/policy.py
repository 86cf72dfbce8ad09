"""Retry and rate-limit policy for publishing."""

from __future__ import annotations

import asyncio
import random
import time
from bisect import bisect_right, insort
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime


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


@dataclass(frozen=True)
class Window:
    seconds: float
    limit: int


class SlidingWindowLimiter:
    """Per-target send windows (e.g. 20 per minute and 30 per hour for one channel).

    `check` answers how long to wait before the next send is allowed; `record` notes a send.
    Windows are seeded from the database the first time a target is seen, so a restart does
    not forget the last hour.
    """

    def __init__(self) -> None:
        self._sends: dict[int, list[float]] = defaultdict(list)
        self._seeded: set[int] = set()

    def seeded(self, target_id: int) -> bool:
        return target_id in self._seeded

    def seed(self, target_id: int, timestamps: list[datetime]) -> None:
        self._seeded.add(target_id)
        sends = self._sends[target_id]
        for ts in timestamps:
            insort(sends, ts.timestamp())

    def reserve(self, target_id: int, windows: list[Window], now: float) -> float:
        """Take a send slot now if every window has room (returns 0), else return the wait.

        Checking and recording in one synchronous step keeps concurrent publications of one
        worker from all seeing the same free slot."""
        wait = self.wait_time(target_id, windows, now)
        if wait <= 0:
            self.record(target_id, now)
        return wait

    def wait_time(self, target_id: int, windows: list[Window], now: float) -> float:
        sends = self._sends.get(target_id, [])
        wait = 0.0
        for window in windows:
            start = bisect_right(sends, now - window.seconds)
            in_window = len(sends) - start
            if in_window >= window.limit:
                # Room appears when the oldest send that still counts leaves the window.
                oldest_blocking = sends[len(sends) - window.limit]
                wait = max(wait, oldest_blocking + window.seconds - now)
        return max(0.0, wait)

    def settle(self, target_id: int, reserved_at: float, finished_at: float) -> None:
        """Move a reserved send to when its request finished: the platform received it at
        some moment in between, so counting it from the later one never undercounts."""
        sends = self._sends.get(target_id)
        if not sends:
            return
        index = bisect_right(sends, reserved_at) - 1
        if index >= 0 and sends[index] == reserved_at:
            del sends[index]
            insort(sends, max(reserved_at, finished_at))

    def record(self, target_id: int, now: float, keep: float = 3600.0) -> None:
        sends = self._sends[target_id]
        insort(sends, now)
        cut = bisect_right(sends, now - keep)
        if cut:
            del sends[:cut]


class TokenBucket:
    """A global per-platform rate (Telegram: about 30 messages per second per bot).

    The worker uses capacity 1: sends are paced evenly, so no one-second window ever holds
    more than `rate` sends (a full bucket would allow a burst of `capacity` on top)."""

    def __init__(
        self,
        rate: float,
        capacity: float | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.rate = rate
        self.capacity = capacity if capacity is not None else max(1.0, rate)
        self._tokens = self.capacity
        self._clock = clock or time.monotonic
        self._sleep = sleep or asyncio.sleep
        self._updated = self._clock()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self._clock()
                self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                # Float rounding must not leave a token at 0.999999999 forever.
                if self._tokens >= 1 - 1e-9:
                    self._tokens = max(0.0, self._tokens - 1)
                    return
                await self._sleep((1 - self._tokens) / self.rate)
