"""The confirmation: Telegram options, URL buttons, and saving the post."""

from __future__ import annotations

import contextlib
import re

from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from pydantic import ValidationError

from handlers.compose.albums import UserLocks
from handlers.compose.callbacks import OptionCb
from handlers.compose.draft import load_draft, save_draft
from handlers.compose.keyboards import buttons_keyboard
from handlers.compose.states import NewPost
from handlers.compose.steps import ask_for_time, show_confirm, show_target_picker
from handlers.compose.texts import buttons_prompt, buttons_refused, post_error_text, saved_text
from handlers.keyboards import main_menu
from handlers.render import time_both
from services.container import Services
from services.posts import MAX_URL_BUTTONS, AlreadySaved, PostRuleError, UrlButton
from storage.models import User

_BUTTON_LINE_RE = re.compile(r"^(?P<text>.+?)\s+[-—–|]\s+(?P<url>(?:https?|tg)://\S+)$")


def parse_url_buttons(text: str) -> list[UrlButton] | None:
    """Lines `Text - https://example.com`; None when any line is not one."""
    buttons = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        match = _BUTTON_LINE_RE.match(line)
        if not match:
            return None
        try:
            buttons.append(UrlButton(text=match.group("text").strip(), url=match.group("url")))
        except ValidationError:
            return None
    if not buttons or len(buttons) > MAX_URL_BUTTONS:
        return None
    return buttons


async def on_option_toggle(
    query: CallbackQuery,
    callback_data: OptionCb,
    state: FSMContext,
    services: Services,
    db_user: User,
) -> None:
    draft = await load_draft(state)
    if callback_data.action == "silent":
        draft.with_options(silent=not draft.options.silent)
    else:
        draft.with_options(pin=not draft.options.pin)
    await save_draft(state, draft)
    await query.answer()
    if isinstance(query.message, Message):
        await show_confirm(query.message, state, services, db_user, draft, edit=True)


async def on_option_buttons(query: CallbackQuery, state: FSMContext) -> None:
    await state.set_state(NewPost.buttons)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.answer(buttons_prompt(), reply_markup=buttons_keyboard())


async def on_option_buttons_clear(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> None:
    draft = await load_draft(state)
    draft.with_options(buttons=())
    await save_draft(state, draft)
    await query.answer(_("Buttons removed"))
    if isinstance(query.message, Message):
        await show_confirm(query.message, state, services, db_user, draft)


async def on_buttons_typed(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    buttons = parse_url_buttons(message.text or "")
    if buttons is None:
        await message.answer(buttons_refused(), reply_markup=buttons_keyboard())
        return
    draft = await load_draft(state)
    draft.with_options(buttons=buttons)
    await save_draft(state, draft)
    await show_confirm(message, state, services, db_user, draft)


async def on_buttons_not_text(message: Message) -> None:
    await message.answer(
        _("Send the buttons as text: <code>Text - https://example.com</code>"),
        reply_markup=buttons_keyboard(),
    )


async def on_confirm(
    query: CallbackQuery,
    state: FSMContext,
    services: Services,
    db_user: User,
    *,
    confirm_locks: UserLocks,
) -> None:
    message_id = query.message.message_id if query.message is not None else None
    # The lock only spares this process a second write; across processes the draft's key
    # (unique in the database) is what saves the post once.
    async with confirm_locks.hold(db_user.id):
        if await state.get_state() != NewPost.confirm.state:
            # A second press while (or just after) the first was saving, here or in another
            # process: saved once. This handler has no state filter, so the second press
            # gets here however quick the first one was.
            saved = message_id is not None and (
                confirm_locks.saved(db_user.id) == message_id
                or await services.posts.saved_draft(db_user.id, message_id=message_id) is not None
            )
            await query.answer(
                _("Already saved.")
                if saved
                else _("This button is no longer active. Open /menu."),
            )
            return
        if await confirm_draft(query, state, services, db_user) and message_id is not None:
            confirm_locks.remember_saved(db_user.id, message_id)


async def confirm_draft(
    query: CallbackQuery, state: FSMContext, services: Services, db_user: User
) -> bool:
    """One write unit (the post service's), then the dialog ends, then the answers. True
    when the post was saved."""
    draft = await load_draft(state)
    try:
        _content, posts = await services.posts.schedule(
            db_user.id,
            draft.content(),
            draft.chosen,
            draft.when,
            source=draft.source,
            prompt=draft.prompt,
            draft_key=draft.draft_key,
            message_id=query.message.message_id if query.message is not None else None,
        )
    except AlreadySaved:
        # The other press, in another process, saved it a moment ago: nothing more here.
        await query.answer(_("Already saved."))
        return False
    except PostRuleError as exc:
        await query.answer()
        if isinstance(query.message, Message):
            await query.message.answer(post_error_text(exc, db_user.timezone))
            if exc.code == "time_in_past":
                await ask_for_time(query.message, state, db_user)
            elif exc.code in ("no_targets", "target_broken"):
                await show_target_picker(query.message, state, services, db_user, draft)
        return False
    await state.clear()
    await query.answer(_("Saved"))
    if not isinstance(query.message, Message):
        return True
    # The confirmation's buttons have done their work: nothing there may save it again.
    with contextlib.suppress(TelegramBadRequest):
        await query.message.edit_reply_markup(reply_markup=None)
    when = time_both(posts[0].scheduled_time, db_user.timezone) if draft.when else None
    await query.message.answer(saved_text([p.id for p in posts], when), reply_markup=main_menu())
    return True
