from __future__ import annotations

from typing import Literal

from aiogram.filters.callback_data import CallbackData

AdminView = Literal["stats", "workers", "failed", "users"]
ADMIN_VIEWS: tuple[AdminView, ...] = ("stats", "workers", "failed", "users")


class AdminCb(CallbackData, prefix="adm"):
    action: AdminView
