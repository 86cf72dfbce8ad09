"""Albums arrive as several messages; quick double presses arrive as several updates."""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import AsyncIterator

from aiogram.types import Message


class AlbumCollector:
    """Telegram sends an album as separate messages sharing a media_group_id. The first
    one waits briefly for its siblings and handles the whole group; the others stop.

    One per app (built by `build_router`): two apps in one process never share groups."""

    def __init__(self) -> None:
        self._groups: dict[str, list[Message]] = {}

    async def collect(self, message: Message, wait: float) -> list[Message] | None:
        """The whole album for its first message, None for the others; `wait`: how long
        a quiet moment must last before the album counts as complete."""
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
