"""Linking an X account: OAuth 1.0a with a PIN the user copies from X. The PIN goes to X
with no unit of work open; then one write unit stores the encrypted tokens."""

from __future__ import annotations

import re
from html import escape
from typing import Any

from aiogram.types import Message
from aiogram_dialog import Dialog, DialogManager, Window
from aiogram_dialog.widgets.input import ManagedTextInput, TextInput
from aiogram_dialog.widgets.kbd import Button
from aiogram_dialog.widgets.link_preview import LinkPreview
from aiogram_dialog.widgets.text import Multi
from magic_filter import F

from handlers.accounts.draft import (
    chat_message,
    end_linking,
    load_draft,
    on_linking_closed,
    save_draft,
    services_of,
    start_of,
    user_of,
)
from handlers.accounts.states import LinkX
from handlers.accounts.texts import (
    no_secrets_text,
    x_expired_text,
    x_not_configured_text,
    x_unreachable_text,
)
from handlers.dialogs import translated
from platforms.credentials import SecretsUnavailableError
from platforms.x import XLinkError

PIN_RE = re.compile(r"^\d{4,10}$")


def x_pin(text: str) -> str:
    """The PIN X showed: digits only (spaces are forgiven)."""
    pin = text.strip().replace(" ", "")
    if not PIN_RE.match(pin):
        raise ValueError("not a PIN")
    return pin


def x_refusal(manager: DialogManager) -> str | None:
    """Why X accounts cannot be linked on this bot, or None."""
    services = services_of(manager)
    if not services.accounts.can_store_secrets:
        return no_secrets_text()
    if not services.linkers.x.configured:
        return x_not_configured_text()
    return None


async def on_x_start(_start_data: Any, manager: DialogManager) -> None:
    start, draft = start_of(manager), load_draft(manager)
    if start.x_request and start.x_url:
        draft.x_request, draft.x_url = start.x_request, start.x_url
        save_draft(manager, draft)
        return
    # Started by another dialog: ask X here (the entry handlers have done it already).
    refusal = x_refusal(manager)
    if refusal is None:
        services = services_of(manager)
        try:
            authorization = await services.linkers.x.start()
        except XLinkError:
            refusal = x_unreachable_text()
        else:
            draft.x_request = services.accounts.seal(authorization.request_token)
            draft.x_url = authorization.url
            save_draft(manager, draft)
            return
    await chat_message(manager).answer(refusal)
    await end_linking(manager, "refused")


async def on_pin(
    message: Message, _widget: ManagedTextInput[str], manager: DialogManager, pin: str
) -> None:
    services, user, draft = services_of(manager), user_of(manager), load_draft(manager)
    try:
        request_token = services.accounts.unseal(draft.x_request or "")
    except SecretsUnavailableError:
        await message.answer(x_expired_text())
        await end_linking(manager)
        return
    try:
        # The network first, with no unit of work open; then one write unit stores it.
        account = await services.linkers.x.finish(request_token, pin)
    except XLinkError as exc:
        draft.problem = "rejected" if exc.code == "rejected" else "unreachable"
        save_draft(manager, draft)
        return
    target = await services.accounts.save_x(user.id, account)
    await end_linking(manager, result=target.id)


async def on_not_a_pin(
    _message: Message, _widget: ManagedTextInput[str], manager: DialogManager, _error: ValueError
) -> None:
    draft = load_draft(manager)
    draft.problem = "format"
    save_draft(manager, draft)


async def on_cancel(_query: Any, _button: Button, manager: DialogManager) -> None:
    await end_linking(manager, "cancelled")


async def get_pin_window(dialog_manager: DialogManager, **_kwargs: Any) -> dict[str, Any]:
    draft = load_draft(dialog_manager)
    return {"url": escape(draft.x_url or "", quote=True), "problem": draft.problem}


def build_dialog() -> Dialog:
    return Dialog(
        Window(
            Multi(
                translated(
                    "Linking an X account:\n"
                    '1. Open <a href="{url}">this link</a> and press "Authorize app".\n'
                    "2. X shows a PIN code. Send it to me here.",
                    when=~F["problem"],
                ),
                translated(
                    "Send the PIN code X showed you: digits only, for example 1234567.",
                    when=F["problem"] == "format",
                ),
                translated(
                    "X did not accept this PIN. Check it and send it again, or start over "
                    "with /link_x.",
                    when=F["problem"] == "rejected",
                ),
                translated(
                    "I could not reach X just now. Please try again in a minute.",
                    when=F["problem"] == "unreachable",
                ),
            ),
            TextInput(id="pin", type_factory=x_pin, on_success=on_pin, on_error=on_not_a_pin),
            Button(translated("✖️ Cancel"), id="cancel", on_click=on_cancel),
            LinkPreview(is_disabled=True),
            state=LinkX.pin,
            getter=get_pin_window,
        ),
        on_start=on_x_start,
        on_close=on_linking_closed,
    )
