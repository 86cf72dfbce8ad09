"""Commands for ADMIN_IDS: /stats, /workers, /failed, /users. Everyone else is refused."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from handlers.admin.callbacks import ADMIN_VIEWS, AdminCb, AdminView
from handlers.admin.keyboards import admin_keyboard
from handlers.admin.texts import failed_text, refusal_text, stats_text, users_text, workers_text
from handlers.charts.pictures import STATS_DAYS, draw_activity, send_drawn
from storage.models import User

if TYPE_CHECKING:
    from services.container import Services


async def render_view(view: AdminView, services: Services) -> str:
    if view == "workers":
        return workers_text(list(services.worker_stats()), services.clock.now())
    if view == "failed":
        return failed_text(await services.admin.recent_failures(limit=20))
    if view == "users":
        return users_text(await services.admin.users(limit=30))
    return stats_text(await services.admin.post_stats(services.clock.now()))


def command_view(text: str | None) -> AdminView:
    """ "/failed@CuratorBot extra" → "failed"."""
    name = (text or "/stats").split()[0].lstrip("/").split("@")[0].lower()
    return next((view for view in ADMIN_VIEWS if view == name), "stats")


def is_admin(message: Message, services: Services, db_user: User) -> bool:
    return db_user.id in services.limits.admin_ids


async def cmd_admin(
    message: Message, services: Services, db_user: User, user_language: str = "en"
) -> None:
    if db_user.id not in services.limits.admin_ids:
        await message.answer(refusal_text())
        return
    view = command_view(message.text)
    if view == "stats":
        # Charts of every user's posts, numbers in the caption; the 📊 button below still
        # shows the text figures (last 24 hours and 7 days by status and platform).
        activity = await services.stats.activity_all(STATS_DAYS)
        drawn = await draw_activity(activity, user_language, by_platform=True)
        await send_drawn(message, drawn, admin_keyboard())
        return
    text = await render_view(view, services)
    await message.answer(text, reply_markup=admin_keyboard())


async def on_admin_view(
    query: CallbackQuery, callback_data: AdminCb, services: Services, db_user: User
) -> None:
    if db_user.id not in services.limits.admin_ids:
        await query.answer(refusal_text(), show_alert=True)
        return
    await query.answer()
    if isinstance(query.message, Message):
        text = await render_view(callback_data.action, services)
        await query.message.answer(text, reply_markup=admin_keyboard())


def build_router() -> Router:
    router = Router(name="admin")
    # /stats is the admins' only: everyone else's /stats draws their own (handlers/charts).
    router.message.register(cmd_admin, Command("stats"), is_admin)
    router.message.register(cmd_admin, Command(*(v for v in ADMIN_VIEWS if v != "stats")))
    router.callback_query.register(on_admin_view, AdminCb.filter())
    return router
