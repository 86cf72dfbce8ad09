"""What the workers tell people.

`OwnerNotifier` is what the workers call. In the application it is `OutboxNotifier`: each
call is one short write to the notification outbox (no network), and a drainer
(workers.notifications) sends the rows through the shared rate limiter, retrying what
Telegram refuses for now and grouping a burst for one owner. The chat layer renders and sends
(`NotificationSender`, bot/notifier.py): it knows languages and buttons."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from services.clock import Clock, SystemClock
from storage.models import OutboxNotification
from storage.outbox import NewNotification, OutboxRepository
from storage.outbox_payload import (
    AdminAlert,
    AdminTargetBroken,
    ApprovalRequested,
    NotificationKind,
    PostEvent,
    RuleFailed,
    TargetBroken,
)
from storage.uow import Database

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger("notifications")


class OwnerNotifier(Protocol):
    async def post_published(self, owner_id: int, post_id: int, url: str | None) -> None: ...

    async def post_failed(self, owner_id: int, post_id: int, reason: str) -> None: ...

    async def post_needs_decision(self, owner_id: int, post_id: int, kind: str) -> None:
        """`kind` is "unknown" or "missed": the owner gets Retry / Mark published / Cancel."""

    async def target_broken(self, owner_id: int, target_id: int, reason: str) -> None: ...

    async def rule_failed(self, owner_id: int, rule_id: int, error: str) -> None: ...

    async def approval_requested(
        self, owner_id: int, rule_id: int, post_ids: list[int]
    ) -> None: ...

    async def admin_alert(self, text: str) -> None: ...


class NullNotifier:
    """For workers-only processes without a bot, and for tests that do not look."""

    async def post_published(self, owner_id: int, post_id: int, url: str | None) -> None:
        return None

    async def post_failed(self, owner_id: int, post_id: int, reason: str) -> None:
        return None

    async def post_needs_decision(self, owner_id: int, post_id: int, kind: str) -> None:
        return None

    async def target_broken(self, owner_id: int, target_id: int, reason: str) -> None:
        return None

    async def rule_failed(self, owner_id: int, rule_id: int, error: str) -> None:
        return None

    async def approval_requested(self, owner_id: int, rule_id: int, post_ids: list[int]) -> None:
        return None

    async def admin_alert(self, text: str) -> None:
        return None


class Waker(Protocol):
    """Tells the workers that something became due earlier than they planned to look."""

    def wake_posts(self) -> None: ...

    def wake_rules(self) -> None: ...


class NullWaker:
    def wake_posts(self) -> None:
        return None

    def wake_rules(self) -> None:
        return None


# ---------- the outbox ----------


class DeliveryOutcome(StrEnum):
    RATE_LIMITED = "rate_limited"  # 429: wait `retry_after`, no attempt counted
    TRANSIENT = "transient"  # network, 5xx: retry with backoff, never dropped
    PERMANENT = "permanent"  # blocked by the user, chat gone: recorded as dead


class DeliveryError(Exception):
    def __init__(
        self, outcome: DeliveryOutcome, reason: str, retry_after: float | None = None
    ) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason
        self.retry_after = retry_after


class Pace(Protocol):
    async def __call__(self) -> None:
        """Wait for the recipient's (and the bot's) next send slot."""


class NotificationSender(Protocol):
    """Renders outbox rows in the recipient's language and sends them; raises DeliveryError.
    `pace` is awaited before every Bot API message after the first (an approval draft is two
    messages)."""

    async def send_one(self, note: OutboxNotification, pace: Pace) -> None: ...

    async def send_group(self, chat_id: int, notes: Sequence[OutboxNotification]) -> None: ...


async def enqueue_published_notices(
    session: AsyncSession, items: Sequence[tuple[int, int, datetime]], *, delay: timedelta
) -> int:
    """ "✅ Published" notices for (owner, post, published at), inside the caller's unit (the
    worker's group commit that marks the posts published): owners who muted them get none,
    and a notice is enqueued once per post and attempt. Returns how many are new."""
    if not items:
        return 0
    repo = OutboxRepository(session)
    wanted = await repo.owners_wanting_published_notices(sorted({owner for owner, _, _ in items}))
    items = [item for item in items if item[0] in wanted]
    if not items:
        return 0
    attempts = await repo.attempts_of([post_id for _, post_id, _ in items])
    return await repo.enqueue(
        [
            NewNotification(
                chat_id=owner,
                kind=NotificationKind.PUBLISHED.value,
                payload=PostEvent(kind="published", post_id=post_id),
                dedupe_key=f"published:{post_id}:{attempts.get(post_id, 0)}",
                due_at=at + delay,
            )
            for owner, post_id, at in items
        ]
    )


class OutboxNotifier:
    """`OwnerNotifier` for the workers: every call is one short write unit (the event's facts
    are read in it too) and never awaits the network. The same event is enqueued once
    (`dedupe_key`, unique)."""

    def __init__(
        self,
        db: Database,
        admin_ids: Iterable[int] = (),
        *,
        clock: Clock | None = None,
        group_delay: timedelta = timedelta(0),
        on_enqueued: Callable[[], None] | None = None,
    ) -> None:
        self.db = db
        self.admin_ids = list(admin_ids)
        self.clock = clock or SystemClock()
        # Failures, unknowns and misses wait this long before they may be sent, so that a
        # burst arriving within it is sent as one message.
        self.group_delay = group_delay
        self.on_enqueued = on_enqueued

    def _wake(self) -> None:
        if self.on_enqueued is not None:
            try:
                self.on_enqueued()
            except Exception:
                log.exception("could not wake the notifications drainer")

    async def _put(self, items: list[NewNotification]) -> int:
        async with self.db.write() as session:
            added = await OutboxRepository(session).enqueue(items)
        if added:
            self._wake()
        return added

    def _stamp(self) -> str:
        return f"{self.clock.now().timestamp():.3f}"

    async def _post_event(self, owner_id: int, post_id: int, kind: NotificationKind) -> None:
        now = self.clock.now()
        async with self.db.write() as session:
            repo = OutboxRepository(session)
            if kind == NotificationKind.PUBLISHED and not await repo.wants_published_notices(
                owner_id
            ):
                return
            fact = await repo.post_fact(post_id)
            attempts, code = fact if fact is not None else (0, None)
            # Published notices wait as long as problems do, so a burst is one message.
            delay = self.group_delay
            added = await repo.enqueue(
                [
                    NewNotification(
                        chat_id=owner_id,
                        kind=kind.value,
                        payload=PostEvent(kind=kind.value, post_id=post_id, code=code),
                        # One message per post and attempt: a retried post may fail again.
                        dedupe_key=f"{kind.value}:{post_id}:{attempts}",
                        due_at=now + delay,
                    )
                ]
            )
        if added:
            self._wake()

    async def post_published(self, owner_id: int, post_id: int, url: str | None) -> None:
        """ "✅ Published" with the post's life buttons (edit, delete, pin, auto-delete),
        unless the owner muted such notices; a burst of them becomes one message."""
        await self._post_event(owner_id, post_id, NotificationKind.PUBLISHED)

    async def post_failed(self, owner_id: int, post_id: int, reason: str) -> None:
        await self._post_event(owner_id, post_id, NotificationKind.FAILED)

    async def post_needs_decision(self, owner_id: int, post_id: int, kind: str) -> None:
        event = NotificationKind.MISSED if kind == "missed" else NotificationKind.UNKNOWN
        await self._post_event(owner_id, post_id, event)

    async def target_broken(self, owner_id: int, target_id: int, reason: str) -> None:
        now = self.clock.now()
        stamp = self._stamp()
        async with self.db.write() as session:
            repo = OutboxRepository(session)
            code = await repo.target_code(target_id)
            items = [
                NewNotification(
                    chat_id=owner_id,
                    kind=NotificationKind.TARGET_BROKEN.value,
                    payload=TargetBroken(target_id=target_id, code=code),
                    dedupe_key=f"target_broken:{target_id}:{stamp}",
                    due_at=now,
                )
            ]
            items += [
                NewNotification(
                    chat_id=admin_id,
                    kind=NotificationKind.ADMIN_TARGET_BROKEN.value,
                    payload=AdminTargetBroken(target_id=target_id, owner_id=owner_id, code=code),
                    dedupe_key=f"admin_target_broken:{admin_id}:{target_id}:{stamp}",
                    due_at=now,
                )
                for admin_id in self.admin_ids
            ]
            added = await repo.enqueue(items)
        if added:
            self._wake()

    async def rule_failed(self, owner_id: int, rule_id: int, error: str) -> None:
        now = self.clock.now()
        async with self.db.write() as session:
            repo = OutboxRepository(session)
            fact = await repo.rule_fact(rule_id)
            code, updated = fact if fact is not None else (None, None)
            moment = _stamp_of(updated) if updated is not None else self._stamp()
            added = await repo.enqueue(
                [
                    NewNotification(
                        chat_id=owner_id,
                        kind=NotificationKind.RULE_FAILED.value,
                        payload=RuleFailed(rule_id=rule_id, code=code),
                        dedupe_key=f"rule_failed:{rule_id}:{moment}",
                        due_at=now,
                    )
                ]
            )
        if added:
            self._wake()

    async def approval_requested(self, owner_id: int, rule_id: int, post_ids: list[int]) -> None:
        """One row per draft (content), so a refused draft is retried alone."""
        now = self.clock.now()
        async with self.db.write() as session:
            repo = OutboxRepository(session)
            contents = await repo.contents_of_posts(post_ids)
            added = await repo.enqueue(
                [
                    NewNotification(
                        chat_id=owner_id,
                        kind=NotificationKind.APPROVAL_REQUESTED.value,
                        payload=ApprovalRequested(
                            rule_id=rule_id, content_id=content_id, post_ids=posts[:100]
                        ),
                        dedupe_key=f"approval:{content_id}",
                        due_at=now,
                    )
                    for content_id, posts in contents.items()
                ]
            )
        if added:
            self._wake()

    async def admin_alert(self, text: str) -> None:
        if not self.admin_ids:
            return
        now = self.clock.now()
        digest = hashlib.sha256(text.encode()).hexdigest()[:16]
        stamp = self._stamp()
        await self._put(
            [
                NewNotification(
                    chat_id=admin_id,
                    kind=NotificationKind.ADMIN_ALERT.value,
                    payload=AdminAlert(text=text[:3500]),
                    dedupe_key=f"admin:{admin_id}:{digest}:{stamp}",
                    due_at=now,
                )
                for admin_id in self.admin_ids
            ]
        )


def _stamp_of(moment: datetime) -> str:
    return f"{moment.timestamp():.3f}"
