"""The linking dialogs (a Telegram channel, X, Instagram) and the handlers that start them."""

from __future__ import annotations

from typing import Any

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram_dialog import Dialog
from aiogram_dialog.api.entities import Context
from aiogram_dialog.api.internal import CONTEXT_KEY

from handlers.accounts import channel, entry, instagram, x
from handlers.accounts.callbacks import AccountCb
from handlers.accounts.states import LinkInstagram
from handlers.dialogs import is_dialog_button


def takes_message(message: Message, **data: Any) -> bool:
    """Commands are not answers: a command sent in the middle of linking (/link_instagram
    while X waits for its PIN, /rules, /help) goes to its own handler instead of being read
    as a PIN, a username or a code. The password step takes anything: a password may start
    with "/"."""
    if not (message.text or "").startswith("/"):
        return True
    context: Context | None = data.get(CONTEXT_KEY)
    return context is not None and context.state == LinkInstagram.password


def build_router() -> Router:
    router = Router(name="accounts")
    router.message.register(entry.cmd_link, Command("link"))
    router.message.register(entry.cmd_link_x, Command("link_x"))
    router.message.register(entry.cmd_link_instagram, Command("link_instagram"))
    router.callback_query.register(entry.on_link_pressed, AccountCb.filter(F.action == "link"))
    dialogs: list[Dialog] = [channel.build_dialog(), x.build_dialog(), instagram.build_dialog()]
    for dialog in dialogs:
        # Only its own windows' buttons: another feature's stale or forged button must still
        # reach the fallback (see handlers.dialogs.keep_to_its_own; messages differ here).
        dialog.callback_query.filter(is_dialog_button)
        dialog.message.filter(takes_message)
        router.include_router(dialog)
    return router
