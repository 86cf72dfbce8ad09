"""Albums that arrive in pieces: Telegram sends each photo of an album as its own update,
and behind one webhook URL each may reach a different process (issue 14).

Every part is stored in the database as it arrives. Each part then waits for a quiet moment;
the part after which nothing more arrived claims the album (a unique row: exactly one claim
wins, in whichever process) and assembles it. Parts stored before a restart still count."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from services.clock import Clock
from storage.models import AlbumPart
from storage.replicas import AlbumPartRepository
from storage.uow import Database

# Parts and claims older than this are dropped (an album arrives within seconds).
KEEP = timedelta(hours=1)


@dataclass(frozen=True)
class AlbumPiece:
    """One photo message of an album, as much as the dialog needs of it."""

    message_id: int
    file_id: str | None
    caption: str | None  # the caption as HTML, when the message has one


class DatabaseAlbumStore:
    """Parts in `album_parts`, the claim a row of `album_claims` (one INSERT wins)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def add(self, key: str, piece: AlbumPiece) -> int | None:
        async with self.db.write() as session:
            inserted = await AlbumPartRepository(session).add(
                AlbumPart(
                    group_key=key,
                    message_id=piece.message_id,
                    file_id=piece.file_id,
                    caption=piece.caption,
                    created_at=self.clock.now(),
                )
            )
        if not inserted:
            return None
        # Counted after the commit, not in the inserting unit: two parts inserted at once
        # (two processes) would each see only itself and the committed ones, and neither
        # would ever find the album quiet at its own count. After the commits, the later
        # reader sees every part.
        return await self.count(key)

    async def count(self, key: str) -> int:
        async with self.db.read() as session:
            return await AlbumPartRepository(session).count(key)

    async def claim(self, key: str) -> list[AlbumPiece] | None:
        now = self.clock.now()
        async with self.db.write() as session:
            repo = AlbumPartRepository(session)
            parts = await repo.claim(key, now)
            await repo.purge(now - KEEP)
        if parts is None:
            return None
        return [AlbumPiece(p.message_id, p.file_id, p.caption) for p in parts]

    async def close(self) -> None:
        return None


class RedisAlbumStore:
    """With REDIS_URL: the parts in a hash per album (HSETNX: a part delivered twice counts
    once), the claim a SET NX; everything expires after `KEEP`."""

    def __init__(self, url: str, prefix: str = "cc:album:") -> None:
        from redis.asyncio import Redis

        self.redis = Redis.from_url(url)
        self.prefix = prefix
        self.ttl = int(KEEP.total_seconds())

    async def add(self, key: str, piece: AlbumPiece) -> int | None:
        parts = f"{self.prefix}{key}:parts"
        value = json.dumps([piece.message_id, piece.file_id, piece.caption])
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(parts, str(piece.message_id), value)
            pipe.hlen(parts)
            pipe.expire(parts, self.ttl)
            added, count, _ = await pipe.execute()
        return int(count) if added else None

    async def count(self, key: str) -> int:
        return int(await self.redis.hlen(f"{self.prefix}{key}:parts"))

    async def claim(self, key: str) -> list[AlbumPiece] | None:
        if not await self.redis.set(f"{self.prefix}{key}:claim", "1", nx=True, ex=self.ttl):
            return None
        parts = f"{self.prefix}{key}:parts"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(parts)
            pipe.delete(parts)
            stored, _ = await pipe.execute()
        pieces = [AlbumPiece(*json.loads(v)) for v in stored.values()]
        return sorted(pieces, key=lambda p: p.message_id)

    async def close(self) -> None:
        await self.redis.aclose()


class AlbumStore(Protocol):
    async def add(self, key: str, piece: AlbumPiece) -> int | None: ...
    async def count(self, key: str) -> int: ...
    async def claim(self, key: str) -> list[AlbumPiece] | None: ...
    async def close(self) -> None: ...


class AlbumService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        *,
        store: AlbumStore | None = None,
    ) -> None:
        self.store: AlbumStore = store or DatabaseAlbumStore(db, clock)
        self.sleep = sleep

    def use_redis(self, url: str, prefix: str = "cc:album:") -> None:
        """REDIS_URL is set: the parts live in Redis (no database write per photo)."""
        self.store = RedisAlbumStore(url, prefix)

    async def collect(
        self, chat_id: int, media_group_id: str, piece: AlbumPiece, wait: float
    ) -> list[AlbumPiece] | None:
        """The whole album (in message order) for the part that completes it; None for the
        others. `wait`: how long a quiet moment must last before the album counts as
        complete."""
        key = f"{chat_id}:{media_group_id}"[:96]
        seen = await self.store.add(key, piece)
        if seen is None:
            return None  # the same update delivered twice: the first delivery counts
        await self.sleep(wait)
        if await self.store.count(key) != seen:
            # A later part arrived (it waits for its own quiet moment and assembles), or the
            # album was assembled already.
            return None
        return await self.store.claim(key)

    async def close(self) -> None:
        await self.store.close()
