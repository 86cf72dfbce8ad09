"""The notification outbox: enqueue once, claim with a lease, settle each outcome (issue 14).

Claiming works like the posts' claim (storage.repositories.PostRepository.claim_due): one
conditional UPDATE moves due rows `pending → sending` and sets a lease; a row another drainer
took no longer matches and is skipped. A lease that ran out (its drainer died mid-send) makes
the row claimable again: a notification may then arrive twice, never zero times."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AutoPostingRule, OutboxNotification, ScheduledPost, Target, User
from storage.outbox_payload import NotificationStatus

PENDING = NotificationStatus.PENDING.value
SENDING = NotificationStatus.SENDING.value
SENT = NotificationStatus.SENT.value
DEAD = NotificationStatus.DEAD.value


@dataclass(frozen=True)
class NewNotification:
    chat_id: int
    kind: str
    payload: Any  # one of storage.outbox_payload's models
    dedupe_key: str
    due_at: datetime


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _dialect(self) -> str:
        bind = self.session.bind
        return bind.dialect.name if bind is not None else "sqlite"

    async def enqueue(self, items: Sequence[NewNotification]) -> int:
        """Insert each notification unless its dedupe key is already there; returns how many
        rows are new. One statement, no read-then-write race between processes."""
        if not items:
            return 0
        insert = pg_insert if self._dialect() == "postgresql" else sqlite_insert
        values = [
            {
                "chat_id": item.chat_id,
                "kind": item.kind,
                "payload": item.payload,
                "dedupe_key": item.dedupe_key[:160],
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": item.due_at,
                "created_at": item.due_at,
            }
            for item in items
        ]
        statement = (
            insert(OutboxNotification)
            .values(values)
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(OutboxNotification.id)
        )
        result = await self.session.execute(statement)
        return len(result.all())

    async def claim_due(
        self, now: datetime, worker_id: str, lease: timedelta, limit: int
    ) -> list[OutboxNotification]:
        """Move due rows to `sending` under this drainer's lease, in one conditional UPDATE;
        returns only the rows this statement changed, oldest first."""
        claimable = or_(
            and_(
                OutboxNotification.status == PENDING,
                OutboxNotification.next_attempt_at <= now,
            ),
            and_(
                OutboxNotification.status == SENDING,
                OutboxNotification.lease_until < now,
            ),
        )
        candidates = (
            select(OutboxNotification.id)
            .where(claimable)
            .order_by(OutboxNotification.next_attempt_at, OutboxNotification.id)
            .limit(limit)
        )
        if self._dialect() == "postgresql":
            # A locking CTE is evaluated once (see PostRepository.claim_due).
            due = candidates.with_for_update(skip_locked=True).cte("due")
            chosen: Any = OutboxNotification.id == due.c.id
        else:
            chosen = OutboxNotification.id.in_(candidates.scalar_subquery())
        result = await self.session.execute(
            update(OutboxNotification)
            .where(chosen, claimable)
            .values(status=SENDING, lease_owner=worker_id, lease_until=now + lease)
            .returning(OutboxNotification.id)
            .execution_options(synchronize_session=False)
        )
        ids = [row[0] for row in result.all()]
        if not ids:
            return []
        rows = await self.session.execute(
            select(OutboxNotification)
            .where(OutboxNotification.id.in_(ids))
            .order_by(OutboxNotification.id)
            .execution_options(populate_existing=True)
        )
        return list(rows.scalars().all())

    def _mine(self, ids: Sequence[int], worker_id: str) -> Any:
        return and_(
            OutboxNotification.id.in_(list(ids)),
            OutboxNotification.status == SENDING,
            OutboxNotification.lease_owner == worker_id,
        )

    async def mark_sent(self, ids: Sequence[int], worker_id: str, now: datetime) -> int:
        result = await self.session.execute(
            update(OutboxNotification)
            .where(self._mine(ids, worker_id))
            .values(
                status=SENT,
                sent_at=now,
                lease_owner=None,
                lease_until=None,
                last_error=None,
                attempts=OutboxNotification.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def release(
        self,
        ids: Sequence[int],
        worker_id: str,
        due_at: datetime,
        *,
        count_attempt: bool,
        error: str | None = None,
    ) -> int:
        """Back to `pending` at `due_at`: a rate-limit wait (no attempt) or a retry."""
        values: dict[str, Any] = {
            "status": PENDING,
            "next_attempt_at": due_at,
            "lease_owner": None,
            "lease_until": None,
        }
        if count_attempt:
            values["attempts"] = OutboxNotification.attempts + 1
        if error is not None:
            values["last_error"] = error[:500]
        result = await self.session.execute(
            update(OutboxNotification)
            .where(self._mine(ids, worker_id))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def mark_dead(self, ids: Sequence[int], worker_id: str, error: str) -> int:
        result = await self.session.execute(
            update(OutboxNotification)
            .where(self._mine(ids, worker_id))
            .values(
                status=DEAD,
                lease_owner=None,
                lease_until=None,
                last_error=error[:500],
                attempts=OutboxNotification.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    async def next_due_at(self) -> datetime | None:
        """The next pending row's time, or the next lease to run out."""
        pending = await self.session.scalar(
            select(func.min(OutboxNotification.next_attempt_at)).where(
                OutboxNotification.status == PENDING
            )
        )
        lease = await self.session.scalar(
            select(func.min(OutboxNotification.lease_until)).where(
                OutboxNotification.status == SENDING
            )
        )
        times = [t for t in (pending, lease) if t is not None]
        return min(times) if times else None

    async def count_by_status(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(OutboxNotification.status, func.count()).group_by(OutboxNotification.status)
        )
        return {row[0]: int(row[1]) for row in rows.all()}

    async def purge_sent(self, before: datetime, limit: int = 1000) -> int:
        """Delivered rows are kept a while for dedupe and inspection, then removed, so the
        table does not grow with every message ever sent."""
        old = (
            select(OutboxNotification.id)
            .where(OutboxNotification.status == SENT, OutboxNotification.sent_at < before)
            .limit(limit)
        )
        from sqlalchemy import delete

        result = await self.session.execute(
            delete(OutboxNotification)
            .where(OutboxNotification.id.in_(old.scalar_subquery()))
            .execution_options(synchronize_session=False)
        )
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    # ---------- the sweep: events whose enqueue a crash lost ----------

    async def posts_ended_since(
        self, since: datetime, limit: int
    ) -> list[tuple[int, int, str, int, str | None]]:
        """Posts that became failed, unknown or missed since `since`: (id, owner, status,
        attempts, error code), oldest first."""
        rows = await self.session.execute(
            select(
                ScheduledPost.id,
                ScheduledPost.owner_id,
                ScheduledPost.status,
                ScheduledPost.attempts,
                ScheduledPost.error_code,
            )
            .where(
                ScheduledPost.status.in_(["failed", "unknown", "missed"]),
                ScheduledPost.updated_at >= since,
            )
            .order_by(ScheduledPost.updated_at)
            .limit(limit)
        )
        return [(int(r[0]), int(r[1]), str(r[2]), int(r[3]), r[4]) for r in rows.all()]

    async def existing_keys(self, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        rows = await self.session.execute(
            select(OutboxNotification.dedupe_key).where(OutboxNotification.dedupe_key.in_(keys))
        )
        return {str(key) for key in rows.scalars()}

    # ---------- facts the enqueuers read in the same unit ----------

    async def post_fact(self, post_id: int) -> tuple[int, str | None] | None:
        """The post's attempts (which attempt the event is about) and error code."""
        row = (
            await self.session.execute(
                select(ScheduledPost.attempts, ScheduledPost.error_code).where(
                    ScheduledPost.id == post_id
                )
            )
        ).first()
        return (int(row[0]), row[1]) if row is not None else None

    async def owners_wanting_published_notices(self, owner_ids: Sequence[int]) -> set[int]:
        rows = await self.session.execute(
            select(User.id).where(User.id.in_(owner_ids), User.notify_published.is_(True))
        )
        return {int(owner) for owner in rows.scalars()}

    async def attempts_of(self, post_ids: Sequence[int]) -> dict[int, int]:
        rows = await self.session.execute(
            select(ScheduledPost.id, ScheduledPost.attempts).where(ScheduledPost.id.in_(post_ids))
        )
        return {int(row[0]): int(row[1]) for row in rows.all()}

    async def wants_published_notices(self, owner_id: int) -> bool:
        wanted = await self.session.scalar(
            select(User.notify_published).where(User.id == owner_id)
        )
        return bool(wanted)

    async def target_code(self, target_id: int) -> str | None:
        return await self.session.scalar(select(Target.error_code).where(Target.id == target_id))

    async def rule_fact(self, rule_id: int) -> tuple[str | None, datetime | None] | None:
        row = (
            await self.session.execute(
                select(AutoPostingRule.error_code, AutoPostingRule.updated_at).where(
                    AutoPostingRule.id == rule_id
                )
            )
        ).first()
        return (row[0], row[1]) if row is not None else None

    async def contents_of_posts(self, post_ids: Sequence[int]) -> dict[int, list[int]]:
        """content id → its post ids, in the order the posts were given."""
        if not post_ids:
            return {}
        rows = await self.session.execute(
            select(ScheduledPost.id, ScheduledPost.content_id).where(
                ScheduledPost.id.in_(list(post_ids))
            )
        )
        by_post = {row[0]: row[1] for row in rows.all()}
        contents: dict[int, list[int]] = {}
        for post_id in post_ids:
            content_id = by_post.get(post_id)
            if content_id is not None:
                contents.setdefault(content_id, []).append(post_id)
        return contents
