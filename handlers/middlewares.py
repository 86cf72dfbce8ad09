from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import CallbackQuery, Message, TelegramObject, Update, User
from aiogram.utils.i18n import gettext as _

from handlers.i18n import pick_language
from storage.db import SessionFactory
from storage.repositories import UserRepository

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class DbSessionMiddleware(BaseMiddleware):
    """One AsyncSession per update; committed when the handler returns normally."""

    def __init__(self, session_factory: SessionFactory) -> None:
        self.session_factory = session_factory

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.session_factory() as session:
            data["session"] = session
            result = await handler(event, data)
            await session.commit()
            return result


class UserMiddleware(BaseMiddleware):
    """Registers the user on first contact and hands handlers `db_user`."""

    def __init__(self, admin_ids: set[int], default_language: str, default_timezone: str) -> None:
        self.admin_ids = admin_ids
        self.default_language = default_language
        self.default_timezone = default_timezone

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: User | None = data.get("event_from_user")
        if tg_user is None or tg_user.is_bot:
            return await handler(event, data)
        session = data["session"]
        users = UserRepository(session)
        db_user = await users.get(tg_user.id)
        if db_user is None:
            db_user = await users.upsert(
                tg_user.id,
                username=tg_user.username,
                first_name=tg_user.first_name,
                language=pick_language(tg_user.language_code, self.default_language),
                timezone=self.default_timezone,
                is_admin=tg_user.id in self.admin_ids,
            )
            # A short write transaction of its own, before the handler talks to Telegram.
            await session.commit()
        data["db_user"] = db_user
        data["is_admin"] = tg_user.id in self.admin_ids
        return await handler(event, data)


class AccessMiddleware(BaseMiddleware):
    """ACCESS=allowlist: only ADMIN_IDS and ALLOWED_USER_IDS may use the bot."""

    def __init__(self, allowed: set[int] | None) -> None:
        self.allowed = allowed

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if self.allowed is None:
            return await handler(event, data)
        tg_user: User | None = data.get("event_from_user")
        if tg_user is not None and tg_user.id in self.allowed:
            return await handler(event, data)
        text = _("This bot is private. Ask its owner to add your Telegram id: {user_id}.").format(
            user_id=tg_user.id if tg_user else "?"
        )
        inner = event.event if isinstance(event, Update) else event
        if isinstance(inner, Message):
            await inner.answer(text)
        elif isinstance(inner, CallbackQuery):
            await inner.answer(text, show_alert=True)
        return None
