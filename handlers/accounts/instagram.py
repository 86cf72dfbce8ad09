"""Linking an Instagram account: username, password (deleted from the chat at once), then a
code when Instagram asks for one. The login runs in instagrapi's thread, never inside a unit
of work; only the resulting session is stored, encrypted, in one write unit."""

from __future__ import annotations

import contextlib
import re
from html import escape
from typing import TYPE_CHECKING

from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.accounts.dialog import (
    begin_linking,
    finish_linking,
    leave_linking,
    load_draft,
    reopen_target_picker,
    save_draft,
)
from handlers.accounts.keyboards import cancel_keyboard
from handlers.accounts.states import LinkInstagram
from handlers.accounts.texts import (
    instagram_expired_text,
    instagram_failure_text,
    no_secrets_text,
)
from handlers.keyboards import main_menu
from handlers.render import target_name
from platforms.instagram import Linked, LinkFailed, LoginEvent, NeedCode
from storage.models import User

if TYPE_CHECKING:
    from services.container import Services

CODE_RE = re.compile(r"^\d{4,8}$")
USERNAME_RE = re.compile(r"^@?([A-Za-z0-9._]{1,30})$")


async def cmd_link_instagram(message: Message, state: FSMContext, services: Services) -> None:
    await start_instagram_linking(message, state, services, by_command=True)


async def on_link_instagram_pressed(
    query: CallbackQuery, state: FSMContext, services: Services
) -> None:
    await query.answer()
    if isinstance(query.message, Message):
        await start_instagram_linking(query.message, state, services, by_command=False)


async def start_instagram_linking(
    message: Message, state: FSMContext, services: Services, *, by_command: bool
) -> None:
    if not services.accounts.can_store_secrets:
        await message.answer(no_secrets_text())
        return
    await begin_linking(state, by_command=by_command)
    await state.set_state(LinkInstagram.username)
    await message.answer(
        _("Linking an Instagram account. Send its username (for example @my_shop)."),
        reply_markup=cancel_keyboard(),
    )


async def on_instagram_username(message: Message, state: FSMContext) -> None:
    match = USERNAME_RE.match((message.text or "").strip())
    if not match:
        await message.answer(
            _("That does not look like an Instagram username. Send it like @my_shop."),
            reply_markup=cancel_keyboard(),
        )
        return
    username = match.group(1)
    draft = await load_draft(state)
    draft.instagram_username = username
    await save_draft(state, draft)
    await state.set_state(LinkInstagram.password)
    await message.answer(
        _(
            "Now send the password of @{username}.\n"
            "I use it once to log in and delete your message right away; the password is "
            "never stored, only the login session, encrypted."
        ).format(username=escape(username)),
        reply_markup=cancel_keyboard(),
    )


async def on_instagram_password(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    password = message.text or ""
    # The password must not stay in the chat history.
    with contextlib.suppress(TelegramAPIError):
        await message.delete()
    if not password.strip():
        await message.answer(_("Send the password as a text message."))
        return
    username = (await load_draft(state)).instagram_username or ""
    # A read unit, closed before Instagram is asked anything.
    previous = await services.accounts.previous_instagram_settings(db_user.id, username)
    login = services.linkers.start_instagram(db_user.id, previous)
    await state.set_state(LinkInstagram.logging_in)
    await message.answer(
        _("Logging in to Instagram as @{username}…").format(username=escape(username))
    )
    event = await login.start(username, password)
    del password
    await on_login_event(message, state, services, db_user, event)


async def on_instagram_code(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    code = (message.text or "").strip().replace(" ", "")
    if not CODE_RE.match(code):
        await message.answer(
            _("Send the code: digits only, for example 123456."), reply_markup=cancel_keyboard()
        )
        return
    login = services.linkers.instagram_login(db_user.id)
    if login is not None and not login.waiting_for_code:
        await message.answer(_("Still logging in to Instagram, one moment…"))
        return
    if login is None:
        await leave_linking(state)
        await message.answer(instagram_expired_text())
        return
    await state.set_state(LinkInstagram.logging_in)
    event = await login.submit_code(code)
    await on_login_event(message, state, services, db_user, event)


async def on_message_while_logging_in(
    message: Message, state: FSMContext, services: Services, db_user: User
) -> None:
    if services.linkers.instagram_login(db_user.id) is None:
        # The bot restarted in the middle: that login is gone.
        await leave_linking(state)
        await message.answer(instagram_expired_text())
        return
    await message.answer(_("Still logging in to Instagram, one moment…"))


async def on_login_event(
    message: Message,
    state: FSMContext,
    services: Services,
    user: User,
    event: LoginEvent,
) -> None:
    if isinstance(event, NeedCode):
        await state.set_state(LinkInstagram.code)
        if event.retry:
            text = _("That code did not work. Check it and send it again.")
        elif event.kind == "two_factor":
            text = _(
                "Instagram asks for the two-factor code: from your authenticator app or the "
                "SMS Instagram sent. Send it here."
            )
        else:
            text = _(
                "Instagram wants to confirm it's you and sent a security code to your e-mail "
                "or phone. Send the code here."
            )
        await message.answer(text, reply_markup=cancel_keyboard())
        return
    services.linkers.drop_instagram(user.id)
    if isinstance(event, Linked):
        target = await services.accounts.save_instagram(user.id, event.account)
        text = _("✅ Instagram account {title} is linked. I will publish there.").format(
            title=target_name(target)
        )
        if not await finish_linking(message, state, services, user, target, text):
            await message.answer(_("What next?"), reply_markup=main_menu())
        return
    assert isinstance(event, LinkFailed)
    resumed = await leave_linking(state)
    await message.answer(instagram_failure_text(event.code))
    if resumed:
        await reopen_target_picker(message, state, services, user)
