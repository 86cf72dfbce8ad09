"""What webhook replicas share through the database (issue 14): the keys of saved drafts,
album parts waiting to be assembled, and logins waiting for a code. Any process may serve
any update, so none of this may live in one process's memory."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import AlbumClaim, AlbumPart, DraftSave, PendingLogin, utcnow


class DraftSaveRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, key: str) -> DraftSave | None:
        return await self.session.get(DraftSave, key)

    async def for_message(self, owner_id: int, message_id: int) -> DraftSave | None:
        return await self.session.scalar(
            select(DraftSave)
            .where(DraftSave.owner_id == owner_id, DraftSave.message_id == message_id)
            .order_by(DraftSave.created_at.desc())
            .limit(1)
        )

    async def add(
        self,
        key: str,
        owner_id: int,
        content_id: int,
        post_ids: Sequence[int],
        message_id: int | None,
    ) -> None:
        """Raises IntegrityError (at this flush) when the key was saved already, in this
        process or another: the caller's unit then rolls back and saves nothing."""
        self.session.add(
            DraftSave(
                key=key,
                owner_id=owner_id,
                content_id=content_id,
                post_ids=list(post_ids),
                message_id=message_id,
            )
        )
        await self.session.flush()

    async def purge(self, owner_id: int, before: datetime) -> None:
        """Keys are needed only while a second press can still arrive."""
        await self.session.execute(
            delete(DraftSave).where(DraftSave.owner_id == owner_id, DraftSave.created_at < before)
        )


@dataclass(frozen=True)
class StoredPart:
    message_id: int
    file_id: str | None
    caption: str | None


class AlbumPartRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, part: AlbumPart) -> bool:
        """Stores one part; False when this very part was stored already (Telegram
        delivered the update twice)."""
        return await self._insert_new(
            AlbumPart,
            group_key=part.group_key,
            message_id=part.message_id,
            file_id=part.file_id,
            caption=part.caption,
            created_at=part.created_at or utcnow(),
        )

    async def _insert_new(self, model: Any, **values: Any) -> bool:
        """INSERT ... ON CONFLICT DO NOTHING: True when this statement inserted the row.
        Never an error, so the unit goes on (PostgreSQL aborts a unit after one)."""
        if self.session.bind is not None and self.session.bind.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert  # type: ignore[assignment]
        result = await self.session.execute(
            insert(model).values(**values).on_conflict_do_nothing().returning(literal(1))
        )
        return result.first() is not None

    async def count(self, group_key: str) -> int:
        return int(
            await self.session.scalar(
                select(func.count()).select_from(AlbumPart).where(AlbumPart.group_key == group_key)
            )
            or 0
        )

    async def claim(self, group_key: str, now: datetime) -> list[StoredPart] | None:
        """The album's parts for whoever inserts the claim first; None for the others. The
        claim row stays a while so that a straggler does not start the album again."""
        if not await self._insert_new(AlbumClaim, group_key=group_key, claimed_at=now):
            return None
        rows = (
            await self.session.scalars(
                select(AlbumPart)
                .where(AlbumPart.group_key == group_key)
                .order_by(AlbumPart.message_id)
            )
        ).all()
        parts = [StoredPart(r.message_id, r.file_id, r.caption) for r in rows]
        await self.session.execute(delete(AlbumPart).where(AlbumPart.group_key == group_key))
        return parts

    async def purge(self, before: datetime) -> None:
        await self.session.execute(delete(AlbumClaim).where(AlbumClaim.claimed_at < before))
        await self.session.execute(delete(AlbumPart).where(AlbumPart.created_at < before))


class PendingLoginRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def put(
        self, key: str, owner_id: int, platform: str, state: str, expires_at: datetime
    ) -> None:
        row = await self.session.get(PendingLogin, key)
        if row is None:
            self.session.add(
                PendingLogin(
                    key=key,
                    owner_id=owner_id,
                    platform=platform,
                    state=state,
                    expires_at=expires_at,
                )
            )
        else:
            row.owner_id, row.platform, row.state, row.expires_at = (
                owner_id,
                platform,
                state,
                expires_at,
            )
        await self.session.flush()

    async def get(self, key: str, now: datetime) -> PendingLogin | None:
        row = await self.session.get(PendingLogin, key)
        if row is None or row.expires_at <= now:
            return None
        return row

    async def replace(self, key: str, old: str, new: str, expires_at: datetime) -> bool:
        """Compare-and-set: only when the state is still `old` (nobody wrote meanwhile)."""
        result = await self.session.execute(
            update(PendingLogin)
            .where(PendingLogin.key == key, PendingLogin.state == old)
            .values(state=new, expires_at=expires_at, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def touch(self, key: str, expires_at: datetime) -> None:
        await self.session.execute(
            update(PendingLogin)
            .where(PendingLogin.key == key)
            .values(expires_at=expires_at)
            .execution_options(synchronize_session=False)
        )

    async def take(self, key: str, now: datetime) -> str | None:
        """The pending state, removed in the same unit: of two processes answering the same
        code, one gets it."""
        result = await self.session.execute(
            delete(PendingLogin)
            .where(PendingLogin.key == key, PendingLogin.expires_at > now)
            .returning(PendingLogin.state)
        )
        row: Any = result.first()
        return None if row is None else str(row[0])

    async def drop(self, key: str) -> None:
        await self.session.execute(delete(PendingLogin).where(PendingLogin.key == key))
