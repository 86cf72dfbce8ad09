"""The entry buttons of the linking dialogs (shown by the targets list and the new post's
target picker). Every field is bounded: forged data does not unpack and the press is answered
by the fallback ("This button is no longer active"). The dialogs' own buttons are
aiogram_dialog widgets."""

from __future__ import annotations

from typing import Literal

from aiogram.filters.callback_data import CallbackData


class AccountCb(CallbackData, prefix="acct"):
    action: Literal["link"]
    platform: Literal["telegram", "x", "instagram"]
