"""Linking an Instagram account: username, password (deleted from the chat at once, never
stored), then a code when Instagram asks for one.

The login runs in instagrapi's thread (services.linkers keeps it, in this process, while it
waits for a code). The dialog does not wait for it: a background task takes Instagram's
answer and brings it to the dialog (aiogram_dialog's background manager), so what the user
sends meanwhile is answered ("Still logging in…") instead of queueing behind the login."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Message
from aiogram_dialog import Dialog, DialogManager, ShowMode, Window
from aiogram_dialog.api.protocols import BaseDialogManager
from aiogram_dialog.widgets.input import ManagedTextInput, MessageInput, TextInput
from aiogram_dialog.widgets.kbd import Button
from aiogram_dialog.widgets.text import Multi
from magic_filter import F

from handlers.accounts.draft import (
    chat_message,
    end_linking,
    load_draft,
    on_linking_closed,
    save_draft,
    services_of,
    user_of,
)
from handlers.accounts.states import LinkInstagram
from handlers.accounts.texts import (
    instagram_expired_text,
    instagram_failure_text,
    no_secrets_text,
)
from handlers.dialogs import translated
from platforms.instagram import InstagramLogin, Linked, LinkFailed, LoginEvent, NeedCode
from services.container import Services

# How long an Instagram answer waits for the update that asked to finish (milliseconds, as
# a rule; the bound only keeps a stuck update from holding the answer back for ever).
UPDATE_WAIT_SECONDS = 30.0
# How often a waiting login looks for a code another process received, and beats.
REMOTE_CODE_POLL_SECONDS = 0.3
REMOTE_BEAT_SECONDS = 3.0
CODE_RE = re.compile(r"^\d{4,8}$")
USERNAME_RE = re.compile(r"^@?([A-Za-z0-9._]{1,30})$")


def instagram_username(text: str) -> str:
    match = USERNAME_RE.match(text.strip())
    if match is None:
        raise ValueError("not an Instagram username")
    return match.group(1)


def instagram_password(text: str) -> str:
    if not text.strip():
        raise ValueError("empty password")
    return text


def instagram_code(text: str) -> str:
    code = text.strip().replace(" ", "")
    if not CODE_RE.match(code):
        raise ValueError("not a code")
    return code


def set_problem(manager: DialogManager, problem: str | None) -> None:
    draft = load_draft(manager)
    draft.problem = problem
    save_draft(manager, draft)


async def on_instagram_start(_start_data: Any, manager: DialogManager) -> None:
    if not services_of(manager).accounts.can_store_secrets:
        await chat_message(manager).answer(no_secrets_text())
        await end_linking(manager, "refused")


# ---------- username ----------


async def on_username(
    _message: Message, _widget: ManagedTextInput[str], manager: DialogManager, username: str
) -> None:
    draft = load_draft(manager)
    draft.instagram_username, draft.problem = username, None
    save_draft(manager, draft)
    await manager.switch_to(LinkInstagram.password)


async def on_not_a_username(
    _message: Message, _widget: ManagedTextInput[str], manager: DialogManager, _error: ValueError
) -> None:
    set_problem(manager, "format")


# ---------- password ----------


async def delete_password(message: Message) -> None:
    # The password must not stay in the chat history.
    with contextlib.suppress(TelegramAPIError):
        await message.delete()


async def on_password(
    message: Message, _widget: ManagedTextInput[str], manager: DialogManager, password: str
) -> None:
    await delete_password(message)
    services, user, draft = services_of(manager), user_of(manager), load_draft(manager)
    username = draft.instagram_username or ""
    # A read unit, closed before Instagram is asked anything.
    previous = await services.accounts.previous_instagram_settings(user.id, username)
    login = services.linkers.start_instagram(user.id, previous)
    draft.instagram_phase, draft.problem = "logging_in", None
    save_draft(manager, draft)
    await manager.switch_to(LinkInstagram.code)
    follow_login(manager, services, user.id, login, login.start(username, password))
    del password


async def on_empty_password(
    message: Message, _widget: ManagedTextInput[str], manager: DialogManager, _error: ValueError
) -> None:
    await delete_password(message)
    set_problem(manager, "not_text")


async def on_password_not_text(
    message: Message, _widget: MessageInput, manager: DialogManager
) -> None:
    await delete_password(message)
    set_problem(manager, "not_text")


# ---------- the code ----------


async def on_code(
    message: Message, _widget: ManagedTextInput[str], manager: DialogManager, code: str
) -> None:
    services, user = services_of(manager), user_of(manager)
    login = services.linkers.instagram_login(user.id)
    if login is None:
        # Another process waits for this code (webhook replicas): it takes it from the
        # database and brings Instagram's answer to the dialog.
        if await services.accounts.pending.post_code(user.id, code):
            draft = load_draft(manager)
            draft.instagram_phase, draft.problem = "logging_in", None
            save_draft(manager, draft)
            manager.show_mode = ShowMode.NO_UPDATE
            return
        # The bot restarted in the middle, or the login ended: it is gone.
        await message.answer(instagram_expired_text())
        await end_linking(manager)
        return
    if not login.waiting_for_code:
        set_problem(manager, "busy")
        return
    draft = load_draft(manager)
    draft.instagram_phase, draft.problem = "logging_in", None
    save_draft(manager, draft)
    # Nothing to show until Instagram answers.
    manager.show_mode = ShowMode.NO_UPDATE
    follow_login(manager, services, user.id, login, login.submit_code(code))


async def on_not_a_code(
    message: Message, _widget: ManagedTextInput[str], manager: DialogManager, _error: ValueError
) -> None:
    services, user = services_of(manager), user_of(manager)
    login = services.linkers.instagram_login(user.id)
    if login is None:
        if await services.accounts.pending.waiting(user.id):
            set_problem(manager, "format")  # another process waits for the code
            return
        await message.answer(instagram_expired_text())
        await end_linking(manager)
        return
    set_problem(manager, "format" if login.waiting_for_code else "busy")


def follow_login(
    manager: DialogManager,
    services: Services,
    user_id: int,
    login: InstagramLogin,
    answer: Awaitable[LoginEvent],
) -> None:
    """Waits for Instagram's answer in the background and brings it to the dialog."""
    bot: Bot = manager.middleware_data["bot"]
    chat_id = manager.middleware_data["event_chat"].id
    background = manager.bg()
    services.linkers.run_in_background(
        deliver_login_event(
            background, bot, chat_id, services, user_id, login, answer, asyncio.current_task()
        )
    )


async def deliver_login_event(
    background: BaseDialogManager,
    bot: Bot,
    chat_id: int,
    services: Services,
    user_id: int,
    login: InstagramLogin,
    answer: Awaitable[LoginEvent],
    update: asyncio.Task[Any] | None,
) -> None:
    event = await answer
    if not services.linkers.is_current_instagram(user_id, login):
        return  # the user cancelled or started again meanwhile: nobody waits for this
    if update is not None and not update.done():
        # The update that asked has to save the dialog first: aiogram_dialog reads the
        # dialog's context for a background update before it waits for the user's lock, so
        # an answer brought in earlier would be applied to the context as it was before.
        await asyncio.wait({update}, timeout=UPDATE_WAIT_SECONDS)
    if isinstance(event, NeedCode):
        phase = "two_factor" if event.kind == "two_factor" else "challenge"
        # Recorded before the user is asked: the code may reach another process.
        await services.accounts.pending.open(user_id, event.kind)
        await background.update(
            {"instagram_phase": phase, "problem": "bad_code" if event.retry else None},
            show_mode=ShowMode.SEND,
        )
        services.linkers.run_in_background(
            relay_remote_code(background, bot, chat_id, services, user_id, login)
        )
        return
    services.linkers.drop_instagram(user_id)
    await services.accounts.pending.close(user_id)
    if isinstance(event, Linked):
        # Instagram is done answering: one write unit stores the session, encrypted.
        target = await services.accounts.save_instagram(user_id, event.account)
        await background.done(target.id)
        return
    assert isinstance(event, LinkFailed)
    await bot.send_message(chat_id, instagram_failure_text(event.code))
    await background.done()


async def relay_remote_code(
    background: BaseDialogManager,
    bot: Bot,
    chat_id: int,
    services: Services,
    user_id: int,
    login: InstagramLogin,
) -> None:
    """While this process's login waits for a code, takes one that another process received
    (webhook replicas) and goes on as if it had come here; beats meanwhile, so the others
    know a process still waits."""
    pending = services.accounts.pending
    beat = 0.0
    while services.linkers.is_current_instagram(user_id, login) and login.waiting_for_code:
        code = await pending.take_code(user_id)
        if code is not None and login.waiting_for_code:
            answer = login.submit_code(code)
            await deliver_login_event(
                background, bot, chat_id, services, user_id, login, answer, None
            )
            return
        beat += REMOTE_CODE_POLL_SECONDS
        if beat >= REMOTE_BEAT_SECONDS:
            beat = 0.0
            await pending.beat(user_id)
        await asyncio.sleep(REMOTE_CODE_POLL_SECONDS)


async def on_cancel(_query: Any, _button: Button, manager: DialogManager) -> None:
    services_of(manager).linkers.drop_instagram(user_of(manager).id)
    await services_of(manager).accounts.pending.close(user_of(manager).id)
    await end_linking(manager, "cancelled")


async def get_instagram_window(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    draft = load_draft(dialog_manager)
    return {
        "username": draft.instagram_username or "",
        "problem": draft.problem,
        "phase": draft.instagram_phase,
    }


def cancel_button() -> Button:
    return Button(translated("✖️ Cancel"), id="cancel", on_click=on_cancel)


def build_dialog() -> Dialog:
    asking_code = F["phase"] != "logging_in"
    return Dialog(
        Window(
            Multi(
                translated(
                    "Linking an Instagram account. Send its username (for example @my_shop).",
                    when=~F["problem"],
                ),
                translated(
                    "That does not look like an Instagram username. Send it like @my_shop.",
                    when=F["problem"] == "format",
                ),
            ),
            TextInput(
                id="username",
                type_factory=instagram_username,
                on_success=on_username,
                on_error=on_not_a_username,
            ),
            cancel_button(),
            state=LinkInstagram.username,
            getter=get_instagram_window,
        ),
        Window(
            Multi(
                translated(
                    "Now send the password of @{username}.\n"
                    "I use it once to log in and delete your message right away; the password "
                    "is never stored, only the login session, encrypted.",
                    when=~F["problem"],
                ),
                translated(
                    "Send the password as a text message.", when=F["problem"] == "not_text"
                ),
            ),
            # The password step takes anything: a password may start with "/".
            TextInput(
                id="password",
                type_factory=instagram_password,
                on_success=on_password,
                on_error=on_empty_password,
            ),
            cancel_button(),
            state=LinkInstagram.password,
            getter=get_instagram_window,
        ),
        Window(
            Multi(
                translated(
                    "Logging in to Instagram as @{username}…",
                    when=(F["phase"] == "logging_in") & ~F["problem"],
                ),
                translated(
                    "Still logging in to Instagram, one moment…", when=F["problem"] == "busy"
                ),
                translated(
                    "That code did not work. Check it and send it again.",
                    when=F["problem"] == "bad_code",
                ),
                translated(
                    "Send the code: digits only, for example 123456.",
                    when=F["problem"] == "format",
                ),
                translated(
                    "Instagram asks for the two-factor code: from your authenticator app or "
                    "the SMS Instagram sent. Send it here.",
                    when=(F["phase"] == "two_factor") & ~F["problem"],
                ),
                translated(
                    "Instagram wants to confirm it's you and sent a security code to your "
                    "e-mail or phone. Send the code here.",
                    when=(F["phase"] == "challenge") & ~F["problem"],
                ),
            ),
            TextInput(
                id="code", type_factory=instagram_code, on_success=on_code, on_error=on_not_a_code
            ),
            Button(translated("✖️ Cancel"), id="cancel", on_click=on_cancel, when=asking_code),
            state=LinkInstagram.code,
            getter=get_instagram_window,
        ),
        on_start=on_instagram_start,
        on_close=on_linking_closed,
    )
