from __future__ import annotations

from typing import Literal

from aiogram.filters.callback_data import CallbackData

from handlers.callbacks import DbId


class TargetCb(CallbackData, prefix="target"):
    action: Literal["list", "view", "unlink", "unlink_yes"]
    target_id: DbId = 0
