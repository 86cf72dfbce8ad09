"""What the bot's administrators read with /stats, /failed and /users: one read unit each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from storage.models import ScheduledPost, User
from storage.repositories import PostRepository, UserRepository
from storage.uow import Database

# (status, platform, count)
StatusCounts = Sequence[tuple[str, str, int]]


@dataclass(frozen=True)
class PostStats:
    last_day: StatusCounts
    last_week: StatusCounts
    users: int


@dataclass(frozen=True)
class UserListing:
    total: int
    newest: Sequence[User]


class AdminStatsService:
    """Read-only figures across all users. The handlers check ADMIN_IDS before calling."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def post_stats(self, now: datetime) -> PostStats:
        async with self.db.read() as session:
            posts = PostRepository(session)
            return PostStats(
                last_day=await posts.counts_by_status_platform(now - timedelta(hours=24)),
                last_week=await posts.counts_by_status_platform(now - timedelta(days=7)),
                users=await UserRepository(session).count(),
            )

    async def recent_failures(self, limit: int = 20) -> Sequence[ScheduledPost]:
        """Failed and unknown publications, newest first (detached rows, columns only)."""
        async with self.db.read() as session:
            return await PostRepository(session).recent_failures(limit=limit)

    async def users(self, limit: int = 30) -> UserListing:
        async with self.db.read() as session:
            users = UserRepository(session)
            return UserListing(total=await users.count(), newest=await users.list_recent(limit))
