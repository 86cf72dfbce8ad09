"""The typed services container: everything a handler may depend on, built once per app.

Handlers take `services: Services` as a parameter and call use cases on it; they never see a
database session. Tests build one with `Services.build(...)` around their own fakes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from content.generator import ContentGenerator
from platforms.credentials import SecretBox
from services.accounts import AccountLinkers, AccountService
from services.admin import AdminStatsService
from services.albums import AlbumService
from services.clock import Clock
from services.notify import Waker
from services.post_life import PostLifeService
from services.posts import PostService
from services.queues import QueueService
from services.quota import AiQuota
from services.rules import ApprovalService, RuleBounds, RuleService
from services.stats import StatsService
from services.targets import TargetService
from services.users import UserService
from storage.uow import Database


@dataclass(frozen=True)
class ChatLimits:
    """The operator's settings the chat checks against (the same ones the workers use)."""

    instagram_hashtag_limit: int = 30
    admin_ids: frozenset[int] = frozenset()
    # How long the new-post dialog waits for the rest of an album (Telegram sends each photo
    # as its own message); tests shorten it.
    album_wait_seconds: float = 0.6
    # Issue 11's bounds: rules (interval, count, daily cap) and the daily AI requests per user
    # (0 = unlimited); `limits_exempt` are held to neither (the admins, unless configured).
    rule_bounds: RuleBounds = field(default_factory=RuleBounds)
    ai_daily_quota_per_user: int = 30
    limits_exempt: frozenset[int] = frozenset()


@dataclass
class Services:
    db: Database
    clock: Clock
    waker: Waker
    generator: ContentGenerator
    secrets: SecretBox
    limits: ChatLimits
    users: UserService
    targets: TargetService
    posts: PostService
    rules: RuleService
    approvals: ApprovalService
    ai_quota: AiQuota
    accounts: AccountService
    linkers: AccountLinkers
    admin: AdminStatsService
    # The figures behind /calendar and /stats pictures (issue 13).
    stats: StatsService
    queues: QueueService
    # The channel checks (TelegramChannelVerifier): bound to the Bot, so built by bot/.
    channel_verifier: Any = None
    worker_stats: Callable[[], list[Any]] = field(default=lambda: [])
    # Album parts shared by every process (issue 14: webhook replicas); None: per process.
    albums: AlbumService | None = None
    # Editing, deleting, pinning published posts (issue 12, services/post_life.py): it
    # needs the publishers, which are bound to the Bot, so bot/ sets it.
    post_life: PostLifeService | None = None

    @classmethod
    def build(
        cls,
        db: Database,
        *,
        clock: Clock,
        waker: Waker,
        generator: ContentGenerator,
        secrets: SecretBox,
        linkers: AccountLinkers,
        limits: ChatLimits | None = None,
        channel_verifier: Any = None,
        worker_stats: Callable[[], list[Any]] | None = None,
    ) -> Services:
        limits = limits or ChatLimits()
        ai_quota = AiQuota(
            db,
            clock,
            per_user=limits.ai_daily_quota_per_user,
            admin_ids=limits.limits_exempt,
        )
        bounds = replace(limits.rule_bounds, exempt=limits.limits_exempt)
        posts = PostService(db, clock, waker, hashtag_limit=limits.instagram_hashtag_limit)
        return cls(
            db=db,
            clock=clock,
            waker=waker,
            generator=generator,
            secrets=secrets,
            limits=limits,
            users=UserService(db),
            targets=TargetService(db, clock),
            posts=posts,
            rules=RuleService(db, clock, waker, bounds=bounds, quota=ai_quota),
            approvals=ApprovalService(db, clock, waker, quota=ai_quota),
            ai_quota=ai_quota,
            accounts=AccountService(db, secrets),
            linkers=linkers,
            admin=AdminStatsService(db),
            stats=StatsService(db, clock),
            queues=QueueService(db, clock, posts, waker),
            channel_verifier=channel_verifier,
            worker_stats=worker_stats or (lambda: []),
            albums=AlbumService(db, clock),
        )
