"""Outer middlewares, in the order they run for each update:

0. `PrivateChatsMiddleware`: the bot talks to people in private chats only; anything from
   groups and channels is ignored silently (no reply can leak into a public chat). The one
   exception is `my_chat_member`, the bot's own membership changing (added to a channel):
   its answer goes to the adder's private chat.
1. `ThrottleMiddleware`: a user who sends more than the bot can fairly serve is told once to
   slow down; the excess is dropped before it costs a database query.
2. `ConcurrencyMiddleware`: at most N updates are handled at once, so a crowd cannot starve
   the workers sharing the event loop (updates beyond N wait their turn, first come first
   served).
3. `AccessMiddleware`: ACCESS=allowlist refuses strangers before anything is stored of them.
4. `UserMiddleware`: registers the user on first contact and hands handlers `db_user` (read
   in its own short unit, so nothing of the update holds a database connection).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.enums import ChatType
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    Message,
    TelegramObject,
    Update,
    User,
)
from aiogram.utils.i18n import gettext as _

from handlers.i18n import pick_language
from services.users import UserService

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
log = logging.getLogger("handlers")


def _inner(event: TelegramObject) -> TelegramObject | None:
    return event.event if isinstance(event, Update) else event


def _is_private(event: TelegramObject | None) -> bool:
    """Answers go to private chats only: a refusal must never be posted into a channel or
    a group the bot happens to be in."""
    if isinstance(event, Message):
        return event.chat.type == ChatType.PRIVATE
    if isinstance(event, CallbackQuery):
        return event.message is None or event.message.chat.type == ChatType.PRIVATE
    return False


def _is_own_membership(event: TelegramObject) -> bool:
    return isinstance(event, Update) and event.my_chat_member is not None


class PrivateChatsMiddleware(BaseMiddleware):
    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        inner = _inner(event)
        if isinstance(inner, Message | CallbackQuery) and not _is_private(inner):
            return None
        if isinstance(inner, ChatMemberUpdated) and not _is_own_membership(event):
            # Only the bot's own membership (`my_chat_member`: added to a channel, whose
            # adder is then asked in private) is let through; others' (`chat_member`) never.
            return None
        return await handler(event, data)


@dataclass
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False
    # The album (media_group_id) this user's last counted message belonged to, and how many
    # more of its photos pass free (Telegram's albums hold at most 10).
    album: str | None = None
    album_left: int = 0


class ThrottleMiddleware(BaseMiddleware):
    """A token bucket per user: `burst` updates at once, then `rate` per second.

    The first update over the limit gets one short "slow down" answer; the rest are dropped
    silently until the bucket refills. Buckets of users gone quiet are forgotten (the table
    is bounded), so memory does not grow with the number of users."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_users: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = float(burst)
        self.max_users = max_users
        self.clock = clock
        self.dropped = 0
        self._buckets: OrderedDict[int, _Bucket] = OrderedDict()

    def _take(self, user_id: int, album: str | None = None) -> _Bucket | None:
        """None when the update may go on; else the user's (empty) bucket. An album's photos
        arrive as one message each, all at once: the album costs one token, not ten."""
        now = self.clock()
        bucket = self._buckets.pop(user_id, None)
        if bucket is None:
            bucket = _Bucket(tokens=self.burst, updated=now)
        else:
            bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate)
            bucket.updated = now
        self._buckets[user_id] = bucket  # most recently seen last
        while len(self._buckets) > self.max_users:
            self._buckets.popitem(last=False)
        if album is not None and bucket.album == album and bucket.album_left > 0:
            bucket.album_left -= 1
            return None
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.album, bucket.album_left = album, 9
            bucket.warned = False
            return None
        return bucket

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: User | None = data.get("event_from_user")
        if tg_user is None or self.rate <= 0:
            return await handler(event, data)
        inner = _inner(event)
        album = inner.media_group_id if isinstance(inner, Message) else None
        bucket = self._take(tg_user.id, album)
        if bucket is None:
            return await handler(event, data)
        self.dropped += 1
        if bucket.warned:
            return None
        bucket.warned = True
        log.info("throttled user %s (further updates dropped until they slow down)", tg_user.id)
        if not _is_private(inner):
            return None
        i18n = data.get("i18n")
        language = pick_language(tg_user.language_code, "en")
        text_en = "Slow down a little: I am still answering your previous messages."
        text = text_en
        if i18n is not None:
            with i18n.context(), i18n.use_locale(language):
                text = _(text_en)
        try:
            if isinstance(inner, CallbackQuery | Message):
                await inner.answer(text)
        except Exception as exc:  # a warning that could not be sent changes nothing
            log.info("could not send the slow-down notice: %s", type(exc).__name__)
        return None


class ConcurrencyMiddleware(BaseMiddleware):
    """At most `limit` updates in handlers at once (FIFO beyond that)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._slots = asyncio.Semaphore(limit) if limit > 0 else None

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if self._slots is None:
            return await handler(event, data)
        async with self._slots:
            return await handler(event, data)


class UserMiddleware(BaseMiddleware):
    """Registers the user on first contact and hands handlers `db_user` (a detached row:
    nothing of the update keeps a session open) and `user_language`, a plain string the
    error handler can use whatever happened to the database."""

    def __init__(
        self,
        users: UserService,
        admin_ids: set[int],
        default_language: str,
        default_timezone: str,
    ) -> None:
        self.users = users
        self.admin_ids = admin_ids
        self.default_language = default_language
        self.default_timezone = default_timezone

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: User | None = data.get("event_from_user")
        if tg_user is None or tg_user.is_bot:
            return await handler(event, data)
        data["user_language"] = pick_language(tg_user.language_code, self.default_language)
        db_user = await self.users.enter(
            tg_user.id,
            username=tg_user.username,
            first_name=tg_user.first_name,
            language=data["user_language"],
            timezone=self.default_timezone,
            is_admin=tg_user.id in self.admin_ids,
        )
        data["db_user"] = db_user
        data["user_language"] = db_user.language
        data["is_admin"] = tg_user.id in self.admin_ids
        return await handler(event, data)


class AccessMiddleware(BaseMiddleware):
    """ACCESS=allowlist: only ADMIN_IDS and ALLOWED_USER_IDS may use the bot. Runs before
    the user is stored, and answers refusals in private chats only."""

    def __init__(self, allowed: set[int] | None) -> None:
        self.allowed = allowed

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if self.allowed is None:
            return await handler(event, data)
        tg_user: User | None = data.get("event_from_user")
        if tg_user is not None and tg_user.id in self.allowed:
            return await handler(event, data)
        inner = _inner(event)
        if tg_user is None or not _is_private(inner):
            return None
        i18n = data.get("i18n")
        template = "This bot is private. Ask its owner to add your Telegram id: {user_id}."
        text = template
        if i18n is not None:
            with i18n.context(), i18n.use_locale(pick_language(tg_user.language_code, "en")):
                text = _(template)
        text = text.format(user_id=tg_user.id)
        if isinstance(inner, Message):
            await inner.answer(text)
        elif isinstance(inner, CallbackQuery):
            await inner.answer(text, show_alert=True)
        return None
