"""Linking a Telegram channel: a forwarded post of the channel, its @username or its -100…
id. Both checks run on Telegram (the bot may post, the user administers the channel) before
one write unit stores the target."""

from __future__ import annotations

import re
from typing import Any

from aiogram.types import Message, MessageOriginChannel
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.input import MessageInput
from aiogram_dialog.widgets.kbd import Button, Row
from aiogram_dialog.widgets.text import Format, Multi
from magic_filter import F

from handlers.accounts.draft import (
    end_linking,
    load_draft,
    on_linking_closed,
    save_draft,
    services_of,
    user_of,
)
from handlers.accounts.quick import LINK_CHANNEL_REQUEST
from handlers.accounts.states import LinkChannel
from handlers.accounts.texts import link_problem_text
from handlers.dialogs import translated
from platforms.telegram import ChannelLinkError, LinkProblem
from storage.models import Platform

USERNAME_RE = re.compile(r"^(?:@|https?://t\.me/|t\.me/)?([A-Za-z][A-Za-z0-9_]{3,31})/?$")
CHAT_ID_RE = re.compile(r"^-100\d{5,}$")


def channel_reference(message: Message) -> int | str:
    """The channel the user means: a forwarded post's channel, the one picked in the chat
    picker, a -100… id or a @username.
    ValueError when the message names none."""
    if isinstance(message.forward_origin, MessageOriginChannel):
        return message.forward_origin.chat.id
    shared = message.chat_shared
    if shared is not None and shared.request_id == LINK_CHANNEL_REQUEST:
        return shared.chat_id  # picked in Telegram's chat picker (handlers.accounts.quick)
    text = (message.text or "").strip()
    if CHAT_ID_RE.match(text):
        return int(text)
    match = USERNAME_RE.match(text)
    if match is None:
        raise ValueError("not a channel reference")
    return "@" + match.group(1)


async def on_channel_message(
    message: Message, _widget: MessageInput, manager: DialogManager
) -> None:
    draft = load_draft(manager)
    try:
        ref = channel_reference(message)
    except ValueError:
        draft.problem, draft.problem_title = "format", None
        save_draft(manager, draft)
        return
    services, user = services_of(manager), user_of(manager)
    try:
        # Telegram first, with no unit of work open; then one write unit stores it.
        info = await services.channel_verifier.verify(ref, user.id)
    except ChannelLinkError as exc:
        draft.problem, draft.problem_title = exc.problem.value, exc.title or ""
        save_draft(manager, draft)
        return
    target = await services.targets.link(
        user.id, Platform.TELEGRAM, info.chat_id, info.title, info.username
    )
    await end_linking(manager, result=target.id)


async def on_back(_query: Any, _button: Button, manager: DialogManager) -> None:
    await end_linking(manager, "back")


async def on_cancel(_query: Any, _button: Button, manager: DialogManager) -> None:
    await end_linking(manager, "cancelled")


async def get_channel_window(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    draft = load_draft(dialog_manager)
    problem_text = ""
    if draft.problem and draft.problem != "format":
        problem_text = link_problem_text(LinkProblem(draft.problem), draft.problem_title or "")
    return {"problem": draft.problem, "problem_text": problem_text}


def build_dialog() -> Dialog:
    return Dialog(
        Window(
            Multi(
                translated(
                    "1. Add me to your channel as an administrator with the right to post "
                    "messages.\n"
                    "2. Forward any post from the channel here, or send its @username.",
                    when=~F["problem"],
                ),
                translated(
                    "Forward a post from the channel, or send its @username (for example "
                    "@my_channel).",
                    when=F["problem"] == "format",
                ),
                Format("{problem_text}", when=F["problem_text"]),
            ),
            MessageInput(on_channel_message),
            Row(
                Button(translated("⬅️ Back"), id="back", on_click=on_back),
                Button(translated("✖️ Cancel"), id="cancel", on_click=on_cancel),
            ),
            state=LinkChannel.waiting,
            getter=get_channel_window,
        ),
        on_close=on_linking_closed,
    )


__all__ = ["build_dialog"]
