"""The people who use the bot: registration on first contact, language and time zone."""

from __future__ import annotations

from collections.abc import Sequence

from storage.models import Role, User
from storage.repositories import UserRepository
from storage.uow import Database


class UserService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def enter(
        self,
        user_id: int,
        *,
        username: str | None,
        first_name: str | None,
        language: str,
        timezone: str,
        is_admin: bool,
    ) -> User:
        """The user as stored, registered on first contact. A returning user costs one read;
        the write unit runs only for a newcomer or a changed name or role. `language` and
        `timezone` are defaults for a newcomer and never overwrite what the user chose."""
        async with self.db.read() as session:
            user = await UserRepository(session).get(user_id)
        role = Role.ADMIN if is_admin else Role.USER
        if user is not None and (user.username, user.first_name, user.role) == (
            username,
            first_name,
            role,
        ):
            return user
        async with self.db.write() as session:
            return await UserRepository(session).upsert(
                user_id,
                username=username,
                first_name=first_name,
                language=language,
                timezone=timezone,
                is_admin=is_admin,
            )

    async def get(self, user_id: int) -> User | None:
        async with self.db.read() as session:
            return await UserRepository(session).get(user_id)

    async def set_language(self, user_id: int, language: str) -> None:
        async with self.db.write() as session:
            await UserRepository(session).set_language(user_id, language)

    async def set_timezone(self, user_id: int, timezone: str) -> None:
        async with self.db.write() as session:
            await UserRepository(session).set_timezone(user_id, timezone)

    async def set_notify_published(self, user_id: int, enabled: bool) -> None:
        async with self.db.write() as session:
            await UserRepository(session).set_notify_published(user_id, enabled)

    async def recent(self, limit: int = 50) -> Sequence[User]:
        async with self.db.read() as session:
            return await UserRepository(session).list_recent(limit)

    async def count(self) -> int:
        async with self.db.read() as session:
            return await UserRepository(session).count()
