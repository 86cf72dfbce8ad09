from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.admin.callbacks import AdminCb


def admin_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("📊 Stats"), callback_data=AdminCb(action="stats"))
    kb.button(text=_("⚙️ Workers"), callback_data=AdminCb(action="workers"))
    kb.button(text=_("❌ Failures"), callback_data=AdminCb(action="failed"))
    kb.button(text=_("👥 Users"), callback_data=AdminCb(action="users"))
    kb.adjust(4)
    return kb.as_markup()
