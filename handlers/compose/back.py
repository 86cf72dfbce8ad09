"""⬅️ Back at every step of the new-post dialog (Cancel is the shared kit's)."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from handlers.common import welcome_text
from handlers.compose.draft import load_draft
from handlers.compose.preview import send_preview
from handlers.compose.steps import ask_for_content, ask_for_time, show_confirm, show_target_picker
from handlers.keyboards import main_menu
from services.container import Services
from storage.models import User


async def on_back_from_content(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    await query.answer()
    draft = await load_draft(state)
    if draft.editing:
        # Back from ✏️ Edit: the draft is still there, unchanged.
        if isinstance(query.message, Message):
            await send_preview(query.message, state, services, db_user, draft)
        return
    await state.clear()
    if isinstance(query.message, Message):
        await query.message.answer(welcome_text(db_user), reply_markup=main_menu())


async def on_back_to_content(query: CallbackQuery, state: FSMContext, services: Services) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await ask_for_content(query.message, state, services, await load_draft(state))


async def on_back_to_preview(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await send_preview(query.message, state, services, db_user, await load_draft(state))


async def on_back_to_targets(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await show_target_picker(query.message, state, services, db_user, await load_draft(state))


async def on_back_from_confirm(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    draft = await load_draft(state)
    if draft.mode == "publish_now":
        await show_target_picker(query.message, state, services, db_user, draft)
    else:
        await ask_for_time(query.message, state, db_user)


async def on_back_to_confirm(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await show_confirm(query.message, state, services, db_user, await load_draft(state))
