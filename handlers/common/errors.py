"""First router: an update whose handler failed still gets an answer."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import ExceptionTypeFilter
from aiogram.fsm.storage.base import BaseStorage, StorageKey
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram_dialog.api.exceptions import OutdatedIntent, UnknownIntent, UnknownState

from handlers.i18n import LANGUAGES, pick_language

log = logging.getLogger("handlers")


async def on_error(event: ErrorEvent, i18n: I18n, user_language: str | None = None) -> bool:
    """The user always gets a short apology in their language; the dialog's state is left
    where it was. Only plain values are read here (`user_language` is a string the user
    middleware set): no ORM object of a failed transaction is touched."""
    log.error(
        "Update %s failed: %s",
        event.update.update_id,
        type(event.exception).__name__,
        exc_info=event.exception,
    )
    # The error middleware sits outside the i18n middleware: set the language here.
    inner = event.update.event
    user = getattr(inner, "from_user", None)
    language = pick_language(getattr(user, "language_code", None), i18n.default_locale)
    if user_language in LANGUAGES:
        language = str(user_language)  # the language chosen in ⚙️ Settings wins
    with i18n.context(), i18n.use_locale(language):
        text = _("Sorry, something went wrong on my side. Please try that again.")
    try:
        if event.update.callback_query is not None:
            await event.update.callback_query.answer(text, show_alert=True)
        elif event.update.message is not None and event.update.message.chat.type == "private":
            await event.update.message.answer(text)
    except Exception:
        log.exception("could not apologise for update %s", event.update.update_id)
    return True


async def forget_broken_dialogs(event: ErrorEvent, storage: BaseStorage | None) -> None:
    """A message found the open dialog's record missing or of a state no dialog has (say,
    renamed in a deploy): the stack is dropped, or every later message would fail the same."""
    message = event.update.message
    if storage is None or message is None or message.reply_to_message is not None:
        return  # a stale button or a reply to an old window: the open dialog is fine
    if message.from_user is None or message.chat.id != message.from_user.id or message.bot is None:
        return  # private chats only: their stack is the chat's default one
    key = StorageKey(
        bot_id=message.bot.id, chat_id=message.chat.id, user_id=message.chat.id,
        destiny="aiogd:stack:",
    )  # fmt: skip
    await storage.set_data(key, {})


async def on_stale_dialog(
    event: ErrorEvent,
    i18n: I18n,
    user_language: str | None = None,
    fsm_storage: BaseStorage | None = None,
) -> bool:
    """A button (or a reply) of a dialog window that is no longer open: the dialog was
    closed, restarted or replaced since. Not a failure of ours: say so, log nothing loud."""
    log.info(
        "Update %s: stale dialog (%s)", event.update.update_id, type(event.exception).__name__
    )
    await forget_broken_dialogs(event, fsm_storage)
    inner = event.update.event
    user = getattr(inner, "from_user", None)
    language = pick_language(getattr(user, "language_code", None), i18n.default_locale)
    if user_language in LANGUAGES:
        language = str(user_language)
    with i18n.context(), i18n.use_locale(language):
        stale = _("This button is no longer active. Open /menu.")
        not_understood = _("I did not understand that. Choose an action or send /help.")
    try:
        if event.update.callback_query is not None:
            await event.update.callback_query.answer(stale, show_alert=True)
        elif event.update.message is not None and event.update.message.chat.type == "private":
            await event.update.message.answer(not_understood)
    except Exception:
        log.exception("could not answer the stale update %s", event.update.update_id)
    return True


def build_errors_router() -> Router:
    router = Router(name="errors")
    # aiogram_dialog raises these before any handler runs, for a window that is gone.
    router.errors.register(
        on_stale_dialog, ExceptionTypeFilter(UnknownIntent, OutdatedIntent, UnknownState)
    )
    router.errors.register(on_error)
    return router
