"""First router: an update whose handler failed still gets an answer."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

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


def build_errors_router() -> Router:
    router = Router(name="errors")
    router.errors.register(on_error)
    return router
