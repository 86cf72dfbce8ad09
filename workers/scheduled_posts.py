"""ScheduledPostsWorker: publishes due rows of `scheduled_posts` exactly once.

Every database access is one short unit of work (`storage.uow.Database`): a read unit for
reads, a write unit for the claim and for each group of finishes. No unit is open while the
worker awaits the network (the publisher, media downloads, the notifier): the claim and the
credentials are read and committed before `publish`, and the owner is told after the outcome
is committed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from platforms.base import (
    ErrorClass,
    MediaItem,
    MediaLoader,
    PublisherRegistry,
    PublishError,
    PublishRequest,
    PublishResult,
)
from platforms.credentials import SecretBox, SecretsUnavailableError
from platforms.errors import ErrorCode
from services.clock import Clock, SystemClock
from services.notify import NullNotifier, OwnerNotifier, enqueue_published_notices
from services.post_life import record_publications
from services.ratelimit import (
    TELEGRAM_GLOBAL,
    Limit,
    MemoryLimiter,
    SharedLimiter,
    ceil_ms,
    telegram_chat_key,
    telegram_limits,
)
from storage.models import Content, PublishAttempt, ScheduledPost, Target, TargetStatus
from storage.repositories import (
    CredentialRepository,
    PostRepository,
    TargetRepository,
)
from storage.uow import Database
from workers import metrics
from workers.policy import (
    DEFAULT_RATE_LIMIT_WAIT,
    TELEGRAM_GLOBAL_429_MAX_WAIT,
    Pacer,
    RetryPolicy,
    Slot,
    Window,
)
from workers.write_ahead import LostLease, SendingMarks

log = logging.getLogger("ScheduledPostsWorker")

Write = Callable[[AsyncSession], Awaitable[Any]]


def target_key(target_id: int) -> str:
    return f"target:{target_id}"


def make_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class RateLimits:
    """Per-platform send limits. Telegram's own limits always apply; the hourly caps are
    the seed's defaults, overridable per target."""

    telegram_global_per_second: float = 30.0
    telegram_per_channel_per_minute: int = 20
    hourly_caps: dict[str, int] = field(
        default_factory=lambda: {"telegram": 30, "instagram": 25, "x": 300}
    )
    enabled: bool = True
    # Slack for the jitter between a booked slot and Telegram counting the message
    # (services/ratelimit.py telegram_limits).
    margin: float = 0.02
    channel_slack: float = 0.1
    long_window_wait: float | None = None

    def shared(self, target: Target) -> list[Limit]:
        """The shared limiter's windows for one send to `target`. Telegram's global pace
        comes first; every target carries a `target:<id>` key (its hourly cap, or no window
        at all) so that an X or Instagram 429 can pause that account alone."""
        if not self.enabled:
            return []
        limits: list[Limit] = []
        if target.platform == "telegram":
            limits += telegram_limits(
                target.external_id,
                channel=True,
                global_rate=self.telegram_global_per_second,
                per_channel_per_minute=self.telegram_per_channel_per_minute,
                margin=self.margin,
                slack=self.channel_slack,
            )
        cap = (
            target.hourly_cap
            if target.hourly_cap is not None
            else self.hourly_caps.get(target.platform)
        )
        limits.append(Limit(target_key(target.id), cap or 0, 3600.0))
        if self.long_window_wait is None:
            return limits
        # Optionally, a channel's or target's window is waited for at most this long (the
        # post is deferred in the database instead). Off by default: measured with three
        # processes, deferring posts whose channel frees within the horizon cost more
        # writes and claims than the wait it saved (docs/benchmarks.md).
        return [
            limit if limit.period < 10.0 else replace(limit, max_wait=self.long_window_wait)
            for limit in limits
        ]

    def windows(self, platform: str, target_cap: int | None) -> list[Window]:
        if not self.enabled:
            return []
        windows: list[Window] = []
        if platform == "telegram":
            windows.append(Window(60.0, self.telegram_per_channel_per_minute))
        # A target's own cap wins; 0 (from settings or the target) means no hourly cap.
        cap = target_cap if target_cap is not None else self.hourly_caps.get(platform)
        if cap:
            windows.append(Window(3600.0, cap))
        return windows


@dataclass
class RunReport:
    claimed: int = 0
    published: int = 0
    retried: int = 0
    deferred: int = 0
    # 429s answered by a platform (each deferred, never counted as an attempt).
    rate_limited: int = 0
    failed: int = 0
    unknown: int = 0
    missed: int = 0
    expired: int = 0
    # Claimed by a process that stopped before sending them: back to `scheduled`.
    requeued: int = 0
    # Seconds between each published post's scheduled time and its publication.
    lateness: list[float] = field(default_factory=list)


class ScheduledPostsWorker:
    name = "ScheduledPostsWorker"

    def __init__(
        self,
        db: Database,
        publishers: PublisherRegistry,
        *,
        clock: Clock | None = None,
        notifier: OwnerNotifier | None = None,
        retry: RetryPolicy | None = None,
        limits: RateLimits | None = None,
        secrets: SecretBox | None = None,
        media_loader: MediaLoader | None = None,
        worker_id: str | None = None,
        lease: timedelta = timedelta(seconds=120),
        grace: timedelta = timedelta(minutes=15),
        batch_size: int = 200,
        concurrency: int = 16,
        max_batches: int = 50,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        lateness_alert_seconds: float | None = None,
        published_notices: bool = True,
        alert_cooldown: timedelta = timedelta(minutes=15),
        limiter: SharedLimiter | None = None,
        booking_horizon: float = 2.0,
    ) -> None:
        self.db = db
        self.publishers = publishers
        self.clock = clock or SystemClock()
        self.notifier = notifier or NullNotifier()
        self.retry = retry or RetryPolicy()
        self.limits = limits or RateLimits()
        self.secrets = secrets or SecretBox(None)
        self.media_loader = media_loader
        self.worker_id = worker_id or make_worker_id()
        self.lease = lease
        self.grace = grace
        self.batch_size = batch_size
        self.max_batches = max_batches
        self._semaphore = asyncio.Semaphore(concurrency)
        # The limits every process of the bot shares (bot/factory.py create_limiter); alone,
        # a limiter in this process's memory on its own clock.
        self.limiter = (
            limiter if limiter is not None else MemoryLimiter(clock=monotonic, sleep=sleep)
        )
        self._pacer = Pacer(
            self.limiter, horizon=booking_horizon, monotonic=monotonic, sleep=sleep
        )
        self._seeded: set[int] = set()
        if self.limits.enabled:
            # Claimed posts wait for the global pace while they hold a lease: claim no more
            # than about two seconds' worth, so a crash leaves few posts in `publishing`.
            paced = int(2 * self.limits.telegram_global_per_second)
            self.batch_size = max(1, min(batch_size, paced))
        self._run_lock = asyncio.Lock()
        self._commits = GroupCommit(db, self.worker_id)
        self._sending = SendingMarks(db, self.worker_id, self.clock)
        self.lateness_alert_seconds = lateness_alert_seconds
        # "✅ Published" notices in the outbox (owners who muted them get none); off where no
        # drainer sends the outbox (tests that look at the bare worker).
        self.published_notices = published_notices
        self.alert_cooldown = alert_cooldown
        self._last_lateness_alert: datetime | None = None

    async def run_once(self) -> RunReport:
        """One pass: settle what a crash left behind, then publish everything due."""
        report = RunReport()
        # Runs from the interval job and the wake-up job must not overlap in one process.
        async with self._run_lock:
            await self._recover(report)
            for _ in range(self.max_batches):
                claimed = await self._claim()
                if not claimed:
                    break
                report.claimed += len(claimed)
                log.info("Найдено %d постов для публикации", len(claimed))
                await self._check_lateness(claimed)
                await self._publish_batch(claimed, report)
            await self._update_queue_depth()
        return report

    async def next_due_at(self) -> datetime | None:
        """The next moment this worker has something to do: a post due, or a lease that runs
        out (a crashed process's posts are settled then, not at the next poll)."""
        async with self.db.read() as session:
            repo = PostRepository(session)
            due = await repo.next_due_at()
            lease_end = await repo.next_lease_expiry()
        candidates = [t for t in (due, lease_end) if t is not None]
        return min(candidates) if candidates else None

    async def _recover(self, report: RunReport) -> None:
        now = self.clock.now()
        # Writes first, then reads the owners to tell, in one unit; the owners hear of it
        # once the unit is committed.
        async with self.db.write() as session:
            repo = PostRepository(session)
            requeued = await repo.requeue_unsent(now)
            expired = await repo.expire_leases(now)
            missed = await repo.mark_missed(now, self.grace)
            await repo.decide_unanswered_approvals(now)
            owners = await _owners(session, expired + missed)
        report.expired, report.missed = len(expired), len(missed)
        report.requeued = len(requeued)
        if requeued:
            log.warning(
                "Посты %s: процесс остановился до отправки, снова в очереди",
                ", ".join(str(pid) for pid in requeued[:20]),
            )
        for post_id in expired:
            log.warning("Пост %d: публикация прервана, результат неизвестен (unknown)", post_id)
            await self._notify(
                self.notifier.post_needs_decision(owners[post_id], post_id, "unknown")
            )
        for post_id in missed:
            log.warning("Пост %d пропущен: бот не работал в назначенное время (missed)", post_id)
            await self._notify(
                self.notifier.post_needs_decision(owners[post_id], post_id, "missed")
            )

    async def _claim(self) -> list[tuple[ScheduledPost, Content, Target]]:
        now = self.clock.now()
        # The claim and the load of what was claimed share one write unit: the rows are this
        # worker's (lease) from the claim on, and the unit is committed before any publish.
        async with self.db.write() as session:
            repo = PostRepository(session)
            claimed = await repo.claim_due(now, self.worker_id, self.lease, self.batch_size)
            if not claimed:
                return []
            return await repo.load_for_publishing([c.id for c in claimed])

    async def _publish_batch(
        self, rows: list[tuple[ScheduledPost, Content, Target]], report: RunReport
    ) -> None:
        """Rate limits first: the targets whose windows are full (in the shared limiter) are
        deferred for the whole batch in one write; the others are published concurrently,
        each taking its slot in every window right before its request leaves."""
        await self._seed_windows([target for _post, _content, target in rows])
        now = self.clock.now()
        targets = {target.id: target for _post, _content, target in rows}
        # Telegram's global pace is left out: it is only waited for, never a reason to defer.
        windows = {
            target_id: [
                limit for limit in self.limits.shared(target) if limit.key != TELEGRAM_GLOBAL
            ]
            for target_id, target in targets.items()
        }
        waits = dict(
            zip(
                windows,
                await asyncio.gather(*(self._pacer.peek(w) for w in windows.values())),
                strict=True,
            )
        )
        ready: list[tuple[ScheduledPost, Content, Target]] = []
        deferred: dict[datetime, list[ScheduledPost]] = {}
        for row in rows:
            post, _content, target = row
            wait = waits[target.id]
            if wait > 0:
                # Rounded up to the millisecond: a microsecond early would only defer again.
                deferred.setdefault(now + timedelta(seconds=ceil_ms(wait)), []).append(post)
            else:
                ready.append(row)
        if deferred:
            await self._defer(deferred, report)
        await asyncio.gather(*(self._publish_guarded(row, report) for row in ready))

    async def _publish_guarded(
        self, row: tuple[ScheduledPost, Content, Target], report: RunReport
    ) -> None:
        async with self._semaphore:
            try:
                await self._publish_one(*row, report=report)
            except Exception:
                # Nothing here may stop the batch; the lease expiry settles the post later.
                log.exception("Пост %d: внутренняя ошибка публикации", row[0].id)

    async def _take_slot(
        self,
        post: ScheduledPost,
        target: Target,
        report: RunReport,
        booked: Callable[[], object] | None = None,
    ) -> Slot | None:
        """The post's slot in every shared window, once its moment has come (send now).
        None: the windows filled up meanwhile (another process, or this batch): the post
        was deferred to when they have room, without an attempt."""
        slot = await self._pacer.slot(self.limits.shared(target), booked)
        if slot.wait <= 0:
            return slot
        when = self.clock.now() + timedelta(seconds=ceil_ms(slot.wait))
        await self._defer({when: [post]}, report)
        return None

    async def _publish_one(
        self,
        post: ScheduledPost,
        content: Content,
        target: Target,
        *,
        report: RunReport,
    ) -> None:
        log.info(
            "Публикация поста %d (content_id=%d, platform=%s)",
            post.id,
            content.id,
            post.platform,
        )
        started = self.clock.now()
        try:
            request = await self._request(post, content, target)
            publisher = self.publishers.get(post.platform)
            if publisher is None:
                raise PublishError(
                    ErrorClass.PERMANENT,
                    f"Publishing to {post.platform} is not configured",
                    code=ErrorCode.NOT_CONFIGURED,
                )
            if not await _owner_can_post(publisher, target, post.owner_id):
                await self._hold_for_owner(post, target, report)
                return
            # The slot in every shared window, right before the request leaves (after the
            # rights check, so that its round trip does not delay a booked send).
            # Write-ahead: from the mark on, a crash leaves the post `unknown`. The mark
            # starts once the slot is booked, so its commit overlaps the short wait for the
            # slot's moment (a mark after it would push sends past their slots, in bunches).
            marking: list[asyncio.Future[None]] = []

            def start_mark() -> None:
                marking.append(asyncio.ensure_future(self._sending.mark(post.id)))

            slot = await self._take_slot(post, target, report, booked=start_mark)
            if slot is None:
                return
            try:
                await (marking[0] if marking else self._sending.mark(post.id))
            except LostLease:
                log.warning("Пост %d: аренда истекла до отправки, не отправлен", post.id)
                return
            # A send leaving late moves its stamps to now, for every process.
            self._pacer.leaving(self.limits.shared(target), slot)
            result = await publisher.publish(request)
        except PublishError as exc:
            await self._on_error(post, target, exc, started, report)
            return
        except Exception as exc:
            log.exception("Пост %d: неожиданная ошибка публикатора", post.id)
            await self._on_error(
                post,
                target,
                PublishError(
                    ErrorClass.AMBIGUOUS,
                    f"unexpected error: {type(exc).__name__}",
                    code=ErrorCode.UNKNOWN,
                ),
                started,
                report,
            )
            return
        await self._on_published(post, target, result, started, report)

    async def _hold_for_owner(
        self, post: ScheduledPost, target: Target, report: RunReport
    ) -> None:
        """The owner lost the right to post in the channel: nothing is sent. The post goes back
        to waiting (no attempt counted) and the target is marked broken, so its posts and
        rules wait until the owner links it again; the owner is told once."""
        reason = "The owner is no longer the creator or an administrator allowed to post."
        now = self.clock.now()

        async def write(session: AsyncSession) -> bool:
            await PostRepository(session).defer_claimed([post.id], self.worker_id, now)
            return await TargetRepository(session).mark_broken(
                target.id, reason, ErrorCode.OWNER_LOST_RIGHTS.value
            )

        first = await self._commits.run(write)
        report.deferred += 1
        log.warning("Пост %d не отправлен: владелец потерял право публикации в канале", post.id)
        if first:
            await self._notify(self.notifier.target_broken(post.owner_id, target.id, reason))

    async def _seed_windows(self, targets: list[Target]) -> None:
        """A limiter in this process's memory learns a target's sends of the last hour from
        the database the first time it sees the target, so that a restart does not forget
        them. A shared limiter (Redis, the database) already knows: its state is the truth."""
        limiter = self.limiter
        if not isinstance(limiter, MemoryLimiter):
            return
        since = self.clock.now() - timedelta(hours=1)
        unseeded = {
            target.id: windows
            for target in targets
            if target.id not in self._seeded
            and (
                windows := [
                    limit
                    for limit in self.limits.shared(target)
                    if limit.key != TELEGRAM_GLOBAL and limit.limit > 0
                ]
            )
        }
        if not unseeded:
            return
        async with self.db.read() as session:
            repo = PostRepository(session)
            sent = {
                target_id: await repo.published_since(target_id, since) for target_id in unseeded
            }
        now, stamp_now = self.clock.now(), limiter.clock()
        if len(self._seeded) > 100_000:  # bounded: at worst a target is seeded again
            self._seeded.clear()
        for target_id, times in sent.items():
            self._seeded.add(target_id)
            stamps = [stamp_now - (now - at).total_seconds() for at in times]
            for limit in unseeded[target_id]:
                limiter.seed(limit, stamps)

    async def _defer(
        self, deferred: dict[datetime, list[ScheduledPost]], report: RunReport
    ) -> None:
        """Claimed posts over a limit go back to `scheduled` at the time room appears, and so
        do the target's other waiting posts: claiming them only to defer them again would
        cost a write each. A deferral is no attempt."""

        async def write(session: AsyncSession) -> None:
            repo = PostRepository(session)
            for due, posts in deferred.items():
                await repo.defer_claimed([p.id for p in posts], self.worker_id, due)
                for target_id in {p.target_id for p in posts}:
                    await repo.defer_target(target_id, due)

        await self._commits.run(write)
        for due, posts in deferred.items():
            report.deferred += len(posts)
            wait = (due - self.clock.now()).total_seconds()
            log.info(
                "Посты %s отложены на %.0f с: лимит публикаций для цели",
                ", ".join(str(p.id) for p in posts[:20]),
                wait,
            )

    async def _request(
        self, post: ScheduledPost, content: Content, target: Target
    ) -> PublishRequest:
        credentials = None
        if target.platform != "telegram":
            # Read and closed here: the request (and its media download) leaves later.
            async with self.db.read() as session:
                stored = await CredentialRepository(session).get_ciphertext(target.id)
            if stored is None:
                raise PublishError(
                    ErrorClass.PERMANENT,
                    "The account is not linked any more. Link it again.",
                    code=ErrorCode.INVALID_CREDENTIALS,
                    target_broken=True,
                )
            try:
                credentials = self.secrets.decrypt(stored[1])
            except SecretsUnavailableError as exc:
                raise PublishError(
                    ErrorClass.PERMANENT, str(exc), code=ErrorCode.NOT_CONFIGURED
                ) from exc
        media = tuple(
            MediaItem(
                kind=str(m.get("kind", "photo")),
                telegram_file_id=m.get("file_id"),
                path=m.get("path"),
            )
            for m in (content.media or [])
        )
        return PublishRequest(
            post_id=post.id,
            target_external_id=target.external_id,
            target_handle=target.handle,
            text=content.text,
            title=content.title,
            media=media,
            options=dict(post.options or {}),
            credentials=credentials,
            load_media=self.media_loader,
        )

    async def _on_published(
        self,
        post: ScheduledPost,
        target: Target,
        result: PublishResult,
        started: datetime,
        report: RunReport,
    ) -> None:
        now = self.clock.now()
        attempt = PublishAttempt(
            post_id=post.id,
            attempt=post.attempts,
            started_at=started,
            finished_at=now,
            outcome="published",
            worker_id=self.worker_id,
        )

        finish = PublishedFinish(
            post.id,
            result.external_id,
            result.url,
            now,
            attempt,
            result.message_ids,
            owner_id=post.owner_id if self.published_notices else None,
        )
        simple = result.updated_credentials is None and target.status == TargetStatus.ACTIVE

        async def write(session: AsyncSession) -> None:
            await finish_published_many(session, self.worker_id, [finish])
            if result.updated_credentials is not None and self.secrets.available:
                await CredentialRepository(session).put(
                    target.id,
                    "session",
                    self.secrets.encrypt(result.updated_credentials),
                )
            if target.status != TargetStatus.ACTIVE:
                await TargetRepository(session).mark_active(target.id)

        # The platform's id is written now, in a transaction shared with the other posts
        # finishing at this moment (group commit), before this coroutine moves on. The
        # common case is merged into one UPDATE for the whole group.
        await self._commits.run(write, published=finish if simple else None)
        report.published += 1
        lateness = max(0.0, (now - post.scheduled_time).total_seconds())
        report.lateness.append(lateness)
        metrics.POSTS_PUBLISHED.labels(post.platform, "published").inc()
        metrics.LATENESS.labels(post.platform).observe(lateness)
        log.info("Пост %d успешно опубликован", post.id)

    async def _on_error(
        self,
        post: ScheduledPost,
        target: Target,
        error: PublishError,
        started: datetime,
        report: RunReport,
    ) -> None:
        now = self.clock.now()
        attempt = PublishAttempt(
            post_id=post.id,
            attempt=post.attempts,
            started_at=started,
            finished_at=now,
            outcome=error.error_class.value,
            error=error.reason[:2000],
            error_code=error.code.value,
            worker_id=self.worker_id,
        )
        reason = error.reason
        if is_rate_limited(error):
            # A 429 is never a failure: every process backs off the token or the chat for
            # the platform's wait, and the post comes back after it, its attempt refunded.
            outcome = "rate_limited"
            attempt.outcome = "rate_limited"
            await self._pause(target, error.retry_after)
            delay = self.retry.rate_limited_delay(error.retry_after)
        elif error.error_class == ErrorClass.TRANSIENT and post.attempts < self.retry.max_attempts:
            outcome = "retry"
            delay = self.retry.delay(post.attempts, error.retry_after)
        elif error.error_class == ErrorClass.AMBIGUOUS:
            outcome, delay = "unknown", 0.0
        else:
            outcome, delay = "failed", 0.0
            if error.error_class == ErrorClass.TRANSIENT:
                reason = f"gave up after {post.attempts} attempts: {reason}"

        async def write(session: AsyncSession) -> tuple[bool, bool]:
            repo = PostRepository(session)
            if outcome in ("retry", "rate_limited"):
                done = await repo.finish_retry(
                    post.id,
                    self.worker_id,
                    due_at=now + timedelta(seconds=delay),
                    error=reason,
                    attempt=attempt,
                    code=error.code.value,
                    refund_attempt=outcome == "rate_limited",
                )
            elif outcome == "unknown":
                done = await repo.finish_unknown(
                    post.id, self.worker_id, error=reason, attempt=attempt, code=error.code.value
                )
            else:
                done = await repo.finish_failed(
                    post.id, self.worker_id, error=reason, attempt=attempt, code=error.code.value
                )
            broken = False
            if error.target_broken:
                broken = await TargetRepository(session).mark_broken(
                    target.id, error.reason, error.code.value
                )
            return done, broken

        done, broken_first = await self._commits.run(write)
        if outcome == "rate_limited":
            report.rate_limited += 1
            report.deferred += 1
            log.warning(
                "Пост %d: платформа просит подождать (429), повтор через %.1f с: %s",
                post.id,
                delay,
                reason,
            )
        elif outcome == "retry":
            report.retried += 1
            log.warning(
                "Пост %d: временная ошибка (попытка %d из %d), повтор через %.0f с: %s",
                post.id,
                post.attempts,
                self.retry.max_attempts,
                delay,
                reason,
            )
        elif outcome == "unknown":
            report.unknown += 1
            log.warning("Пост %d: результат неизвестен (unknown): %s", post.id, reason)
        else:
            report.failed += 1
            log.error("Ошибка публикации поста %d: %s", post.id, reason)
        # A post whose lease was lost meanwhile belongs to whoever settled it.
        notify_failed = done and outcome == "failed"
        notify_unknown = done and outcome == "unknown"
        metrics.POSTS_PUBLISHED.labels(post.platform, outcome).inc()
        if notify_failed:
            await self._notify(self.notifier.post_failed(post.owner_id, post.id, reason))
        if notify_unknown:
            await self._notify(
                self.notifier.post_needs_decision(post.owner_id, post.id, "unknown")
            )
        if broken_first:
            await self._notify(self.notifier.target_broken(post.owner_id, target.id, error.reason))

    async def _pause(self, target: Target, retry_after: float | None) -> None:
        """Tell every process to back off. Telegram does not say which of its limits a 429
        is for: a short wait pauses the whole token and the channel, a longer one the
        channel only (workers/policy.py). X and Instagram limit one account: its target."""
        wait = DEFAULT_RATE_LIMIT_WAIT if retry_after is None else max(0.0, retry_after)
        keys = [target_key(target.id)]
        if target.platform == "telegram":
            keys = [telegram_chat_key(target.external_id)]
            if wait <= TELEGRAM_GLOBAL_429_MAX_WAIT:
                keys.append(TELEGRAM_GLOBAL)
        try:
            for key in keys:
                await self.limiter.pause(key, wait)
        except Exception:
            # The post is deferred past the wait all the same.
            log.exception("Не удалось записать паузу лимита %s", keys)

    async def _check_lateness(self, rows: list[tuple[ScheduledPost, Content, Target]]) -> None:
        """Alert the admins when posts are claimed later than the threshold after they came
        due (the pipeline is behind: overloaded, or its wake-ups do not fire). Deliberate
        delays (rate-limit deferrals, retry backoff) move `due_at` and do not count."""
        if self.lateness_alert_seconds is None or not rows:
            return
        now = self.clock.now()
        worst = max((now - post.due_at).total_seconds() for post, _c, _t in rows)
        if worst <= self.lateness_alert_seconds:
            return
        last = self._last_lateness_alert
        if last is not None and now - last < self.alert_cooldown:
            return
        self._last_lateness_alert = now
        late = sum(
            1
            for post, _c, _t in rows
            if (now - post.due_at).total_seconds() > self.lateness_alert_seconds
        )
        await self._notify(
            self.notifier.admin_alert(
                f"⚠️ {self.name}: publishing is late. {late} post(s) claimed up to "
                f"{worst:.0f} s after they were due (threshold "
                f"{self.lateness_alert_seconds:.0f} s). Worker {self.worker_id}."
            )
        )

    async def _notify(self, coro: object) -> None:
        try:
            await coro  # type: ignore[misc]
        except Exception:
            log.exception("Не удалось отправить уведомление владельцу")

    async def _update_queue_depth(self) -> None:
        async with self.db.read() as session:
            due = await PostRepository(session).count_due(self.clock.now())
        metrics.QUEUE_DEPTH.set(due)


# Published notices wait this long in the outbox, so that a burst becomes one message.
PUBLISHED_NOTICE_DELAY = timedelta(seconds=5)


@dataclass(frozen=True)
class PublishedFinish:
    post_id: int
    external_id: str
    url: str | None
    at: datetime
    attempt: PublishAttempt
    message_ids: tuple[str, ...] = ()  # every message of the post (a Telegram album)
    owner_id: int | None = None  # for the "✅ Published" notice (None: no notice)


async def finish_published_many(
    session: AsyncSession, worker_id: str, finishes: list[PublishedFinish]
) -> None:
    repo = PostRepository(session)
    done = await repo.finish_published_many(
        worker_id,
        [(f.post_id, f.external_id, f.url, f.at) for f in finishes],
    )
    for finish in finishes:
        session.add(finish.attempt)
        if finish.post_id not in done:
            # The lease ran out while the platform was answering and the post was marked
            # unknown; the answer settles it.
            await repo.settle_unknown_as_published(
                finish.post_id, external_id=finish.external_id, url=finish.url, now=finish.at
            )
    # Issue 12: the messages are kept and the posts' auto-deletes planned in this unit.
    await record_publications(session, [(f.post_id, f.message_ids, f.at) for f in finishes])
    # The owners' "✅ Published" notices go into the outbox in this same unit (no write of
    # their own, none lost to a crash); the drainer groups a burst into one message.
    await enqueue_published_notices(
        session,
        [(f.owner_id, f.post_id, f.at) for f in finishes if f.owner_id is not None],
        delay=PUBLISHED_NOTICE_DELAY,
    )


class GroupCommit:
    """Writes that arrive while a transaction is being committed share the next one.

    Each caller still waits for its own write to be committed, so nothing is acknowledged
    before it is durable; under load many finishes cost one commit instead of one each, and
    plain "published" finishes one UPDATE for the whole group. Each group is one write unit;
    the writes it runs touch the database only (they never await the network)."""

    def __init__(self, db: Database, worker_id: str) -> None:
        self.db = db
        self.worker_id = worker_id
        self._pending: list[tuple[Write, PublishedFinish | None, asyncio.Future[Any]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def run(self, write: Write, *, published: PublishedFinish | None = None) -> Any:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending.append((write, published, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            merged = [published for _w, published, _f in batch if published is not None]
            try:
                results: list[Any] = []
                async with self.db.write() as session:
                    if merged:
                        await finish_published_many(session, self.worker_id, merged)
                    for write, published, _future in batch:
                        results.append(None if published is not None else await write(session))
            except Exception:
                # One bad write must not sink the others: fall back to one transaction each.
                await self._one_by_one(batch)
                continue
            for (_write, _published, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    async def _one_by_one(
        self, batch: list[tuple[Write, PublishedFinish | None, asyncio.Future[Any]]]
    ) -> None:
        for write, _published, future in batch:
            try:
                async with self.db.write() as session:
                    result = await write(session)
            except Exception as exc:
                if not future.done():
                    future.set_exception(exc)
            else:
                if not future.done():
                    future.set_result(result)


def is_rate_limited(error: PublishError) -> bool:
    """Every publisher maps its platform's 429 (Telegram's RetryAfter, X's TooManyRequests,
    Instagram's throttling) to the code RATE_LIMITED; the class stays transient (nothing
    was published), but the worker treats it as its own outcome: never an attempt."""
    return error.code == ErrorCode.RATE_LIMITED and error.error_class == ErrorClass.TRANSIENT


async def _owner_can_post(publisher: Any, target: Target, owner_id: int) -> bool:
    """Publishers that post on the owner's behalf (Telegram: the bot in the owner's channel)
    re-check the owner's own right before every publication (cached by the publisher)."""
    check = getattr(publisher, "owner_can_post", None)
    if check is None:
        return True
    return bool(await check(target.external_id, owner_id))


async def _owners(session: object, post_ids: list[int]) -> dict[int, int]:
    if not post_ids:
        return {}
    from sqlalchemy import select

    rows = await session.execute(  # type: ignore[attr-defined]
        select(ScheduledPost.id, ScheduledPost.owner_id).where(ScheduledPost.id.in_(post_ids))
    )
    return {row[0]: row[1] for row in rows.all()}
