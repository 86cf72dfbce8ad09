"""The queue's keyboards."""

from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.callbacks import NavCb
from handlers.queues.callbacks import QueueCb, SlotsCb
from handlers.queues.texts import SHOWN
from handlers.targets.callbacks import TargetCb
from services.queues import QueueView


def queue_keyboard(view: QueueView) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    target_id = view.target.id
    rows: list[int] = []
    for entry in view.entries[:SHOWN]:
        n = entry.position
        kb.button(
            text=f"{n} ⬆️",
            callback_data=QueueCb(action="up", target_id=target_id, post_id=entry.post_id),
        )
        kb.button(
            text=f"{n} ⬇️",
            callback_data=QueueCb(action="down", target_id=target_id, post_id=entry.post_id),
        )
        kb.button(
            text=f"{n} 🗑",
            callback_data=QueueCb(action="remove", target_id=target_id, post_id=entry.post_id),
        )
        rows.append(3)
    if view.entries:
        kb.button(
            text=_("🔀 Shuffle"), callback_data=QueueCb(action="shuffle", target_id=target_id)
        )
        kb.button(
            text=_("🚀 Publish next now"),
            callback_data=QueueCb(action="next_now", target_id=target_id),
        )
        rows.append(2)
    if view.paused:
        kb.button(text=_("▶️ Resume"), callback_data=QueueCb(action="resume", target_id=target_id))
    else:
        kb.button(text=_("⏸ Pause"), callback_data=QueueCb(action="pause", target_id=target_id))
    kb.button(text=_("🕘 Time slots"), callback_data=QueueCb(action="slots", target_id=target_id))
    rows.append(2)
    kb.button(text=_("⬅️ Back"), callback_data=TargetCb(action="view", target_id=target_id))
    kb.button(text=_("✖️ Cancel"), callback_data=NavCb(action="cancel"))
    rows.append(2)
    kb.adjust(*rows)
    return kb.as_markup()


def slots_keyboard(target_id: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(
        text=_("09:00 · 13:00 · 18:00 every day"),
        callback_data=SlotsCb(action="daily3", target_id=target_id),
    )
    kb.button(
        text=_("Mon–Fri 09:00 · 13:00 · 18:00, weekends 11:00"),
        callback_data=SlotsCb(action="workweek", target_id=target_id),
    )
    kb.button(
        text=_("10:00 every day"), callback_data=SlotsCb(action="daily1", target_id=target_id)
    )
    kb.button(text=_("🧹 No slots"), callback_data=SlotsCb(action="clear", target_id=target_id))
    kb.button(text=_("⬅️ Back"), callback_data=QueueCb(action="view", target_id=target_id))
    kb.button(text=_("✖️ Cancel"), callback_data=NavCb(action="cancel"))
    kb.adjust(1, 1, 1, 1, 2)
    return kb.as_markup()
