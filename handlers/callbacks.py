"""Every button's callback data. Ids inside them are only hints: handlers load the object
for the user who pressed the button, so a forged or stale button finds nothing."""

from __future__ import annotations

from typing import Annotated, Literal

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# A database id. Bounded so that a forged number never reaches SQL as an overflow: such
# data does not unpack, and the press falls through to the "no longer active" answer.
DbId = Annotated[int, Field(ge=0, le=2_147_483_647)]
Page = Annotated[int, Field(ge=0, le=100_000)]


class MenuCb(CallbackData, prefix="menu"):
    action: Literal["new", "scheduled", "rules", "targets", "settings", "help", "home", "calendar"]


class NavCb(CallbackData, prefix="nav"):
    action: Literal["back", "cancel"]
