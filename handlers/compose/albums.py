"""Albums arrive as several messages; quick double presses arrive as several updates."""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator

from aiogram.types import Message

from handlers.compose.media import piece_file_id
from handlers.render import message_html
from services.albums import AlbumPiece, AlbumService


def album_piece(message: Message) -> AlbumPiece:
    return AlbumPiece(
        message_id=message.message_id,
        # A photo's file id, or a video's/file's with its kind (handlers/compose/media.py).
        file_id=piece_file_id(message),
        caption=message_html(message) if message.caption else None,
    )


class AlbumCollector:
    """Telegram sends an album as separate messages sharing a media_group_id.

    With `shared` (services.albums, the database) the parts may land in different
    processes (webhook replicas): the part after which the album stays quiet assembles it.
    Without it, in this process: the first one waits briefly for its siblings and handles
    the whole group; the others stop. One per app (built by `build_router`)."""

    def __init__(self) -> None:
        self._groups: dict[str, list[Message]] = {}

    async def collect_pieces(
        self, message: Message, wait: float, shared: AlbumService | None = None
    ) -> list[AlbumPiece] | None:
        """The whole album for the message that completes it, None for the others; `wait`:
        how long a quiet moment must last before the album counts as complete."""
        if not message.media_group_id:
            return [album_piece(message)]
        if shared is not None:
            return await shared.collect(
                message.chat.id, message.media_group_id, album_piece(message), wait
            )
        group = await self.collect(message, wait)
        return None if group is None else [album_piece(m) for m in group]

    async def collect(self, message: Message, wait: float) -> list[Message] | None:
        """In this process only: the whole album for its first message, None for the
        others."""
        if not message.media_group_id:
            return [message]
        key = f"{message.chat.id}:{message.media_group_id}"
        group = self._groups.get(key)
        if group is not None:
            group.append(message)
            return None
        self._groups[key] = group = [message]
        # Wait until the album stops growing: siblings that queue behind a slow database
        # must still join their album, not start a second one.
        seen = 0
        for _round in range(20):
            if len(group) == seen:
                break
            seen = len(group)
            await asyncio.sleep(wait)
        return sorted(self._groups.pop(key), key=lambda m: m.message_id)


class UserLocks:
    """One lock per user, dropped when nobody holds or waits for it. Two quick presses of
    Confirm arrive as two updates handled at the same time: the second must find the dialog
    finished by the first, not save the post a second time. One per app."""

    def __init__(self, remembered: int = 10_000) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}
        # The confirmation message each user saved last, so that a late second press says
        # "Already saved." instead of "no longer active" (bounded: oldest users forgotten).
        self._saved: OrderedDict[int, int] = OrderedDict()
        self._remembered = remembered

    def remember_saved(self, user_id: int, message_id: int) -> None:
        self._saved.pop(user_id, None)
        self._saved[user_id] = message_id
        while len(self._saved) > self._remembered:
            self._saved.popitem(last=False)

    def saved(self, user_id: int) -> int | None:
        return self._saved.get(user_id)

    @contextlib.asynccontextmanager
    async def hold(self, user_id: int) -> AsyncIterator[None]:
        lock, users = self._locks.get(user_id, (asyncio.Lock(), 0))
        self._locks[user_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[user_id]
            if users <= 1:
                del self._locks[user_id]
            else:
                self._locks[user_id] = (lock, users - 1)
