"""NotificationsWorker: drains the notification outbox (issue 14).

Each pass claims due rows with a lease (one conditional UPDATE: two drainers, in one process
or several, never hold the same row), groups them per recipient, and sends through the send
slots shared with publishing: Telegram allows about one message a second to one private chat
and 30 a second for the whole bot. A burst of failures, unknowns and misses for one owner
becomes one message with a link to the list.

Outcomes, each recorded in one short write unit after the send returned:
- sent: `sent` (kept a while, then purged);
- no slot soon enough, or 429: back to `pending` at the time room appears, no attempt counted;
- network error, 5xx: back to `pending` with exponential backoff; never dropped;
- refused for good (the user blocked the bot, the chat is gone): `dead`, with the reason.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from services.clock import Clock, SystemClock
from services.notify import DeliveryError, DeliveryOutcome, NotificationSender, Pace
from services.ratelimit import (
    MemoryLimiter,
    SharedLimiter,
    telegram_chat_key,
    telegram_limits,
)
from storage.models import OutboxNotification
from storage.outbox import NewNotification, OutboxRepository
from storage.outbox_payload import GROUPABLE, NotificationKind, PostEvent
from storage.uow import Database

log = logging.getLogger("NotificationsWorker")


class SendSlots(Protocol):
    """The shared limiter as the drainer needs it."""

    async def take(self, chat_id: int, max_wait: float) -> float:
        """Take the next send slot to `chat_id` (and the bot's global one), waiting at most
        `max_wait` seconds. Returns 0 when taken; otherwise the seconds until a slot is free,
        and nothing is taken."""
        ...

    async def pause(self, chat_id: int, seconds: float) -> None:
        """Telegram answered 429 with retry_after: nobody sends to this chat until then."""
        ...


MAX_TAKE_ROUNDS = 20


class LimiterSlots:
    """`SendSlots` over the shared limiter (services.ratelimit): the same windows and pauses
    as publishing, so notifications count toward the bot's 30 a second in every process."""

    def __init__(
        self,
        limiter: SharedLimiter,
        *,
        global_rate: float = 30.0,
        per_chat_per_second: float = 1.0,
        book_ahead: float = 0.1,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.limiter = limiter
        self.global_rate = global_rate
        self.per_chat_per_second = per_chat_per_second
        self.book_ahead = book_ahead
        self.sleep = sleep

    async def take(self, chat_id: int, max_wait: float) -> float:
        limits = telegram_limits(
            chat_id,
            channel=False,
            global_rate=self.global_rate,
            per_chat_per_second=self.per_chat_per_second,
        )
        # Booked at most `book_ahead` ahead: a slot booked further ahead would put a stamp in
        # the token's pace window in the future, and every publication of the bot (which
        # books after the newest stamp) would queue behind this one message. A longer wait
        # (the chat's one message a second) is slept without a booking, then asked again.
        waited = 0.0
        for _ in range(MAX_TAKE_ROUNDS):
            decision = await self.limiter.take(limits, max_wait=min(self.book_ahead, max_wait))
            if decision.booked:
                if decision.wait > 0:
                    await self.sleep(decision.wait)
                return 0.0
            wait = max(decision.wait, 1e-3)
            if waited + wait > max_wait:
                return wait
            await self.sleep(wait)
            waited += wait
        return max(decision.wait, 1e-3)

    async def pause(self, chat_id: int, seconds: float) -> None:
        await self.limiter.pause(telegram_chat_key(chat_id), seconds)


@dataclass
class DrainReport:
    claimed: int = 0
    messages: int = 0  # Bot API messages (a group is one)
    sent: int = 0  # rows delivered
    grouped: int = 0  # rows delivered inside a group message
    deferred: int = 0  # no slot yet or 429: back to pending, no attempt
    retried: int = 0
    dead: int = 0
    swept: int = 0  # post notices enqueued by the sweep (their enqueue was lost)


class NotificationsWorker:
    name = "NotificationsWorker"

    def __init__(
        self,
        db: Database,
        sender: NotificationSender,
        *,
        slots: SendSlots | None = None,
        clock: Clock | None = None,
        worker_id: str | None = None,
        lease: timedelta = timedelta(seconds=60),
        batch_size: int = 500,
        max_batches: int = 20,
        concurrency: int = 8,
        max_wait: float = 1.5,
        group_min: int = 2,
        group_quiet: float = 0.0,
        group_max_hold: float = 30.0,
        backoff_base: float = 5.0,
        backoff_max: float = 900.0,
        keep_sent: timedelta = timedelta(days=2),
        sweep_every: timedelta = timedelta(minutes=1),
        # Shorter than `keep_sent`: a delivered notice is still there to match its key.
        sweep_window: timedelta = timedelta(hours=6),
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.sender = sender
        self.slots = slots or LimiterSlots(MemoryLimiter())
        self.clock = clock or SystemClock()
        self.worker_id = worker_id or _worker_id()
        self.lease = lease
        self.batch_size = batch_size
        self.max_batches = max_batches
        self.max_wait = max_wait
        self.group_min = group_min
        # A burst (at least `group_min` groupable events pending for one owner) is held until
        # no new event came for `group_quiet` seconds (at most `group_max_hold` after its
        # first), then sent as one message. 0: group only what is pending at drain time.
        self.group_quiet = group_quiet
        self.group_max_hold = group_max_hold
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.keep_sent = keep_sent
        self._rng = rng or random.Random()
        self._semaphore = asyncio.Semaphore(concurrency)
        self._run_lock = asyncio.Lock()
        self._last_purge: datetime | None = None
        self._last_sweep: datetime | None = None
        self.sweep_every = sweep_every
        self.sweep_window = sweep_window

    async def run_once(self) -> DrainReport:
        report = DrainReport()
        async with self._run_lock:
            await self._sweep(report)
            for _ in range(self.max_batches):
                async with self.db.write() as session:
                    notes = await OutboxRepository(session).claim_due(
                        self.clock.now(), self.worker_id, self.lease, self.batch_size
                    )
                if not notes:
                    break
                report.claimed += len(notes)
                by_chat: dict[int, list[OutboxNotification]] = {}
                for note in notes:
                    by_chat.setdefault(note.chat_id, []).append(note)
                await asyncio.gather(
                    *(self._drain_chat(chat, rows, report) for chat, rows in by_chat.items())
                )
            await self._purge()
        return report

    async def next_due_at(self) -> datetime | None:
        async with self.db.read() as session:
            return await OutboxRepository(session).next_due_at()

    async def _sweep(self, report: DrainReport) -> None:
        """The workers enqueue a post's failure, unknown or miss right after committing it;
        a crash between the two would lose the owner's message (DESIGN.md: unknown and
        missed always produce one). Now and then, posts that ended so recently get their
        notice enqueued if it is missing, with the key the enqueuer uses, so a notice the
        enqueuer did write is never doubled."""
        now = self.clock.now()
        if self._last_sweep is not None and now - self._last_sweep < self.sweep_every:
            return
        self._last_sweep = now
        async with self.db.write() as session:
            repo = OutboxRepository(session)
            ended = await repo.posts_ended_since(now - self.sweep_window, self.batch_size)
            keyed = {
                f"{status}:{post_id}:{attempts}": (post_id, owner, status, code)
                for post_id, owner, status, attempts, code in ended
            }
            missing = set(keyed) - await repo.existing_keys(list(keyed))
            added = await repo.enqueue(
                [
                    NewNotification(
                        chat_id=keyed[key][1],
                        kind=keyed[key][2],
                        payload=PostEvent(
                            kind=keyed[key][2],  # type: ignore[arg-type]
                            post_id=keyed[key][0],
                            code=keyed[key][3],
                        ),
                        dedupe_key=key,
                        due_at=now,
                    )
                    for key in sorted(missing)
                ]
            )
        if added:
            report.swept += added
            log.warning("%d post notice(s) were missing (a crash before enqueue): queued", added)

    def plan(self, notes: Sequence[OutboxNotification]) -> list[list[OutboxNotification]]:
        """The messages one chat gets, in order: groupable events become one message when
        there are at least `group_min` of them; everything else goes one by one."""
        # Problems (failed, unknown, missed) group together; published notices apart.
        families = (GROUPABLE, frozenset({NotificationKind.PUBLISHED}))
        groups = [[n for n in notes if n.kind in family] for family in families]
        messages: list[list[OutboxNotification]] = []
        placed: set[int] = set()
        for note in notes:
            index = next((i for i, family in enumerate(families) if note.kind in family), None)
            if index is not None and len(groups[index]) >= self.group_min:
                if index not in placed:
                    messages.append(groups[index])
                    placed.add(index)
                continue
            messages.append([note])
        return messages

    async def _drain_chat(
        self, chat_id: int, notes: list[OutboxNotification], report: DrainReport
    ) -> None:
        async with self._semaphore:
            notes = await self._hold_burst(notes, report)
            messages = self.plan(notes)
            started = time.monotonic()
            for index, message in enumerate(messages):
                rest = [n for m in messages[index:] for n in m]
                if time.monotonic() - started > self.lease.total_seconds() / 3:
                    # Paced one by one, this chat's messages would outlive the lease: the
                    # rest go back to the table for the next pass.
                    await self._release(rest, 0.0, report, count_attempt=False)
                    return
                try:
                    wait = await self.slots.take(chat_id, self.max_wait)
                except Exception:
                    log.exception("send slots unavailable; trying again later")
                    wait = 5.0
                if wait > 0:
                    # The recipient (or the bot) is busy: these wait in the table, where
                    # later events for the same owner join them into one message.
                    await self._release(rest, wait, report, count_attempt=False)
                    return
                try:
                    await self._send(chat_id, message)
                except DeliveryError as error:
                    stop = await self._refused(chat_id, message, rest, error, report)
                    if stop:
                        return
                    continue
                await self._settle_sent(message, report)

    async def _hold_burst(
        self, notes: list[OutboxNotification], report: DrainReport
    ) -> list[OutboxNotification]:
        """Hold a burst still growing; returns what may be sent now."""
        if self.group_quiet <= 0:
            return notes
        burst = [n for n in notes if n.kind in GROUPABLE]
        if len(burst) < self.group_min:
            return notes
        now = self.clock.now()
        newest = max(n.created_at for n in burst)
        oldest = min(n.created_at for n in burst)
        quiet = timedelta(seconds=self.group_quiet)
        hold_end = oldest + timedelta(seconds=self.group_max_hold)
        if now - newest >= quiet or now >= hold_end:
            return notes
        due = min(newest + quiet, hold_end)
        await self._release(burst, (due - now).total_seconds(), report, count_attempt=False)
        return [n for n in notes if n.kind not in GROUPABLE]

    async def _send(self, chat_id: int, message: list[OutboxNotification]) -> None:
        try:
            if len(message) > 1:
                await self.sender.send_group(chat_id, message)
            else:
                await self.sender.send_one(message[0], self._pacer(chat_id))
        except DeliveryError:
            raise
        except Exception as exc:
            log.exception("notification %d: unexpected error while sending", message[0].id)
            raise DeliveryError(DeliveryOutcome.TRANSIENT, type(exc).__name__) from exc

    def _pacer(self, chat_id: int) -> Pace:
        async def pace() -> None:
            # A message inside one notification (the draft after its header) must go: wait
            # as long as the slot needs.
            await self.slots.take(chat_id, float("inf"))

        return pace

    async def _refused(
        self,
        chat_id: int,
        message: list[OutboxNotification],
        rest: list[OutboxNotification],
        error: DeliveryError,
        report: DrainReport,
    ) -> bool:
        """Record a refusal; True when the chat's remaining messages wait too."""
        if error.outcome == DeliveryOutcome.RATE_LIMITED:
            wait = max(1.0, error.retry_after or 1.0)
            try:
                await self.slots.pause(chat_id, wait)
            except Exception:
                log.exception("could not pause the send slots")
            log.warning("notifications to %s: 429, waiting %.0f s", chat_id, wait)
            await self._release(rest, wait + self._rng.uniform(0, 1), report, count_attempt=False)
            return True
        if error.outcome == DeliveryOutcome.PERMANENT:
            async with self.db.write() as session:
                report.dead += await OutboxRepository(session).mark_dead(
                    [n.id for n in message], self.worker_id, error.reason
                )
            log.warning("notification(s) to %s refused for good: %s", chat_id, error.reason)
            return False
        # Transient: this message is retried with backoff; the chat's others wait with it
        # (the network is likely down for them too) without spending an attempt.
        attempts = max(n.attempts for n in message)
        delay = min(self.backoff_max, self.backoff_base * 2**attempts)
        delay *= 1 + self._rng.uniform(0, 0.2)
        await self._release(message, delay, report, count_attempt=True, error=error.reason)
        others = [n for n in rest if n not in message]
        if others:
            await self._release(others, delay, report, count_attempt=False)
        log.warning(
            "notification(s) to %s not sent (%s), again in %.0f s", chat_id, error.reason, delay
        )
        return True

    async def _release(
        self,
        notes: list[OutboxNotification],
        wait: float,
        report: DrainReport,
        *,
        count_attempt: bool,
        error: str | None = None,
    ) -> None:
        if not notes:
            return
        due = self.clock.now() + timedelta(seconds=wait)
        async with self.db.write() as session:
            released = await OutboxRepository(session).release(
                [n.id for n in notes],
                self.worker_id,
                due,
                count_attempt=count_attempt,
                error=error,
            )
        if count_attempt:
            report.retried += released
        else:
            report.deferred += released

    async def _settle_sent(self, message: list[OutboxNotification], report: DrainReport) -> None:
        async with self.db.write() as session:
            done = await OutboxRepository(session).mark_sent(
                [n.id for n in message], self.worker_id, self.clock.now()
            )
        report.messages += 1
        report.sent += done
        if len(message) > 1:
            report.grouped += done
        if done < len(message):
            # The lease ran out while Telegram was answering and another drainer took the
            # rows: it may send them again (at least once, never zero).
            log.warning("notification lease lost while sending %d row(s)", len(message) - done)

    async def _purge(self) -> None:
        now = self.clock.now()
        if self._last_purge is not None and now - self._last_purge < timedelta(hours=1):
            return
        self._last_purge = now
        async with self.db.write() as session:
            await OutboxRepository(session).purge_sent(now - self.keep_sent)


def _worker_id() -> str:
    import os
    import socket
    import uuid

    return f"{socket.gethostname()}:{os.getpid()}:n{uuid.uuid4().hex[:6]}"


def coalesce_wakes(wake: Callable[[], None], delay: float = 0.05) -> Callable[[], None]:
    """One wake-up for a burst of enqueues: the first schedules `wake` a moment later, the
    others in between do nothing (each wake costs the drainer a read)."""
    pending = False

    def fire() -> None:
        nonlocal pending
        pending = False
        wake()

    def call() -> None:
        nonlocal pending
        if pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        pending = True
        loop.call_later(delay, fire)

    return call
