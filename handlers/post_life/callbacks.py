"""The buttons after publishing, bounded: forged data does not unpack."""

from __future__ import annotations

from typing import Annotated, Literal

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

DbId = Annotated[int, Field(ge=0, le=2_147_483_647)]
# A delay in seconds: 0 = none ("off", "until I unpin"); at most 30 days.
Delay = Annotated[int, Field(ge=0, le=30 * 86400)]

LifeAction = Literal[
    "edit",  # ask for the new text
    "buttons",  # ask for the new URL buttons
    "buttons_clear",  # remove them
    "delete",  # ask to confirm
    "delete_yes",
    "autodel",  # offer the delays
    "autodel_set",  # seconds: the delay, 0 = off
    "pin",  # offer the durations
    "pin_set",  # seconds: how long, 0 = until unpinned
    "unpin",
    "history",
    "back",  # to the post's view
]


class LifeCb(CallbackData, prefix="life"):
    action: LifeAction
    post_id: DbId
    seconds: Delay = 0
