from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    AutoPostingRule,
    Content,
    Credential,
    PostStatus,
    PublishAttempt,
    Role,
    ScheduledPost,
    Target,
    TargetStatus,
    User,
    rule_targets,
)
from storage.rule_config import (
    ContentConfig,
    QuietHours,
    ScheduleSpec,
    content_config_of,
    parse_schedule,
    quiet_hours_of,
)

# Error codes the storage layer writes itself (values of platforms.errors.ErrorCode, which this
# layer may not import; tests/ux/test_error_codes.py checks they stay in step).
ERROR_TARGET_UNLINKED = "target_unlinked"
ERROR_PROCESS_STOPPED = "process_stopped"
ERROR_MISSED = "missed"

# Statuses a post can still be cancelled or rescheduled from.
OPEN_STATUSES = (
    PostStatus.DRAFT,
    PostStatus.SCHEDULED,
    PostStatus.AWAITING_APPROVAL,
    PostStatus.UNKNOWN,
    PostStatus.MISSED,
    PostStatus.FAILED,
)


def _target_not_paused() -> Any:
    """Posts of a broken target (bot removed from the channel, an Instagram challenge, an
    expired X token) wait until the owner links it again instead of failing one by one; an
    unlinked target's are never sent (they were cancelled when it was unlinked)."""
    target_ok = ScheduledPost.target_id.not_in(
        select(Target.id)
        .where(or_(Target.status == TargetStatus.BROKEN, Target.deleted_at.is_not(None)))
        .scalar_subquery()
    )
    # A paused queue (issue 12) holds its queued posts, neither claimed nor missed; its
    # explicitly timed posts still go. Resuming gives the queued ones new slots.
    queue_running = or_(
        ScheduledPost.queue_position.is_(None),
        ScheduledPost.target_id.not_in(
            select(Target.id).where(Target.queue_paused.is_(True)).scalar_subquery()
        ),
    )
    return and_(target_ok, queue_running)


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def upsert(
        self,
        user_id: int,
        *,
        username: str | None,
        first_name: str | None,
        language: str,
        timezone: str,
        is_admin: bool,
    ) -> User:
        user = await self.session.get(User, user_id)
        role = Role.ADMIN if is_admin else Role.USER
        if user is None:
            user = User(
                id=user_id,
                username=username,
                first_name=first_name,
                language=language,
                timezone=timezone,
                role=role,
            )
            self.session.add(user)
            await self.session.flush()
            return user
        if (user.username, user.first_name, user.role) != (username, first_name, role):
            user.username, user.first_name, user.role = username, first_name, role
        return user

    async def set_language(self, user_id: int, language: str) -> None:
        await self.session.execute(
            update(User).where(User.id == user_id).values(language=language)
        )

    async def set_timezone(self, user_id: int, timezone: str) -> None:
        await self.session.execute(
            update(User).where(User.id == user_id).values(timezone=timezone)
        )

    async def set_notify_published(self, user_id: int, enabled: bool) -> None:
        await self.session.execute(
            update(User).where(User.id == user_id).values(notify_published=enabled)
        )

    async def list_recent(self, limit: int = 50) -> Sequence[User]:
        rows = await self.session.scalars(
            select(User).order_by(User.created_at.desc()).limit(limit)
        )
        return rows.all()

    async def count(self) -> int:
        return int(await self.session.scalar(select(func.count()).select_from(User)) or 0)


@dataclass(frozen=True)
class Unlinked:
    """What unlinking a target did: the posts cancelled, the rules that lost it."""

    cancelled_posts: int
    rule_names: list[str]


def _linked() -> Any:
    return Target.deleted_at.is_(None)


class TargetRepository:
    """Every lookup skips unlinked (soft-deleted) targets, except `get` by id for the workers'
    messages about a post's history."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def list_for_owner(self, owner_id: int, platform: str | None = None) -> Sequence[Target]:
        query = select(Target).where(Target.owner_id == owner_id, _linked()).order_by(Target.id)
        if platform:
            query = query.where(Target.platform == platform)
        return (await self.session.scalars(query)).all()

    async def get_for_owner(self, owner_id: int, target_id: int) -> Target | None:
        return await self.session.scalar(
            select(Target).where(Target.id == target_id, Target.owner_id == owner_id, _linked())
        )

    async def get_many_for_owner(self, owner_id: int, ids: Iterable[int]) -> Sequence[Target]:
        ids = list(ids)
        if not ids:
            return []
        rows = await self.session.scalars(
            select(Target)
            .where(Target.owner_id == owner_id, Target.id.in_(ids), _linked())
            .order_by(Target.id)
        )
        return rows.all()

    async def get(self, target_id: int) -> Target | None:
        """By id alone, unlinked ones too (their title in history): for workers only, never
        for a handler (see DESIGN.md)."""
        return await self.session.get(Target, target_id)

    async def link(
        self,
        owner_id: int,
        platform: str,
        external_id: str,
        title: str,
        handle: str | None = None,
    ) -> Target:
        """A new target, or the same row again: a broken one is healthy again, an unlinked one
        comes back with its history."""
        target = await self.session.scalar(
            select(Target).where(
                Target.owner_id == owner_id,
                Target.platform == platform,
                Target.external_id == external_id,
            )
        )
        if target is None:
            target = Target(
                owner_id=owner_id,
                platform=platform,
                external_id=external_id,
                title=title,
                handle=handle,
                settings={},
            )
            self.session.add(target)
        else:
            target.title, target.handle = title, handle
            target.status, target.last_error = TargetStatus.ACTIVE, None
            target.error_code = None
            target.deleted_at = None
        await self.session.flush()
        return target

    async def unlink_for_owner(
        self, owner_id: int, target_id: int, now: datetime
    ) -> Unlinked | None:
        """Soft-deletes the target: posts still waiting for it are cancelled with the reason,
        every other post stays as history; rules stop posting to it; its secrets go."""
        target = await self.get_for_owner(owner_id, target_id)
        if target is None:
            return None
        cancelled = await self.session.execute(
            update(ScheduledPost)
            .where(
                ScheduledPost.target_id == target_id,
                ScheduledPost.status.in_(
                    [PostStatus.SCHEDULED, PostStatus.AWAITING_APPROVAL, PostStatus.DRAFT]
                ),
            )
            .values(
                status=PostStatus.CANCELLED,
                last_error="target unlinked",
                error_code=ERROR_TARGET_UNLINKED,
            )
            .execution_options(synchronize_session=False)
        )
        rule_names = (
            await self.session.scalars(
                select(AutoPostingRule.name)
                .join(rule_targets, rule_targets.c.rule_id == AutoPostingRule.id)
                .where(rule_targets.c.target_id == target_id)
                .order_by(AutoPostingRule.id)
            )
        ).all()
        await self.session.execute(
            delete(rule_targets).where(rule_targets.c.target_id == target_id)
        )
        await self.session.execute(delete(Credential).where(Credential.target_id == target_id))
        target.deleted_at = now
        await self.session.flush()
        return Unlinked(
            cancelled_posts=int(getattr(cancelled, "rowcount", 0) or 0),
            rule_names=list(rule_names),
        )

    async def mark_broken(self, target_id: int, reason: str, code: str | None = None) -> bool:
        """Returns True when the target was healthy before (so the owner is told once)."""
        result = await self.session.execute(
            update(Target)
            .where(Target.id == target_id, Target.status != TargetStatus.BROKEN)
            .values(status=TargetStatus.BROKEN, last_error=reason, error_code=code)
        )
        return bool(getattr(result, "rowcount", 0))

    async def mark_active(self, target_id: int) -> None:
        await self.session.execute(
            update(Target)
            .where(Target.id == target_id, Target.status == TargetStatus.BROKEN)
            .values(status=TargetStatus.ACTIVE, last_error=None, error_code=None)
        )


class CredentialRepository:
    """Stores ciphertext only; encryption happens in the caller's SecretBox."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_ciphertext(self, target_id: int) -> tuple[str, str] | None:
        row = await self.session.scalar(
            select(Credential).where(Credential.target_id == target_id)
        )
        return (row.kind, row.ciphertext) if row else None

    async def put(self, target_id: int, kind: str, ciphertext: str) -> None:
        row = await self.session.scalar(
            select(Credential).where(Credential.target_id == target_id)
        )
        if row is None:
            self.session.add(Credential(target_id=target_id, kind=kind, ciphertext=ciphertext))
        else:
            row.kind, row.ciphertext = kind, ciphertext
        await self.session.flush()

    async def delete(self, target_id: int) -> None:
        await self.session.execute(delete(Credential).where(Credential.target_id == target_id))

    async def all_ciphertexts(self) -> list[tuple[int, str]]:
        """(credential id, ciphertext) of every stored credential: for re-encryption."""
        rows = await self.session.execute(
            select(Credential.id, Credential.ciphertext).order_by(Credential.id)
        )
        return [(row_id, ciphertext) for row_id, ciphertext in rows.all()]

    async def replace_ciphertext(self, credential_id: int, old: str, new: str) -> bool:
        """Compare-and-set: False when the row changed since `old` was read."""
        result = await self.session.execute(
            update(Credential)
            .where(Credential.id == credential_id, Credential.ciphertext == old)
            .values(ciphertext=new)
        )
        return bool(getattr(result, "rowcount", 0))


class ContentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self,
        owner_id: int,
        text: str,
        *,
        title: str | None = None,
        media: list[dict[str, Any]] | None = None,
        source: str = "manual",
        prompt: str | None = None,
        rule_id: int | None = None,
        ai_model: str | None = None,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
    ) -> Content:
        content = Content(
            owner_id=owner_id,
            title=title,
            text=text,
            media=media or [],
            source=source,
            prompt=prompt,
            rule_id=rule_id,
            ai_model=ai_model,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            variants={},
        )
        self.session.add(content)
        await self.session.flush()
        return content

    async def get_for_owner(self, owner_id: int, content_id: int) -> Content | None:
        return await self.session.scalar(
            select(Content).where(Content.id == content_id, Content.owner_id == owner_id)
        )

    async def get(self, content_id: int) -> Content | None:
        return await self.session.get(Content, content_id)

    async def recent_for_rule(self, rule_id: int, limit: int = 10) -> Sequence[Content]:
        rows = await self.session.scalars(
            select(Content)
            .where(Content.rule_id == rule_id)
            .order_by(Content.id.desc())
            .limit(limit)
        )
        return rows.all()

    async def tokens_for_rule_since(self, rule_id: int, since: datetime) -> int:
        total = await self.session.scalar(
            select(
                func.coalesce(func.sum(Content.prompt_tokens + Content.completion_tokens), 0)
            ).where(Content.rule_id == rule_id, Content.created_at >= since)
        )
        return int(total or 0)


@dataclass(frozen=True)
class ClaimedPost:
    id: int
    attempts: int


class PostRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ---- creating and reading (handlers: always "for owner") ----

    async def create(
        self,
        content: Content,
        targets: Sequence[Target],
        scheduled_time: datetime,
        *,
        status: PostStatus = PostStatus.SCHEDULED,
        options: dict[str, Any] | None = None,
        rule_id: int | None = None,
    ) -> list[ScheduledPost]:
        posts = [
            ScheduledPost(
                content_id=content.id,
                target_id=target.id,
                owner_id=content.owner_id,
                platform=target.platform,
                scheduled_time=scheduled_time,
                due_at=scheduled_time,
                status=status,
                options=dict(options or {}),
                rule_id=rule_id,
                attempts=0,
            )
            for target in targets
        ]
        self.session.add_all(posts)
        await self.session.flush()
        return posts

    async def get_for_owner(self, owner_id: int, post_id: int) -> ScheduledPost | None:
        return await self.session.scalar(
            select(ScheduledPost).where(
                ScheduledPost.id == post_id, ScheduledPost.owner_id == owner_id
            )
        )

    async def get_with_content_for_owner(
        self, owner_id: int, post_id: int
    ) -> tuple[ScheduledPost, Content, Target] | None:
        row = (
            await self.session.execute(
                select(ScheduledPost, Content, Target)
                .join(Content, Content.id == ScheduledPost.content_id)
                .join(Target, Target.id == ScheduledPost.target_id)
                .where(ScheduledPost.id == post_id, ScheduledPost.owner_id == owner_id)
            )
        ).first()
        return (row[0], row[1], row[2]) if row else None

    async def list_for_owner(
        self,
        owner_id: int,
        statuses: Sequence[str] | None = None,
        *,
        offset: int = 0,
        limit: int = 10,
    ) -> tuple[list[tuple[ScheduledPost, Content, Target]], int]:
        where = [ScheduledPost.owner_id == owner_id]
        if statuses:
            where.append(ScheduledPost.status.in_(list(statuses)))
        total = int(
            await self.session.scalar(
                select(func.count()).select_from(ScheduledPost).where(*where)
            )
            or 0
        )
        rows = await self.session.execute(
            select(ScheduledPost, Content, Target)
            .join(Content, Content.id == ScheduledPost.content_id)
            .join(Target, Target.id == ScheduledPost.target_id)
            .where(*where)
            .order_by(ScheduledPost.scheduled_time.desc(), ScheduledPost.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [(r[0], r[1], r[2]) for r in rows.all()], total

    async def cancel_for_owner(self, owner_id: int, post_id: int) -> bool:
        result = await self.session.execute(
            update(ScheduledPost)
            .where(
                ScheduledPost.id == post_id,
                ScheduledPost.owner_id == owner_id,
                ScheduledPost.status.in_(OPEN_STATUSES),
            )
            .values(status=PostStatus.CANCELLED, lease_owner=None, lease_until=None)
        )
        return bool(getattr(result, "rowcount", 0))

    async def reschedule_for_owner(self, owner_id: int, post_id: int, when: datetime) -> bool:
        result = await self.session.execute(
            update(ScheduledPost)
            .where(
                ScheduledPost.id == post_id,
                ScheduledPost.owner_id == owner_id,
                ScheduledPost.status.in_(OPEN_STATUSES),
                # An unlinked target's posts are history: nowhere to send them again.
                ScheduledPost.target_id.in_(select(Target.id).where(_linked())),
            )
            .values(
                # A draft waiting for approval moves in time but still waits for approval.
                status=case(
                    (
                        ScheduledPost.status == PostStatus.AWAITING_APPROVAL,
                        PostStatus.AWAITING_APPROVAL.value,
                    ),
                    else_=PostStatus.SCHEDULED.value,
                ),
                scheduled_time=when,
                due_at=when,
                attempts=0,
                last_error=None,
                error_code=None,
                # A time chosen by hand takes the post out of its queue (issue 12).
                queue_position=None,
            )
        )
        return bool(getattr(result, "rowcount", 0))

    async def mark_published_by_owner(self, owner_id: int, post_id: int, now: datetime) -> bool:
        result = await self.session.execute(
            update(ScheduledPost)
            .where(
                ScheduledPost.id == post_id,
                ScheduledPost.owner_id == owner_id,
                ScheduledPost.status.in_([PostStatus.UNKNOWN, PostStatus.MISSED]),
            )
            .values(status=PostStatus.PUBLISHED, published_at=now, lease_owner=None)
        )
        return bool(getattr(result, "rowcount", 0))

    async def attempts_for_post(self, post_id: int) -> Sequence[PublishAttempt]:
        rows = await self.session.scalars(
            select(PublishAttempt)
            .where(PublishAttempt.post_id == post_id)
            .order_by(PublishAttempt.id)
        )
        return rows.all()

    # ---- the worker's side ----

    async def claim_due(
        self, now: datetime, worker_id: str, lease: timedelta, limit: int
    ) -> list[ClaimedPost]:
        """Move due posts `scheduled → publishing` in one conditional statement.

        Only rows this statement changed are returned; a row another process claimed first
        no longer matches `status = 'scheduled'` and is skipped.
        """
        candidates = (
            select(ScheduledPost.id)
            .where(
                ScheduledPost.status == PostStatus.SCHEDULED,
                ScheduledPost.due_at <= now,
                _target_not_paused(),
            )
            .order_by(ScheduledPost.due_at, ScheduledPost.id)
            .limit(limit)
        )
        if self.session.bind is not None and self.session.bind.dialect.name == "postgresql":
            # A CTE, not `id IN (subquery)`: PostgreSQL may re-run a LIMIT ... SKIP LOCKED
            # subquery inside the UPDATE's plan and then claim more rows than the limit.
            # A locking CTE is always evaluated once.
            due = candidates.with_for_update(skip_locked=True).cte("due")
            chosen: Any = ScheduledPost.id == due.c.id
        else:
            # SQLite has one writer at a time: the UPDATE is atomic as it stands.
            chosen = ScheduledPost.id.in_(candidates.scalar_subquery())
        result = await self.session.execute(
            update(ScheduledPost)
            .where(chosen, ScheduledPost.status == PostStatus.SCHEDULED)
            .values(
                status=PostStatus.PUBLISHING,
                lease_owner=worker_id,
                lease_until=now + lease,
                attempts=ScheduledPost.attempts + 1,
                # Not sent yet: only `mark_sending` says a request is about to leave.
                sending_at=None,
            )
            .returning(ScheduledPost.id, ScheduledPost.attempts)
            .execution_options(synchronize_session=False)
        )
        return sorted(
            (ClaimedPost(id=row[0], attempts=row[1]) for row in result.all()),
            key=lambda c: c.id,
        )

    async def load_for_publishing(
        self, post_ids: Sequence[int]
    ) -> list[tuple[ScheduledPost, Content, Target]]:
        if not post_ids:
            return []
        rows = await self.session.execute(
            select(ScheduledPost, Content, Target)
            .join(Content, Content.id == ScheduledPost.content_id)
            .join(Target, Target.id == ScheduledPost.target_id)
            .where(ScheduledPost.id.in_(list(post_ids)))
        )
        return [(r[0], r[1], r[2]) for r in rows.all()]

    def _leased(self, post_id: int, worker_id: str) -> Any:
        return and_(
            ScheduledPost.id == post_id,
            ScheduledPost.status == PostStatus.PUBLISHING,
            ScheduledPost.lease_owner == worker_id,
        )

    async def _finish(
        self,
        post_id: int,
        worker_id: str,
        values: dict[str, Any],
        attempt: PublishAttempt | None,
    ) -> bool:
        result = await self.session.execute(
            update(ScheduledPost)
            .where(self._leased(post_id, worker_id))
            .values(lease_owner=None, lease_until=None, **values)
            .execution_options(synchronize_session=False)
        )
        if attempt is not None:
            self.session.add(attempt)
        return bool(getattr(result, "rowcount", 0))

    async def finish_published(
        self,
        post_id: int,
        worker_id: str,
        *,
        external_id: str,
        url: str | None,
        now: datetime,
        attempt: PublishAttempt,
    ) -> bool:
        return await self._finish(
            post_id,
            worker_id,
            {
                "status": PostStatus.PUBLISHED,
                "external_id": external_id,
                "external_url": url,
                "published_at": now,
                "last_error": None,
                "error_code": None,
            },
            attempt,
        )

    async def finish_published_many(
        self, worker_id: str, finishes: Sequence[tuple[int, str, str | None, datetime]]
    ) -> set[int]:
        """`finish_published` for many posts in one UPDATE: (post id, message id, url, time).
        Returns the ids this worker still held; the others are left untouched."""
        if not finishes:
            return set()
        ids = [f[0] for f in finishes]
        stamp = ScheduledPost.__table__.c.published_at.type
        result = await self.session.execute(
            update(ScheduledPost)
            .where(
                ScheduledPost.id.in_(ids),
                ScheduledPost.status == PostStatus.PUBLISHING,
                ScheduledPost.lease_owner == worker_id,
            )
            .values(
                status=PostStatus.PUBLISHED,
                external_id=case({f[0]: f[1] for f in finishes}, value=ScheduledPost.id),
                external_url=case({f[0]: f[2] for f in finishes}, value=ScheduledPost.id),
                # Typed: the column's UTC type must process each time, as for a plain bind.
                published_at=case(
                    {f[0]: literal(f[3], stamp) for f in finishes}, value=ScheduledPost.id
                ),
                last_error=None,
                error_code=None,
                lease_owner=None,
                lease_until=None,
            )
            .returning(ScheduledPost.id)
            .execution_options(synchronize_session=False)
        )
        return {row[0] for row in result.all()}

    async def finish_retry(
        self,
        post_id: int,
        worker_id: str,
        *,
        due_at: datetime,
        error: str | None,
        attempt: PublishAttempt | None,
        refund_attempt: bool = False,
        code: str | None = None,
    ) -> bool:
        values: dict[str, Any] = {"status": PostStatus.SCHEDULED, "due_at": due_at}
        if error is not None:
            values["last_error"] = error
            values["error_code"] = code
        if refund_attempt:
            # A rate-limit deferral was no attempt at all.
            values["attempts"] = ScheduledPost.attempts - 1
        return await self._finish(post_id, worker_id, values, attempt)

    async def finish_failed(
        self,
        post_id: int,
        worker_id: str,
        *,
        error: str,
        attempt: PublishAttempt,
        code: str | None = None,
    ) -> bool:
        values = {"status": PostStatus.FAILED, "last_error": error, "error_code": code}
        return await self._finish(post_id, worker_id, values, attempt)

    async def finish_unknown(
        self,
        post_id: int,
        worker_id: str,
        *,
        error: str,
        attempt: PublishAttempt,
        code: str | None = None,
    ) -> bool:
        values = {"status": PostStatus.UNKNOWN, "last_error": error, "error_code": code}
        return await self._finish(post_id, worker_id, values, attempt)

    async def mark_sending(
        self, post_ids: Sequence[int], worker_id: str, now: datetime
    ) -> set[int]:
        """Write-ahead: these claimed posts' requests are about to leave. Returns the ids this
        worker still held; a post not returned lost its lease (it went back to `scheduled`)
        and must not be sent."""
        if not post_ids:
            return set()
        result = await self.session.execute(
            update(ScheduledPost)
            .where(
                ScheduledPost.id.in_(list(post_ids)),
                ScheduledPost.status == PostStatus.PUBLISHING,
                ScheduledPost.lease_owner == worker_id,
            )
            .values(sending_at=now)
            .returning(ScheduledPost.id)
            .execution_options(synchronize_session=False)
        )
        return {row[0] for row in result.all()}

    async def requeue_unsent(self, now: datetime) -> list[int]:
        """Posts whose lease ran out before their request was marked as leaving: their
        process stopped before sending, so they go back to `scheduled`, due now, and the
        claim's attempt is given back. Nobody needs to be asked."""
        result = await self.session.execute(
            update(ScheduledPost)
            .where(
                ScheduledPost.status == PostStatus.PUBLISHING,
                ScheduledPost.lease_until < now,
                ScheduledPost.sending_at.is_(None),
            )
            .values(
                status=PostStatus.SCHEDULED,
                attempts=ScheduledPost.attempts - 1,
                lease_owner=None,
                lease_until=None,
            )
            .returning(ScheduledPost.id)
            .execution_options(synchronize_session=False)
        )
        return [row[0] for row in result.all()]

    async def expire_leases(self, now: datetime) -> list[int]:
        """Posts stuck in `publishing` past their lease after their request was marked as
        leaving (`mark_sending`): the process that held them died mid-publication, so nobody
        knows whether they went out. (Unmarked ones: `requeue_unsent`.)"""
        result = await self.session.execute(
            update(ScheduledPost)
            .where(
                ScheduledPost.status == PostStatus.PUBLISHING,
                ScheduledPost.lease_until < now,
                ScheduledPost.sending_at.is_not(None),
            )
            .values(
                status=PostStatus.UNKNOWN,
                lease_owner=None,
                lease_until=None,
                last_error="the publishing process stopped before it got an answer",
                error_code=ERROR_PROCESS_STOPPED,
            )
            .returning(ScheduledPost.id)
            .execution_options(synchronize_session=False)
        )
        return [row[0] for row in result.all()]

    async def mark_missed(self, now: datetime, grace: timedelta) -> list[int]:
        """Scheduled posts whose time passed longer ago than the grace window, never tried."""
        result = await self.session.execute(
            update(ScheduledPost)
            .where(
                ScheduledPost.status == PostStatus.SCHEDULED,
                # due_at first: the (status, due_at) index bounds the scan to overdue rows.
                ScheduledPost.due_at < now - grace,
                ScheduledPost.attempts == 0,
                ScheduledPost.scheduled_time < now - grace,
                ScheduledPost.due_at == ScheduledPost.scheduled_time,
                _target_not_paused(),
            )
            .values(
                status=PostStatus.MISSED,
                last_error="the bot was not running at that time",
                error_code=ERROR_MISSED,
            )
            .returning(ScheduledPost.id)
            .execution_options(synchronize_session=False)
        )
        return [row[0] for row in result.all()]

    async def next_due_at(self) -> datetime | None:
        value = await self.session.scalar(
            select(func.min(ScheduledPost.due_at)).where(
                ScheduledPost.status == PostStatus.SCHEDULED, _target_not_paused()
            )
        )
        if value is not None and value.tzinfo is None:
            from datetime import UTC

            value = value.replace(tzinfo=UTC)
        return value

    async def defer_claimed(self, post_ids: Sequence[int], worker_id: str, until: datetime) -> int:
        """Give claimed posts back, due at `until`, without counting an attempt (a rate-limit
        deferral). Only rows this worker still holds."""
        if not post_ids:
            return 0
        result = await self.session.execute(
            update(ScheduledPost)
            .where(
                ScheduledPost.id.in_(list(post_ids)),
                ScheduledPost.status == PostStatus.PUBLISHING,
                ScheduledPost.lease_owner == worker_id,
            )
            .values(
                status=PostStatus.SCHEDULED,
                due_at=until,
                attempts=ScheduledPost.attempts - 1,
                lease_owner=None,
                lease_until=None,
            )
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def defer_target(self, target_id: int, until: datetime) -> int:
        """Move every scheduled post of a target that is due before `until` to `until`: its
        rate limit is full, and claiming them only to defer them again would cost a write
        each. Unclaimed rows only (status stays `scheduled`), so no worker loses a claim."""
        result = await self.session.execute(
            update(ScheduledPost)
            .where(
                ScheduledPost.target_id == target_id,
                ScheduledPost.status == PostStatus.SCHEDULED,
                ScheduledPost.due_at < until,
            )
            .values(due_at=until)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def next_lease_expiry(self) -> datetime | None:
        value = await self.session.scalar(
            select(func.min(ScheduledPost.lease_until)).where(
                ScheduledPost.status == PostStatus.PUBLISHING
            )
        )
        if value is not None and value.tzinfo is None:
            from datetime import UTC

            value = value.replace(tzinfo=UTC)
        return value

    async def settle_unknown_as_published(
        self, post_id: int, *, external_id: str, url: str | None, now: datetime
    ) -> bool:
        """A late answer for a post already marked `unknown` (its lease ran out): the
        platform's answer is the truth."""
        result = await self.session.execute(
            update(ScheduledPost)
            .where(ScheduledPost.id == post_id, ScheduledPost.status == PostStatus.UNKNOWN)
            .values(
                status=PostStatus.PUBLISHED,
                external_id=external_id,
                external_url=url,
                published_at=now,
                last_error=None,
                error_code=None,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def count_due(self, now: datetime) -> int:
        return int(
            await self.session.scalar(
                select(func.count())
                .select_from(ScheduledPost)
                .where(ScheduledPost.status == PostStatus.SCHEDULED, ScheduledPost.due_at <= now)
            )
            or 0
        )

    async def published_since(self, target_id: int, since: datetime) -> list[datetime]:
        rows = await self.session.scalars(
            select(ScheduledPost.published_at).where(
                ScheduledPost.target_id == target_id,
                ScheduledPost.published_at >= since,
            )
        )
        return [r for r in rows.all() if r is not None]

    async def counts_by_status_platform(
        self, since: datetime | None = None
    ) -> list[tuple[str, str, int]]:
        query = select(ScheduledPost.status, ScheduledPost.platform, func.count()).group_by(
            ScheduledPost.status, ScheduledPost.platform
        )
        if since is not None:
            query = query.where(ScheduledPost.updated_at >= since)
        rows = await self.session.execute(query)
        return [(r[0], r[1], int(r[2])) for r in rows.all()]

    async def recent_failures(self, limit: int = 20) -> Sequence[ScheduledPost]:
        rows = await self.session.scalars(
            select(ScheduledPost)
            .where(ScheduledPost.status.in_([PostStatus.FAILED, PostStatus.UNKNOWN]))
            .order_by(ScheduledPost.updated_at.desc())
            .limit(limit)
        )
        return rows.all()

    async def decide_unanswered_approvals(self, now: datetime) -> list[tuple[int, str]]:
        """Drafts awaiting approval whose publish time came: returns (post id, policy)."""
        rows = await self.session.execute(
            select(ScheduledPost.id, AutoPostingRule.approval_policy)
            .join(AutoPostingRule, AutoPostingRule.id == ScheduledPost.rule_id, isouter=True)
            .where(
                ScheduledPost.status == PostStatus.AWAITING_APPROVAL,
                ScheduledPost.scheduled_time <= now,
            )
        )
        decided: list[tuple[int, str]] = []
        for post_id, policy in rows.all():
            new_status = PostStatus.SCHEDULED if policy == "publish" else PostStatus.SKIPPED
            result = await self.session.execute(
                update(ScheduledPost)
                .where(
                    ScheduledPost.id == post_id,
                    ScheduledPost.status == PostStatus.AWAITING_APPROVAL,
                )
                .values(status=new_status, due_at=now)
            )
            if getattr(result, "rowcount", 0):
                decided.append((post_id, policy or "skip"))
        return decided


class RuleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self,
        owner_id: int,
        *,
        name: str,
        schedule_type: str,
        schedule_config: ScheduleSpec | dict[str, Any],
        content_config: ContentConfig | dict[str, Any],
        timezone: str,
        targets: Sequence[Target],
        next_execution_at: datetime | None,
        approval_required: bool = False,
        approval_policy: str = "skip",
        daily_cap: int | None = None,
        quiet_hours: QuietHours | dict[str, Any] | None = None,
        monthly_token_budget: int | None = None,
    ) -> AutoPostingRule:
        # Plain mappings (seeds, tests) become the typed configs the column stores.
        rule = AutoPostingRule(
            owner_id=owner_id,
            name=name,
            schedule_type=schedule_type,
            schedule_config=parse_schedule(schedule_type, schedule_config),
            content_config=content_config_of(content_config),
            timezone=timezone,
            next_execution_at=next_execution_at,
            approval_required=approval_required,
            approval_policy=approval_policy,
            daily_cap=daily_cap,
            quiet_hours=quiet_hours_of(quiet_hours),
            monthly_token_budget=monthly_token_budget,
            is_active=True,
            executions_count=0,
            success_count=0,
            failure_count=0,
        )
        rule.targets = list(targets)
        self.session.add(rule)
        await self.session.flush()
        return rule

    async def list_for_owner(self, owner_id: int) -> Sequence[AutoPostingRule]:
        rows = await self.session.scalars(
            select(AutoPostingRule)
            .where(AutoPostingRule.owner_id == owner_id)
            .order_by(AutoPostingRule.id)
        )
        return rows.all()

    async def get_for_owner(self, owner_id: int, rule_id: int) -> AutoPostingRule | None:
        return await self.session.scalar(
            select(AutoPostingRule).where(
                AutoPostingRule.id == rule_id, AutoPostingRule.owner_id == owner_id
            )
        )

    async def get(self, rule_id: int) -> AutoPostingRule | None:
        """By id alone: for workers only."""
        return await self.session.get(AutoPostingRule, rule_id)

    async def delete_for_owner(self, owner_id: int, rule_id: int) -> bool:
        rule = await self.get_for_owner(owner_id, rule_id)
        if rule is None:
            return False
        await self.session.delete(rule)
        await self.session.flush()
        return True

    async def due_ids(self, now: datetime, limit: int = 100) -> list[tuple[int, datetime]]:
        rows = await self.session.execute(
            select(AutoPostingRule.id, AutoPostingRule.next_execution_at)
            .where(
                AutoPostingRule.is_active.is_(True),
                AutoPostingRule.next_execution_at <= now,
            )
            .order_by(AutoPostingRule.next_execution_at)
            .limit(limit)
        )
        return [(r[0], r[1]) for r in rows.all() if r[1] is not None]

    async def claim(
        self, rule_id: int, expected_next: datetime, new_next: datetime | None, now: datetime
    ) -> bool:
        """Advance the rule past this execution; only the process whose update matched the
        old `next_execution_at` runs it."""
        result = await self.session.execute(
            update(AutoPostingRule)
            .where(
                AutoPostingRule.id == rule_id,
                AutoPostingRule.is_active.is_(True),
                AutoPostingRule.next_execution_at == expected_next,
            )
            .values(
                next_execution_at=new_next,
                last_executed_at=now,
                executions_count=AutoPostingRule.executions_count + 1,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def record_success(self, rule_id: int) -> None:
        await self.session.execute(
            update(AutoPostingRule)
            .where(AutoPostingRule.id == rule_id)
            .values(
                success_count=AutoPostingRule.success_count + 1, last_error=None, error_code=None
            )
            .execution_options(synchronize_session=False)
        )

    async def record_failure(self, rule_id: int, error: str, code: str | None = None) -> None:
        await self.session.execute(
            update(AutoPostingRule)
            .where(AutoPostingRule.id == rule_id)
            .values(
                failure_count=AutoPostingRule.failure_count + 1,
                last_error=error[:2000],
                error_code=code,
            )
            .execution_options(synchronize_session=False)
        )

    async def set_active(
        self, owner_id: int, rule_id: int, active: bool, next_at: datetime | None
    ) -> bool:
        result = await self.session.execute(
            update(AutoPostingRule)
            .where(AutoPostingRule.id == rule_id, AutoPostingRule.owner_id == owner_id)
            .values(is_active=active, next_execution_at=next_at)
        )
        return bool(getattr(result, "rowcount", 0))

    async def next_due_at(self) -> datetime | None:
        return await self.session.scalar(
            select(func.min(AutoPostingRule.next_execution_at)).where(
                AutoPostingRule.is_active.is_(True)
            )
        )

    async def posts_created_since(self, rule_id: int, since: datetime) -> int:
        return int(
            await self.session.scalar(
                select(func.count(func.distinct(ScheduledPost.content_id))).where(
                    ScheduledPost.rule_id == rule_id,
                    ScheduledPost.created_at >= since,
                    ScheduledPost.status != PostStatus.SKIPPED,
                )
            )
            or 0
        )

    async def target_ids(self, rule_id: int) -> list[int]:
        rows = await self.session.scalars(
            select(rule_targets.c.target_id).where(rule_targets.c.rule_id == rule_id)
        )
        return list(rows.all())


def any_of(*conditions: Any) -> Any:
    return or_(*conditions)
