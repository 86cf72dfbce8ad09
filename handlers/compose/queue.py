"""📥 Add to queue at the preview (issue 12): the post takes the next free slot of each
chosen target. With one linked target it is queued on that tap; a target without slots is
offered the default ones in one more tap. The queue itself is handlers/queues."""

from __future__ import annotations

import contextlib

from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from handlers.compose.albums import UserLocks
from handlers.compose.callbacks import DraftCb
from handlers.compose.draft import ComposeDraft, load_draft, save_draft
from handlers.compose.preview import send_preview
from handlers.compose.states import NewPost
from handlers.compose.steps import show_target_picker
from handlers.compose.texts import post_error_text
from handlers.keyboards import main_menu, nav_row
from handlers.queues import defaults_offer_text, queue_error_text, queued_text
from services.container import Services
from services.posts import PostRuleError
from storage.models import User


class QueueOffer(StatesGroup):
    defaults = State()  # "no slots yet: use 09:00, 13:00, 18:00?"


def defaults_keyboard() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("✅ Use these and queue"), callback_data=DraftCb(action="queue_defaults"))
    nav_row(kb)
    kb.adjust(1, 2)
    return kb.as_markup()


async def on_add_to_queue(
    query: CallbackQuery,
    state: FSMContext,
    services: Services,
    db_user: User,
    *,
    confirm_locks: UserLocks,
) -> None:
    async with confirm_locks.hold(db_user.id):
        if await state.get_state() != NewPost.preview.state:
            await query.answer(_("This button is no longer active. Open /menu."))
            return
        draft = await load_draft(state)
        draft.mode = "queue"
        targets = await services.targets.list(db_user.id)
        await query.answer()
        if not isinstance(query.message, Message):
            return
        if len(targets) == 1:
            draft.chosen = [targets[0].id]
            await save_draft(state, draft)
            await queue_draft(query.message, state, services, db_user, draft)
            return
        await save_draft(state, draft)
        await show_target_picker(query.message, state, services, db_user, draft)


async def on_use_defaults(
    query: CallbackQuery,
    state: FSMContext,
    services: Services,
    db_user: User,
    *,
    confirm_locks: UserLocks,
) -> None:
    async with confirm_locks.hold(db_user.id):
        if await state.get_state() != QueueOffer.defaults.state:
            await query.answer(_("This button is no longer active. Open /menu."))
            return
        await query.answer()
        if not isinstance(query.message, Message):
            return
        with contextlib.suppress(TelegramBadRequest):
            await query.message.edit_reply_markup(reply_markup=None)
        draft = await load_draft(state)
        await queue_draft(query.message, state, services, db_user, draft, use_defaults=True)


async def queue_draft(
    message: Message,
    state: FSMContext,
    services: Services,
    user: User,
    draft: ComposeDraft,
    *,
    use_defaults: bool = False,
) -> None:
    """One write unit (the queue service's), then the dialog ends, then the answer."""
    try:
        placed = await services.queues.add(
            user.id,
            draft.content(),
            draft.chosen,
            use_default_slots=use_defaults,
            source=draft.source,
            prompt=draft.prompt,
        )
    except PostRuleError as exc:
        if exc.code == "no_slots":
            await state.set_state(QueueOffer.defaults)
            await message.answer(
                defaults_offer_text([str(t) for t in exc.details.get("titles", [])]),
                reply_markup=defaults_keyboard(),
            )
        elif exc.code == "does_not_fit":
            await send_preview(message, state, services, user, draft)
        elif exc.code in ("no_targets", "target_broken"):
            await message.answer(post_error_text(exc, user.timezone))
            await show_target_picker(message, state, services, user, draft)
        else:
            title = str(exc.details.get("title", ""))
            await message.answer(
                queue_error_text(exc.code, title) or post_error_text(exc, user.timezone)
            )
        return
    await state.clear()
    await message.answer(queued_text(placed), reply_markup=main_menu())
