from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from handlers.i18n import LANGUAGES, pick_language
from storage.models import User

router = Router(name="errors")
log = logging.getLogger("handlers")


@router.errors()
async def on_error(event: ErrorEvent, i18n: I18n, db_user: User | None = None) -> bool:
    """The user gets a short apology; the dialog's state is left where it was."""
    log.error(
        "Update %s failed: %s",
        event.update.update_id,
        type(event.exception).__name__,
        exc_info=event.exception,
    )
    # The error middleware sits outside the i18n middleware: set the language here.
    user = event.update.event.from_user if hasattr(event.update.event, "from_user") else None
    language = pick_language(user.language_code if user else None, i18n.default_locale)
    if db_user is not None and db_user.language in LANGUAGES:
        language = db_user.language  # the language chosen in ⚙️ Settings wins
    with i18n.context(), i18n.use_locale(language):
        text = _("Sorry, something went wrong on my side. Please try that again.")
    try:
        if event.update.callback_query is not None:
            await event.update.callback_query.answer(text, show_alert=True)
        elif event.update.message is not None:
            await event.update.message.answer(text)
    except Exception:
        log.exception("could not apologise for update %s", event.update.update_id)
    return True
