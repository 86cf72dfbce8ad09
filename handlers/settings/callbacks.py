from __future__ import annotations

from typing import Annotated, Literal

from aiogram.filters.callback_data import CallbackData
from pydantic import Field


class SettingsCb(CallbackData, prefix="set"):
    action: Literal["lang", "tz", "tz_set"]
    # A language code or an IANA zone name; checked again by the handler.
    value: Annotated[str, Field(max_length=48)] = ""
