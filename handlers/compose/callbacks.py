"""The new-post dialog's buttons. Every field is bounded: forged data does not unpack, and
the press falls through to the "no longer active" answer."""

from __future__ import annotations

from typing import Annotated, Literal

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# A database id (0 = "Done" in the target picker).
DbId = Annotated[int, Field(ge=0, le=2_147_483_647)]

DraftAction = Literal[
    "publish_now",
    "schedule",
    "edit",
    "delete",
    "fix_truncate",
    "fix_thread",
    "add_photo",
    "title",
    "ai",
    "regenerate",
    "confirm",
    "queue",  # 📥 Add to queue (issue 12, handlers/compose/queue.py)
    "queue_defaults",
]
TimePreset = Literal["now", "1h", "3h", "evening", "tomorrow_morning", "tomorrow_evening"]
OptionAction = Literal["silent", "pin", "buttons", "buttons_clear", "autodelete"]


class DraftCb(CallbackData, prefix="draft"):
    action: DraftAction


class TargetPickCb(CallbackData, prefix="tpick"):
    target_id: DbId  # 0 = done


class TimeCb(CallbackData, prefix="time"):
    preset: TimePreset


class OptionCb(CallbackData, prefix="opt"):
    action: OptionAction
