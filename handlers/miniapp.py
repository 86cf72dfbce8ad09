"""The Mini App's button in the main menu (issue 13), when MINIAPP_URL is set.

`main_menu()` is built in many handlers without arguments; the URL reaches it through a
context variable that this middleware sets for each update (none outside an update)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, WebAppInfo
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

MINIAPP_URL: ContextVar[str | None] = ContextVar("miniapp_url", default=None)


class MiniAppMiddleware(BaseMiddleware):
    def __init__(self, url: str) -> None:
        self.url = url

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        token = MINIAPP_URL.set(self.url)
        try:
            return await handler(event, data)
        finally:
            MINIAPP_URL.reset(token)


def add_calendar_button(kb: InlineKeyboardBuilder) -> None:
    """Opens the calendar inside Telegram (a web_app button: private chats only, HTTPS)."""
    url = MINIAPP_URL.get()
    if url:
        kb.button(text=_("📅 Calendar"), web_app=WebAppInfo(url=url))
