"""/calendar: this week as a picture, ◀️ ▶️ turn the week in place (the photo is replaced
with editMessageMedia); /stats: the user's own activity as charts. The admins' /stats
(handlers/admin) draws the same charts across all users.

When drawing fails or overruns its time, the caption (which has every number) is sent as
text: the chat never goes silent for want of a picture."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, CallbackQuery, InputMediaPhoto, Message

from handlers.callbacks import MenuCb
from handlers.charts.callbacks import CalendarCb
from handlers.charts.keyboards import stats_keyboard, week_keyboard
from handlers.charts.pictures import STATS_DAYS, draw_activity, draw_week, send_drawn
from storage.models import User

if TYPE_CHECKING:
    from services.container import Services


async def cmd_calendar(
    message: Message, services: Services, db_user: User, user_language: str
) -> None:
    plan = await services.stats.week(db_user.id, db_user.timezone)
    drawn = await draw_week(plan, user_language)
    await send_drawn(message, drawn, week_keyboard(plan.offset))


async def cmd_stats(
    message: Message, services: Services, db_user: User, user_language: str
) -> None:
    activity = await services.stats.activity(db_user.id, db_user.timezone, STATS_DAYS)
    drawn = await draw_activity(activity, user_language, by_platform=False)
    await send_drawn(message, drawn, stats_keyboard())


async def on_week(
    query: CallbackQuery,
    callback_data: CalendarCb,
    services: Services,
    db_user: User,
    user_language: str,
) -> None:
    await query.answer()
    message = query.message
    if not isinstance(message, Message):  # too old to be shown: nothing to edit or answer
        return
    plan = await services.stats.week(db_user.id, db_user.timezone, callback_data.offset)
    drawn = await draw_week(plan, user_language)
    markup = week_keyboard(plan.offset)
    if drawn.png is None or not message.photo:
        # No picture to put in its place, or a text message (a caption sent alone): a new one.
        await send_drawn(message, drawn, markup)
        return
    media = InputMediaPhoto(
        media=BufferedInputFile(drawn.png, drawn.filename), caption=drawn.caption
    )
    try:
        await message.edit_media(media, reply_markup=markup)
    except TelegramBadRequest:  # gone, or no longer editable: the week as a new message
        await send_drawn(message, drawn, markup)


async def on_menu_calendar(
    query: CallbackQuery, services: Services, db_user: User, user_language: str
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        plan = await services.stats.week(db_user.id, db_user.timezone)
        drawn = await draw_week(plan, user_language)
        await send_drawn(query.message, drawn, week_keyboard(plan.offset))


async def on_stats(
    query: CallbackQuery, services: Services, db_user: User, user_language: str
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        activity = await services.stats.activity(db_user.id, db_user.timezone, STATS_DAYS)
        drawn = await draw_activity(activity, user_language, by_platform=False)
        await send_drawn(query.message, drawn, stats_keyboard())


def build_router() -> Router:
    router = Router(name="charts")
    router.message.register(cmd_calendar, Command("calendar"))
    # The admins' /stats is caught first by handlers/admin (all users' figures).
    router.message.register(cmd_stats, Command("stats"))
    router.callback_query.register(on_week, CalendarCb.filter(F.action == "week"))
    router.callback_query.register(on_stats, CalendarCb.filter(F.action == "stats"))
    router.callback_query.register(on_menu_calendar, MenuCb.filter(F.action == "calendar"))
    return router
