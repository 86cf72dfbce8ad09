from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.callbacks import MenuCb
from handlers.charts.callbacks import CalendarCb


def week_keyboard(offset: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("◀️ Previous week"), callback_data=CalendarCb(action="week", offset=offset - 1)
    )
    kb.button(text=_("Next week ▶️"), callback_data=CalendarCb(action="week", offset=offset + 1))
    sizes = [2]
    if offset != 0:
        kb.button(text=_("📆 This week"), callback_data=CalendarCb(action="week", offset=0))
        sizes.append(1)
    kb.button(text=_("📊 Stats"), callback_data=CalendarCb(action="stats"))
    kb.button(text=_("⬅️ Menu"), callback_data=MenuCb(action="home"))
    sizes.append(2)
    kb.adjust(*sizes)
    return kb.as_markup()


def stats_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📆 This week"), callback_data=CalendarCb(action="week", offset=0))
    kb.button(text=_("⬅️ Menu"), callback_data=MenuCb(action="home"))
    kb.adjust(2)
    return kb.as_markup()
