"""The dialog's screens: each shows one step and moves the state there."""

from __future__ import annotations

import uuid

from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from handlers.compose.draft import ComposeDraft, save_draft
from handlers.compose.keyboards import (
    confirm_keyboard,
    content_keyboard,
    target_picker,
    time_presets,
)
from handlers.compose.states import NewPost
from handlers.compose.texts import confirm_text, content_prompt, time_prompt
from handlers.render import zone_label
from services.container import Services
from storage.models import User


async def ask_for_content(
    message: Message, state: FSMContext, services: Services, draft: ComposeDraft
) -> None:
    await state.set_state(NewPost.content)
    available = services.generator.available
    await message.answer(
        content_prompt(draft.title, available),
        reply_markup=content_keyboard(has_title=bool(draft.title), ai_available=available),
    )


async def start_new_post(message: Message, state: FSMContext, services: Services) -> None:
    await state.clear()
    await ask_for_content(message, state, services, ComposeDraft())


async def show_target_picker(
    message: Message, state: FSMContext, services: Services, user: User, draft: ComposeDraft
) -> None:
    targets = await services.targets.list(user.id)
    await state.set_state(NewPost.targets)
    if not targets:
        await message.answer(
            _("You have no linked channels yet. Link one first: press the button below."),
            reply_markup=target_picker([], set()),
        )
        return
    chosen = set(draft.chosen) & {t.id for t in targets}
    await message.answer(
        _("Where shall I publish it? Tap to choose, then Done."),
        reply_markup=target_picker(targets, chosen),
    )


async def ask_for_time(message: Message, state: FSMContext, user: User) -> None:
    await state.set_state(NewPost.time)
    await message.answer(time_prompt(zone_label(user.timezone)), reply_markup=time_presets())


async def show_confirm(
    message: Message,
    state: FSMContext,
    services: Services,
    user: User,
    draft: ComposeDraft,
    *,
    edit: bool = False,
) -> None:
    targets = await services.targets.get_many(user.id, draft.chosen)
    if draft.draft_key is None:
        draft.draft_key = uuid.uuid4().hex
        await save_draft(state, draft)
    await state.set_state(NewPost.confirm)
    markup = confirm_keyboard(
        telegram=any(t.platform == "telegram" for t in targets), options=draft.options
    )
    text = confirm_text(draft, targets, user)
    if edit:
        await message.edit_text(text, reply_markup=markup)
    else:
        await message.answer(text, reply_markup=markup)
