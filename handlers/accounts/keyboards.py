from __future__ import annotations

from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.accounts.callbacks import AccountCb


def link_buttons(kb: InlineKeyboardBuilder) -> None:
    """The entry points of the three linking dialogs, one button each. Pressed in the new
    post's target picker, linking returns there afterwards."""
    kb.button(
        text=_("➕ Link a channel"),
        callback_data=AccountCb(action="link", platform="telegram"),
    )
    kb.button(
        text=_("➕ Link X account"),
        callback_data=AccountCb(action="link", platform="x"),
    )
    kb.button(
        text=_("➕ Link Instagram account"),
        callback_data=AccountCb(action="link", platform="instagram"),
    )
