from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.callbacks import MenuCb
from handlers.i18n import LANGUAGES
from handlers.keyboards import nav_row
from handlers.settings.callbacks import SettingsCb
from handlers.settings.texts import LANGUAGE_NAMES

QUICK_ZONES = ("Europe/Moscow", "Europe/Berlin", "Europe/London", "America/New_York", "UTC")


def settings_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for code in LANGUAGES:
        kb.button(text=LANGUAGE_NAMES[code], callback_data=SettingsCb(action="lang", value=code))
    kb.button(text=_("🕑 Time zone"), callback_data=SettingsCb(action="tz"))
    kb.button(text=_("🏠 Menu"), callback_data=MenuCb(action="home"))
    kb.adjust(len(LANGUAGES), 1, 1)
    return kb.as_markup()


def timezone_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for zone in QUICK_ZONES:
        kb.button(text=zone, callback_data=SettingsCb(action="tz_set", value=zone))
    nav_row(kb)
    kb.adjust(2, 2, 1, 2)
    return kb.as_markup()
