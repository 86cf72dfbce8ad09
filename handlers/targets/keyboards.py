from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.accounts import link_buttons
from handlers.callbacks import MenuCb
from handlers.keyboards import nav_row
from handlers.queues.callbacks import QueueCb
from handlers.render import target_button_text
from handlers.targets.callbacks import TargetCb
from storage.models import Target, TargetStatus


def targets_keyboard(targets: Sequence[Target]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for target in targets:
        mark = "⚠️ " if target.status == TargetStatus.BROKEN else ""
        kb.button(
            text=mark + target_button_text(target),
            callback_data=TargetCb(action="view", target_id=target.id),
        )
    link_buttons(kb)
    kb.button(text=_("🏠 Menu"), callback_data=MenuCb(action="home"))
    kb.adjust(1)
    return kb.as_markup()


def target_keyboard(target: Target) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("📥 Queue and time slots"),
        callback_data=QueueCb(action="view", target_id=target.id),
    )
    kb.button(text=_("🕘 Time slots"), callback_data=QueueCb(action="slots", target_id=target.id))
    kb.button(text=_("🔌 Unlink"), callback_data=TargetCb(action="unlink", target_id=target.id))
    kb.button(text=_("⬅️ Back"), callback_data=TargetCb(action="list"))
    kb.adjust(1)
    return kb.as_markup()


def unlink_keyboard(target: Target) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("Yes, unlink"), callback_data=TargetCb(action="unlink_yes", target_id=target.id)
    )
    nav_row(kb, back=False)
    return kb.as_markup()
