"""Where and when: the target picker and the time."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.compose.callbacks import TargetPickCb, TimeCb, TimePreset
from handlers.compose.draft import load_draft, save_draft
from handlers.compose.keyboards import target_picker, time_presets
from handlers.compose.preview import send_preview
from handlers.compose.queue import queue_draft
from handlers.compose.steps import ask_for_time, show_confirm
from handlers.compose.texts import post_error_text, unreadable_time_text
from services.container import Services
from services.posts import PostRuleError
from services.timeparse import parse_user_time
from storage.models import User


def preset_time(preset: TimePreset, now: datetime, timezone: str) -> datetime | None:
    """The moment a time button means, in the user's zone (None: right now)."""
    zone = ZoneInfo(timezone)
    local = now.astimezone(zone)
    if preset == "now":
        return None
    if preset == "1h":
        return now + timedelta(hours=1)
    if preset == "3h":
        return now + timedelta(hours=3)
    if preset == "evening":
        evening = local.replace(hour=19, minute=0, second=0, microsecond=0)
        return evening if evening > local else evening + timedelta(days=1)
    tomorrow = (local.replace(tzinfo=None) + timedelta(days=1)).replace(second=0, microsecond=0)
    if preset == "tomorrow_morning":
        return tomorrow.replace(hour=9, minute=0).replace(tzinfo=zone)
    return tomorrow.replace(hour=19, minute=0).replace(tzinfo=zone)


async def on_target_toggle(
    query: CallbackQuery,
    callback_data: TargetPickCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    targets = await services.targets.list(db_user.id)
    if callback_data.target_id not in {t.id for t in targets}:
        await query.answer(_("That target is not yours or no longer exists."), show_alert=True)
        return
    draft = await load_draft(state)
    draft.chosen = sorted(set(draft.chosen) ^ {callback_data.target_id})
    await save_draft(state, draft)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_reply_markup(
            reply_markup=target_picker(targets, set(draft.chosen))
        )


async def on_targets_done(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    draft = await load_draft(state)
    owned = await services.targets.get_many(db_user.id, draft.chosen)
    if not owned:
        await query.answer(_("Choose at least one of your channels first."), show_alert=True)
        return
    draft.chosen = sorted(t.id for t in owned)
    await save_draft(state, draft)
    await query.answer()
    if not isinstance(query.message, Message):
        return
    platforms = sorted({t.platform for t in owned})
    if any(not r.ok for r in services.posts.check(draft.content(), platforms)):
        # Back to the preview for these platforms, with the fix-it buttons.
        await send_preview(query.message, state, services, db_user, draft)
        return
    if draft.mode == "queue":
        await queue_draft(query.message, state, services, db_user, draft)
        return
    if draft.mode == "publish_now":
        draft.when = None
        await save_draft(state, draft)
        await show_confirm(query.message, state, services, db_user, draft)
        return
    await ask_for_time(query.message, state, db_user)


async def on_time_preset(
    query: CallbackQuery,
    callback_data: TimeCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    draft = await load_draft(state)
    draft.when = preset_time(callback_data.preset, services.clock.now(), db_user.timezone)
    await save_draft(state, draft)
    await query.answer()
    if isinstance(query.message, Message):
        await show_confirm(query.message, state, services, db_user, draft)


async def on_time_typed(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    when = parse_user_time(message.text or "", db_user.timezone, services.clock.now())
    if when is None:
        await message.answer(unreadable_time_text(), reply_markup=time_presets())
        return
    try:
        services.posts.validate_time(when)
    except PostRuleError as exc:
        await message.answer(post_error_text(exc, db_user.timezone), reply_markup=time_presets())
        return
    draft = await load_draft(state)
    draft.when = when
    await save_draft(state, draft)
    await show_confirm(message, state, services, db_user, draft)


async def on_time_not_text(message: Message) -> None:
    await message.answer(
        _("Send the time as text, or choose a button."), reply_markup=time_presets()
    )
