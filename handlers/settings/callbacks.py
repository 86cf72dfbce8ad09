"""Buttons of the settings feature that live outside its dialog (under notifications)."""

from __future__ import annotations

from typing import Literal

from aiogram.filters.callback_data import CallbackData


class NoticesCb(CallbackData, prefix="notices"):
    """Under a "✅ Published" notice: stop (or resume) such notices."""

    action: Literal["mute", "unmute"]
