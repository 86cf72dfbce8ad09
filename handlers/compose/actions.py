"""What the preview's buttons do: fix-its, edit, delete, and on to the targets."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.compose.callbacks import DraftCb
from handlers.compose.draft import load_draft, save_draft
from handlers.compose.preview import send_preview
from handlers.compose.states import NewPost
from handlers.compose.steps import show_target_picker
from handlers.compose.texts import ALBUM_LIMIT
from handlers.keyboards import back_cancel, main_menu
from services.container import Services
from storage.models import User


async def on_draft_truncate(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    draft = await load_draft(state)
    platforms = await services.targets.platforms(db_user.id, draft.chosen)
    draft.text = services.posts.shortened(draft.content(), platforms)
    await query.answer(_("Shortened"))
    if isinstance(query.message, Message):
        await send_preview(query.message, state, services, db_user, draft)
    else:
        await save_draft(state, draft)


async def on_draft_thread(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    draft = await load_draft(state)
    draft.with_options(x_thread=True)
    await query.answer(_("X will get a thread"))
    if isinstance(query.message, Message):
        await send_preview(query.message, state, services, db_user, draft)
    else:
        await save_draft(state, draft)


async def on_draft_add_photo(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(NewPost.add_photo)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Send a photo, or several as an album (up to {n} in all).").format(n=ALBUM_LIMIT),
            reply_markup=back_cancel(),
        )


async def on_draft_edit(query: CallbackQuery, state: FSMContext) -> None:
    draft = await load_draft(state)
    draft.editing = True
    await save_draft(state, draft)
    await state.set_state(NewPost.content)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(
            _("Send the new version of the post."), reply_markup=back_cancel()
        )


async def on_draft_delete(query: CallbackQuery, state: FSMContext) -> None:
    await state.clear()
    await query.answer(_("Deleted"))
    if isinstance(query.message, Message):
        await query.message.answer(_("The draft was deleted."), reply_markup=main_menu())


async def on_draft_choose_targets(
    query: CallbackQuery,
    callback_data: DraftCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    draft = await load_draft(state)
    draft.mode = "publish_now" if callback_data.action == "publish_now" else "schedule"
    await save_draft(state, draft)
    await query.answer()
    if isinstance(query.message, Message):
        await show_target_picker(query.message, state, services, db_user, draft)
