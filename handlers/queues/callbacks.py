"""The queue's buttons. Ids are hints only: every handler loads the target for the user who
pressed, so a forged or stale button finds nothing."""

from __future__ import annotations

from typing import Literal

from aiogram.filters.callback_data import CallbackData

from handlers.callbacks import DbId

QueueAction = Literal[
    "view", "up", "down", "remove", "shuffle", "next_now", "pause", "resume", "slots"
]
SlotsAction = Literal["daily3", "workweek", "daily1", "clear"]


class QueueCb(CallbackData, prefix="queue"):
    action: QueueAction
    target_id: DbId
    post_id: DbId = 0


class SlotsCb(CallbackData, prefix="qslots"):
    action: SlotsAction
    target_id: DbId
