from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from storage.outbox_payload import NotificationPayload, NotificationStatus
from storage.queue_config import PostingSlots
from storage.rule_config import ContentConfig, QuietHours, ScheduleSpec
from storage.types import PydanticJSON


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend.

    SQLite keeps no offset, so values are stored as naive UTC and come back aware; bound
    parameters get the same treatment so that comparisons stay correct.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Platform(StrEnum):
    TELEGRAM = "telegram"
    X = "x"
    INSTAGRAM = "instagram"


class PostStatus(StrEnum):
    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting_approval"
    SCHEDULED = "scheduled"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    FAILED = "failed"
    CANCELLED = "cancelled"
    UNKNOWN = "unknown"
    MISSED = "missed"
    SKIPPED = "skipped"


class Outcome(StrEnum):
    PUBLISHED = "published"
    TRANSIENT = "transient"
    PERMANENT = "permanent"
    AMBIGUOUS = "ambiguous"
    DEFERRED = "deferred"


class TargetStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    BROKEN = "broken"


class Role(StrEnum):
    USER = "user"
    ADMIN = "admin"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    username: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str | None] = mapped_column(String(128))
    language: Mapped[str] = mapped_column(String(8), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    role: Mapped[str] = mapped_column(String(16), default=Role.USER)
    # "✅ Published" notices with the post's life buttons (migration 0011); muted from the
    # notice itself or in /settings.
    notify_published: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Target(Base):
    """A destination a user may publish to: a Telegram channel, an X or Instagram account."""

    __tablename__ = "targets"
    __table_args__ = (UniqueConstraint("owner_id", "platform", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(256))
    handle: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default=TargetStatus.ACTIVE)
    last_error: Mapped[str | None] = mapped_column(Text)
    # What went wrong, as a code the interface translates (platforms.errors.ErrorCode);
    # `last_error` keeps the English details. NULL on rows older than codes (migration 0003).
    error_code: Mapped[str | None] = mapped_column(String(32))
    hourly_cap: Mapped[int | None] = mapped_column(Integer)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Unlinked (migration 0004): the row stays so that its posts keep their history; every
    # lookup for the chat and the workers skips it, and linking it again clears this.
    deleted_at: Mapped[datetime | None]
    # The queue (migration 0009_queues): the local times queued posts go out at, in the
    # owner's zone, and whether the queue is paused (its queued posts are not claimed).
    posting_slots: Mapped[PostingSlots] = mapped_column(
        PydanticJSON(PostingSlots), default=PostingSlots
    )
    queue_paused: Mapped[bool] = mapped_column(Boolean, default=False)

    credential: Mapped[Credential | None] = relationship(
        back_populates="target", cascade="all, delete-orphan", uselist=False, lazy="raise"
    )


class Credential(Base):
    """Encrypted secrets of one target (X tokens, an Instagram session). Never plaintext."""

    __tablename__ = "credentials"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_id: Mapped[int] = mapped_column(
        ForeignKey("targets.id", ondelete="CASCADE"), unique=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    ciphertext: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    target: Mapped[Target] = relationship(back_populates="credential", lazy="raise")


class Content(Base):
    __tablename__ = "contents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str | None] = mapped_column(String(256))
    text: Mapped[str] = mapped_column(Text, default="")
    media: Mapped[list[Any]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(16), default="manual")
    prompt: Mapped[str | None] = mapped_column(Text)
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("auto_posting_rules.id", ondelete="SET NULL"), index=True
    )
    ai_model: Mapped[str | None] = mapped_column(String(128))
    prompt_tokens: Mapped[int] = mapped_column(Integer, default=0)
    completion_tokens: Mapped[int] = mapped_column(Integer, default=0)
    variants: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ScheduledPost(Base):
    """One publication of one content to one target."""

    __tablename__ = "scheduled_posts"
    __table_args__ = (
        Index("ix_scheduled_posts_status_due_at", "status", "due_at"),
        Index("ix_scheduled_posts_owner_status", "owner_id", "status"),
        Index("ix_scheduled_posts_target_published", "target_id", "published_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    content_id: Mapped[int] = mapped_column(ForeignKey("contents.id", ondelete="CASCADE"))
    # No cascade: targets are soft-deleted (Target.deleted_at), posts are history.
    target_id: Mapped[int] = mapped_column(ForeignKey("targets.id"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    scheduled_time: Mapped[datetime]
    # When the worker should next look at the row: the scheduled time, moved by backoff
    # and rate-limit deferrals without touching what the user asked for.
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(24), default=PostStatus.SCHEDULED)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(32))  # see Target.error_code
    external_id: Mapped[str | None] = mapped_column(String(128))
    external_url: Mapped[str | None] = mapped_column(String(512))
    rule_id: Mapped[int | None] = mapped_column(
        ForeignKey("auto_posting_rules.id", ondelete="SET NULL"), index=True
    )
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    # Write-ahead (issue 14): set, in a batched write, right before the request leaves. A
    # lease that runs out with this unset was never sent: the post goes back to `scheduled`.
    sending_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    # Its place in the target's queue (migration 0009_queues); NULL for a post given an
    # explicit time. A queued post's time is the slot the queue gave it (services/queues.py).
    queue_position: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    content: Mapped[Content] = relationship(lazy="raise")
    target: Mapped[Target] = relationship(lazy="raise")


class PublishAttempt(Base):
    __tablename__ = "publish_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(
        ForeignKey("scheduled_posts.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(32))
    worker_id: Mapped[str | None] = mapped_column(String(64))


rule_targets = Table(
    "rule_targets",
    Base.metadata,
    Column(
        "rule_id",
        ForeignKey("auto_posting_rules.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("target_id", ForeignKey("targets.id", ondelete="CASCADE"), primary_key=True),
)


class AutoPostingRule(Base):
    __tablename__ = "auto_posting_rules"
    __table_args__ = (
        Index("ix_auto_posting_rules_active_next", "is_active", "next_execution_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    schedule_type: Mapped[str] = mapped_column(String(16))
    # Typed JSON (storage/rule_config.py); `schedule_type` repeats the schedule's kind for
    # rows written before the kind was stored inside the config.
    schedule_config: Mapped[ScheduleSpec] = mapped_column(PydanticJSON(ScheduleSpec), default=dict)
    content_config: Mapped[ContentConfig] = mapped_column(
        PydanticJSON(ContentConfig), default=dict
    )
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    next_execution_at: Mapped[datetime | None]
    approval_required: Mapped[bool] = mapped_column(Boolean, default=False)
    approval_policy: Mapped[str] = mapped_column(String(16), default="skip")
    daily_cap: Mapped[int | None] = mapped_column(Integer)
    quiet_hours: Mapped[QuietHours] = mapped_column(PydanticJSON(QuietHours), default=dict)
    monthly_token_budget: Mapped[int | None] = mapped_column(Integer)
    executions_count: Mapped[int] = mapped_column(Integer, default=0)
    success_count: Mapped[int] = mapped_column(Integer, default=0)
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(32))  # see Target.error_code
    last_executed_at: Mapped[datetime | None]
    # A transient generation failure re-arms the rule for a retry of the same execution:
    # the scheduled moment being retried and how many retries it had (migration 0002_ai).
    retry_slot_at: Mapped[datetime | None]
    retry_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The scheduled moment of the execution a worker claimed and has not finished (migration
    # 0005_rule_runs): a crash between the claim and the save leaves it set, and the worker
    # re-arms that execution or tells the owner (workers/auto_posting.py, "Recovery").
    claimed_slot_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    targets: Mapped[list[Target]] = relationship(secondary=rule_targets, lazy="selectin")


class FsmRecord(Base):
    """aiogram FSM state and data, so that a dialog survives a restart."""

    __tablename__ = "fsm_records"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str | None] = mapped_column(String(255))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class RateLimitState(Base):
    """One window of the shared rate limiter on the database (services/ratelimit.py): its
    last stamps (epoch seconds, comma-separated, at most the window's limit) and the pause a
    429 set, both in epoch seconds. A row past `expires_at` is dropped by a sweep."""

    __tablename__ = "rate_limits"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    stamps: Mapped[str] = mapped_column(Text, default="")
    paused_until: Mapped[float] = mapped_column(Float, default=0.0)
    expires_at: Mapped[float] = mapped_column(Float, default=0.0, index=True)


class KeyValue(Base):
    """Small process-wide facts that must survive restarts (e.g. a lateness watermark)."""

    __tablename__ = "key_values"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PublishedMessages(Base):
    """A published post's messages on its platform (issue 12): every id (a Telegram album is
    several messages), and what was done to them since: removed, pinned. Written in the
    unit that marks the post published; posts published before it fall back to
    `ScheduledPost.external_id`."""

    __tablename__ = "published_messages"

    post_id: Mapped[int] = mapped_column(
        ForeignKey("scheduled_posts.id", ondelete="CASCADE"), primary_key=True
    )
    message_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    has_media: Mapped[bool] = mapped_column(Boolean, default=False)
    removed_at: Mapped[datetime | None]
    pinned_until: Mapped[datetime | None]
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class PostEvent(Base):
    """One thing done to a published post (edit, delete, pin, unpin, auto-delete set or
    run), by whom, and how it ended: the post's history after publishing."""

    __tablename__ = "post_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(
        ForeignKey("scheduled_posts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(24))
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(16))  # "owner" or "worker"
    outcome: Mapped[str] = mapped_column(String(16))  # ok, refused, failed, scheduled, ...
    error_code: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)


class PostAction(Base):
    """A timed action on a published post (auto-delete, the end of a timed pin), claimed
    with a lease like posts so that any number of processes run each exactly once."""

    __tablename__ = "post_actions"
    __table_args__ = (Index("ix_post_actions_status_due_at", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    post_id: Mapped[int] = mapped_column(
        ForeignKey("scheduled_posts.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # "delete" or "unpin"
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    error_code: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class OutboxNotification(Base):
    """One message to a person (an owner or an admin), waiting to be sent (issue 14).

    The workers enqueue in one short write and never touch the network; a drainer claims due
    rows with a lease (one conditional UPDATE, as posts are claimed), sends them through the
    shared rate limiter, and records the outcome. `dedupe_key` makes one event one row."""

    __tablename__ = "notification_outbox"
    __table_args__ = (
        Index("ix_notification_outbox_status_next", "status", "next_attempt_at"),
        Index("ix_notification_outbox_chat_status", "chat_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    chat_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[Any] = mapped_column(PydanticJSON(NotificationPayload))
    dedupe_key: Mapped[str] = mapped_column(String(160), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=NotificationStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class DraftSave(Base):
    """A new-post dialog's key (a uuid put in the draft), saved in the unit that saves its
    posts: the primary key makes a second Confirm, in any process, save nothing."""

    __tablename__ = "draft_saves"
    __table_args__ = (Index("ix_draft_saves_owner_message", "owner_id", "message_id"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    content_id: Mapped[int] = mapped_column(ForeignKey("contents.id", ondelete="CASCADE"))
    post_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # The confirmation message whose button saved it: a late press there says "saved".
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlbumPart(Base):
    """One photo of an album as it arrived (Telegram sends each as its own update, and with
    webhook replicas each may reach another process)."""

    __tablename__ = "album_parts"

    group_key: Mapped[str] = mapped_column(String(96), primary_key=True)
    message_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    file_id: Mapped[str | None] = mapped_column(String(256))
    caption: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class AlbumClaim(Base):
    """Whoever inserts this row assembles the album (once)."""

    __tablename__ = "album_claims"

    group_key: Mapped[str] = mapped_column(String(96), primary_key=True)
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class PendingLogin(Base):
    """A login waiting for the user's code (Instagram 2FA/challenge), so that any process
    may take the code. `state` is SecretBox ciphertext (device and session, never the
    password)."""

    __tablename__ = "pending_logins"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


__all__ = [
    "AlbumClaim",
    "AlbumPart",
    "AutoPostingRule",
    "Base",
    "Content",
    "Credential",
    "DraftSave",
    "FsmRecord",
    "KeyValue",
    "OutboxNotification",
    "Outcome",
    "PendingLogin",
    "Platform",
    "PostAction",
    "PostEvent",
    "PostStatus",
    "PublishAttempt",
    "PublishedMessages",
    "RateLimitState",
    "Role",
    "ScheduledPost",
    "Target",
    "TargetStatus",
    "User",
    "rule_targets",
    "utcnow",
]
