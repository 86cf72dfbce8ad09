from __future__ import annotations

from typing import Annotated, Literal

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# Weeks from this one; bounded so that forged data never reaches date arithmetic unchecked.
WeekOffset = Annotated[int, Field(ge=-520, le=520)]


class CalendarCb(CallbackData, prefix="cal"):
    action: Literal["week", "stats"]
    offset: WeekOffset = 0
