"""Queries for auto-posting rules beyond the shared RuleRepository: retry state, quiet-hour
postponement, the rule dialog's edits and the approval of generated drafts.

Every statement that acts for a person filters by `owner_id`; the worker's statements are
compare-and-swap on `next_execution_at`, like `RuleRepository.claim`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AutoPostingRule, Content, PostStatus, ScheduledPost, Target


@dataclass(frozen=True)
class ClaimedRun:
    """An execution a worker claimed and did not finish (see `abandoned_claims`)."""

    rule_id: int
    owner_id: int
    slot: datetime
    claimed_at: datetime | None
    next_execution_at: datetime | None


class RuleRunRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ---- the worker's side ----

    async def postpone(self, rule_id: int, expected_next: datetime, new_next: datetime) -> bool:
        """Move a due execution later without running it (quiet hours)."""
        result = await self.session.execute(
            update(AutoPostingRule)
            .where(
                AutoPostingRule.id == rule_id,
                AutoPostingRule.is_active.is_(True),
                AutoPostingRule.next_execution_at == expected_next,
            )
            .values(next_execution_at=new_next)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def arm_retry(
        self,
        rule_id: int,
        claimed_next: datetime | None,
        retry_at: datetime,
        slot: datetime,
        attempts: int,
    ) -> bool:
        """Bring the next execution forward to `retry_at` for another try of `slot`, unless
        someone changed the rule meanwhile (paused, edited, run now)."""
        condition = (
            AutoPostingRule.next_execution_at.is_(None)
            if claimed_next is None
            else AutoPostingRule.next_execution_at == claimed_next
        )
        result = await self.session.execute(
            update(AutoPostingRule)
            .where(AutoPostingRule.id == rule_id, AutoPostingRule.is_active.is_(True), condition)
            .values(next_execution_at=retry_at, retry_slot_at=slot, retry_attempts=attempts)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def mark_claimed(self, rule_id: int, slot: datetime) -> None:
        """Written with the claim: this execution is under way until `release_claim`."""
        await self.session.execute(
            update(AutoPostingRule)
            .where(AutoPostingRule.id == rule_id)
            .values(claimed_slot_at=slot)
            .execution_options(synchronize_session=False)
        )

    async def release_claim(self, rule_id: int) -> None:
        """The claimed execution ended (done, failed, skipped or re-armed for a retry)."""
        await self.session.execute(
            update(AutoPostingRule)
            .where(AutoPostingRule.id == rule_id)
            .values(claimed_slot_at=None)
            .execution_options(synchronize_session=False)
        )

    async def abandoned_claims(self, claimed_before: datetime) -> list[ClaimedRun]:
        """Executions claimed before `claimed_before` and still not finished: the process
        that claimed them stopped (a live one finishes well within the lease)."""
        rows = await self.session.execute(
            select(
                AutoPostingRule.id,
                AutoPostingRule.owner_id,
                AutoPostingRule.claimed_slot_at,
                AutoPostingRule.last_executed_at,
                AutoPostingRule.next_execution_at,
            )
            .where(
                AutoPostingRule.claimed_slot_at.is_not(None),
                AutoPostingRule.is_active.is_(True),
                AutoPostingRule.last_executed_at <= claimed_before,
            )
            .order_by(AutoPostingRule.id)
        )
        return [ClaimedRun(r[0], r[1], r[2], r[3], r[4]) for r in rows.all() if r[2] is not None]

    async def rearm_claimed(self, run: ClaimedRun, at: datetime) -> bool:
        """Make the abandoned execution due again at `at`, as a retry of its slot, unless
        another process recovered it first or the owner changed the rule meanwhile."""
        condition = (
            AutoPostingRule.next_execution_at.is_(None)
            if run.next_execution_at is None
            else AutoPostingRule.next_execution_at == run.next_execution_at
        )
        result = await self.session.execute(
            update(AutoPostingRule)
            .where(
                AutoPostingRule.id == run.rule_id,
                AutoPostingRule.is_active.is_(True),
                AutoPostingRule.claimed_slot_at == run.slot,
                condition,
            )
            .values(
                next_execution_at=at,
                retry_slot_at=run.slot,
                retry_attempts=1,
                claimed_slot_at=None,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def drop_claim(self, run: ClaimedRun) -> bool:
        """Give the abandoned execution up; True for the one process that does."""
        result = await self.session.execute(
            update(AutoPostingRule)
            .where(AutoPostingRule.id == run.rule_id, AutoPostingRule.claimed_slot_at == run.slot)
            .values(claimed_slot_at=None)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def clear_retry(self, rule_id: int) -> None:
        await self.session.execute(
            update(AutoPostingRule)
            .where(AutoPostingRule.id == rule_id)
            .values(retry_slot_at=None, retry_attempts=0)
            .execution_options(synchronize_session=False)
        )

    async def contents_since(self, rule_id: int, since: datetime) -> Sequence[Content]:
        rows = await self.session.scalars(
            select(Content)
            .where(Content.rule_id == rule_id, Content.created_at >= since)
            .order_by(Content.id)
        )
        return rows.all()

    async def recent_texts(self, rule_id: int, limit: int = 10) -> list[str]:
        rows = await self.session.scalars(
            select(Content.text)
            .where(Content.rule_id == rule_id)
            .order_by(Content.id.desc())
            .limit(limit)
        )
        return [text for text in rows.all() if text]

    # ---- the owner's side ----

    async def update_for_owner(self, owner_id: int, rule_id: int, **values: Any) -> bool:
        if not values:
            return True
        result = await self.session.execute(
            update(AutoPostingRule)
            .where(AutoPostingRule.id == rule_id, AutoPostingRule.owner_id == owner_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def set_targets_for_owner(
        self, owner_id: int, rule: AutoPostingRule, targets: Sequence[Target]
    ) -> None:
        if rule.owner_id != owner_id or any(t.owner_id != owner_id for t in targets):
            raise PermissionError("rule or target of another user")
        rule.targets = list(targets)
        await self.session.flush()

    async def posts_of_content_for_owner(
        self, owner_id: int, content_id: int
    ) -> list[tuple[ScheduledPost, Target]]:
        rows = await self.session.execute(
            select(ScheduledPost, Target)
            .join(Target, Target.id == ScheduledPost.target_id)
            .where(ScheduledPost.content_id == content_id, ScheduledPost.owner_id == owner_id)
            .order_by(ScheduledPost.id)
        )
        return [(r[0], r[1]) for r in rows.all()]

    async def decide_approval_for_owner(
        self, owner_id: int, content_id: int, status: PostStatus, due_at: datetime | None
    ) -> list[int]:
        """Moves the content's posts that still await approval; returns the ids moved."""
        values: dict[str, Any] = {"status": status}
        if due_at is not None:
            values["due_at"] = due_at
        result = await self.session.execute(
            update(ScheduledPost)
            .where(
                ScheduledPost.content_id == content_id,
                ScheduledPost.owner_id == owner_id,
                ScheduledPost.status == PostStatus.AWAITING_APPROVAL,
            )
            .values(**values)
            .returning(ScheduledPost.id)
            .execution_options(synchronize_session=False)
        )
        return [row[0] for row in result.all()]

    async def update_content_for_owner(
        self, owner_id: int, content_id: int, **values: Any
    ) -> bool:
        result = await self.session.execute(
            update(Content)
            .where(Content.id == content_id, Content.owner_id == owner_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))
