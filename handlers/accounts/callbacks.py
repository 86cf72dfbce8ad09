"""The linking dialogs' buttons. Every field is bounded: forged data does not unpack and the
press is answered by the fallback ("This button is no longer active")."""

from __future__ import annotations

from typing import Literal

from aiogram.filters.callback_data import CallbackData


class AccountCb(CallbackData, prefix="acct"):
    action: Literal["link", "cancel"]
    platform: Literal["", "telegram", "x", "instagram"] = ""
