"""A target's queue: what goes out when, reorder, shuffle, publish next now, pause/resume,
remove, and its time slots (typed or presets). Reached from the target's view."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from handlers.queues.callbacks import QueueCb, SlotsCb
from handlers.queues.keyboards import queue_keyboard, slots_keyboard
from handlers.queues.states import QueueStates
from handlers.queues.texts import (
    not_yours_text,
    queue_changed_text,
    queue_text,
    queue_unchanged_text,
    slots_error_text,
    slots_prompt,
    slots_saved_text,
)
from services.queues import PRESETS, SlotsParseError, parse_slots
from storage.models import User
from storage.queue_config import PostingSlots

if TYPE_CHECKING:
    from services.container import Services

TYPED = F.text & ~F.text.startswith("/")
_TARGET_KEY = "queue_target"


async def send_queue(
    message: Message, services: Services, user: User, target_id: int, *, edit: bool = False
) -> bool:
    view = await services.queues.view(user.id, target_id)
    if view is None:
        return False
    text, markup = queue_text(view), queue_keyboard(view)
    if edit:
        # The same screen after a change; "not modified" (nothing moved) is not an error.
        with contextlib.suppress(TelegramBadRequest):
            await message.edit_text(text, reply_markup=markup)
        return True
    await message.answer(text, reply_markup=markup)
    return True


async def on_queue_view(
    query: CallbackQuery,
    callback_data: QueueCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    if await state.get_state() == QueueStates.slots.state:
        await state.clear()
    if not isinstance(query.message, Message):
        await query.answer()
        return
    if not await send_queue(query.message, services, db_user, callback_data.target_id):
        await query.answer(not_yours_text(), show_alert=True)
        return
    await query.answer()


async def on_queue_change(
    query: CallbackQuery, callback_data: QueueCb, services: Services, db_user: User
) -> None:
    queues, owner, target = services.queues, db_user.id, callback_data.target_id
    action = callback_data.action
    if action in ("up", "down"):
        done = await queues.move(owner, target, callback_data.post_id, -1 if action == "up" else 1)
    elif action == "remove":
        done = await queues.remove(owner, target, callback_data.post_id)
    elif action == "shuffle":
        done = await queues.shuffle(owner, target)
    elif action == "next_now":
        done = await queues.publish_next_now(owner, target) is not None
    else:
        done = await queues.set_paused(owner, target, action == "pause")
    if not isinstance(query.message, Message):
        await query.answer()
        return
    if not await send_queue(query.message, services, db_user, target, edit=True):
        await query.answer(not_yours_text(), show_alert=True)
        return
    await query.answer(queue_changed_text(action) if done else queue_unchanged_text())


async def on_slots(
    query: CallbackQuery,
    callback_data: QueueCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    view = await services.queues.view(db_user.id, callback_data.target_id)
    if view is None:
        await query.answer(not_yours_text(), show_alert=True)
        return
    await state.set_state(QueueStates.slots)
    await state.set_data({_TARGET_KEY: view.target.id})
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(slots_prompt(view), reply_markup=slots_keyboard(view.target.id))


async def _save_slots(
    message: Message,
    state: FSMContext,
    services: Services,
    user: User,
    target_id: int,
    slots: PostingSlots,
) -> bool:
    if not await services.queues.set_slots(user.id, target_id, slots):
        return False
    await state.clear()
    await message.answer(slots_saved_text())
    await send_queue(message, services, user, target_id)
    return True


async def on_slots_typed(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    target_id = int((await state.get_data()).get(_TARGET_KEY) or 0)
    try:
        slots = parse_slots(message.text or "")
    except SlotsParseError as exc:
        await message.answer(slots_error_text(exc), reply_markup=slots_keyboard(target_id))
        return
    if not await _save_slots(message, state, services, db_user, target_id, slots):
        await state.clear()
        await message.answer(not_yours_text())


async def on_slots_preset(
    query: CallbackQuery,
    callback_data: SlotsCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    slots = PostingSlots() if callback_data.action == "clear" else PRESETS[callback_data.action]
    if not isinstance(query.message, Message):
        await query.answer()
        return
    saved = await _save_slots(
        query.message, state, services, db_user, callback_data.target_id, slots
    )
    await query.answer(None if saved else not_yours_text(), show_alert=not saved)


def build_router() -> Router:
    router = Router(name="queues")
    callback, message = router.callback_query.register, router.message.register
    callback(on_queue_view, QueueCb.filter(F.action == "view"))
    callback(on_slots, QueueCb.filter(F.action == "slots"))
    callback(
        on_queue_change,
        QueueCb.filter(
            F.action.in_({"up", "down", "remove", "shuffle", "next_now", "pause", "resume"})
        ),
    )
    callback(on_slots_preset, SlotsCb.filter())
    message(on_slots_typed, QueueStates.slots, TYPED)
    return router
