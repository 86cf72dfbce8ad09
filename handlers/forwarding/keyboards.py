from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.forwarding.callbacks import ForwardCb
from handlers.keyboards import nav_row


def offer_keyboard(chat_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("🔗 Link this channel"), callback_data=ForwardCb(action="link", chat_id=chat_id)
    )
    kb.button(
        text=_("📝 Just make a draft"), callback_data=ForwardCb(action="draft", chat_id=chat_id)
    )
    nav_row(kb)
    kb.adjust(1, 1, 2)
    return kb.as_markup()


def bot_added_keyboard(chat_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("🔗 Link"), callback_data=ForwardCb(action="added", chat_id=chat_id))
    kb.button(text=_("Not now"), callback_data=ForwardCb(action="dismiss", chat_id=chat_id))
    kb.adjust(2)
    return kb.as_markup()
