from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.callbacks import MenuCb, NavCb
from handlers.miniapp import add_calendar_button


def main_menu() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✍️ New post"), callback_data=MenuCb(action="new"))
    kb.button(text=_("🗓 Scheduled"), callback_data=MenuCb(action="scheduled"))
    kb.button(text=_("📆 This week"), callback_data=MenuCb(action="calendar"))
    kb.button(text=_("🤖 Auto-posting rules"), callback_data=MenuCb(action="rules"))
    kb.button(text=_("📣 Targets"), callback_data=MenuCb(action="targets"))
    kb.button(text=_("⚙️ Settings"), callback_data=MenuCb(action="settings"))
    kb.button(text=_("❔ Help"), callback_data=MenuCb(action="help"))
    add_calendar_button(kb)  # the Mini App, when MINIAPP_URL is set
    kb.adjust(2)
    return kb.as_markup()


def nav_row(kb: InlineKeyboardBuilder, back: bool = True) -> None:
    if back:
        kb.button(text=_("⬅️ Back"), callback_data=NavCb(action="back"))
    kb.button(text=_("✖️ Cancel"), callback_data=NavCb(action="cancel"))


def cancel_only() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    nav_row(kb, back=False)
    return kb.as_markup()


def back_cancel() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    nav_row(kb)
    kb.adjust(2)
    return kb.as_markup()
